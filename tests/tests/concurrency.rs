//! Several berth processes on one store at once: concurrent pulls of images
//! that share a layer all succeed and store each layer once, and pulls racing
//! removals leave a consistent store (every listed image inspects, every
//! layer dir belongs to a listed image, every image's layers are there).

use std::collections::BTreeSet;
use std::thread;

use berth_e2e::fault::{
    assert_layers_complete, assert_tmp_empty, diff_ids, image_id, image_ids, inspect,
    inspected_layers, layer_dirs, pull_plain,
};
use berth_e2e::{images, Store, TestEnv};

const IMAGES: [&str; 2] = ["busybox", "multilayer"];

/// Asserts the store is consistent: every listed image inspects with its own
/// ID, its layers are complete dirs, no layer dir is unreferenced, tmp/ is
/// empty. Returns the listed IDs.
#[track_caller]
fn assert_consistent(store: &Store) -> Vec<String> {
    let ids = image_ids(store);
    let mut referenced = BTreeSet::new();
    for id in &ids {
        let inspected = inspect(store, id);
        assert_eq!(inspected["Id"], id.as_str(), "inspect {id}");
        referenced.extend(inspected_layers(&inspected));
    }
    let dirs = layer_dirs(store);
    let missing: Vec<_> = referenced.difference(&dirs).collect();
    let unreferenced: Vec<_> = dirs.difference(&referenced).collect();
    assert!(
        missing.is_empty(),
        "layers of listed images missing: {missing:?}"
    );
    assert!(
        unreferenced.is_empty(),
        "layer dirs no listed image uses: {unreferenced:?}"
    );
    assert_layers_complete(store);
    assert_tmp_empty(store, "the concurrent commands");
    ids
}

/// The diff IDs (hex) of busybox and multilayer together.
fn all_layers() -> BTreeSet<String> {
    IMAGES
        .iter()
        .flat_map(|i| diff_ids(images().get(i)))
        .collect()
}

/// Races are timing-dependent: each round starts from a fresh store.
const ROUNDS: usize = 3;

#[test]
fn eight_concurrent_pulls_into_one_store_succeed_and_store_each_layer_once() {
    for _ in 0..ROUNDS {
        eight_concurrent_pulls_into_a_fresh_store();
    }
}

fn eight_concurrent_pulls_into_a_fresh_store() {
    let env = TestEnv::get();
    let store = Store::new();
    let results: Vec<_> = thread::scope(|scope| {
        let pulls: Vec<_> = (0..8)
            .map(|i| {
                let (store, image) = (&store, IMAGES[i % 2]);
                scope.spawn(move || (image, pull_plain(store, &env.image_ref(image), &[])))
            })
            .collect();
        pulls
            .into_iter()
            .map(|p| p.join().expect("pull thread panicked"))
            .collect()
    });
    for (image, out) in &results {
        assert_eq!(image_id(out), images().get(image).id(), "{image}");
    }
    let mut want: Vec<String> = IMAGES
        .iter()
        .map(|i| images().get(i).id().to_string())
        .collect();
    want.sort();
    assert_eq!(assert_consistent(&store), want);
    assert_eq!(layer_dirs(&store), all_layers());
    assert_eq!(layer_dirs(&store).len(), 3, "busybox's layer is shared");
    let listed = store
        .berth(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .to_string();
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort();
    let refs: Vec<String> = IMAGES.iter().map(|i| env.image_ref(i)).collect();
    assert_eq!(listed, refs);
}

#[test]
fn concurrent_pull_and_rmi_loops_leave_a_consistent_store() {
    let env = TestEnv::get();
    let store = Store::new();
    thread::scope(|scope| {
        for worker in 0..4 {
            let (store, image) = (&store, IMAGES[worker % 2]);
            scope.spawn(move || {
                let reference = env.image_ref(image);
                for round in 0..6 {
                    let out = pull_plain(store, &reference, &[]);
                    assert_eq!(
                        image_id(&out),
                        images().get(image).id(),
                        "worker {worker} round {round}"
                    );
                    let out = store.berth(["rmi", &reference]);
                    match out.code {
                        Some(0) => {}
                        // The other worker on this image removed it first.
                        Some(1) => assert!(
                            out.stderr.lines().any(|l| l.starts_with("Error: ")),
                            "{out}"
                        ),
                        _ => panic!("worker {worker} round {round}: {out}"),
                    }
                }
            });
        }
    });
    assert_consistent(&store);

    // The store still works: both images pull and are complete.
    for image in IMAGES {
        let out = pull_plain(&store, &env.image_ref(image), &[]);
        assert_eq!(image_id(&out), images().get(image).id());
    }
    assert_eq!(assert_consistent(&store).len(), 2);
    assert_eq!(layer_dirs(&store), all_layers());

    // And removing both leaves nothing behind.
    for image in IMAGES {
        store.berth(["rmi", &env.image_ref(image)]).ok();
    }
    assert!(assert_consistent(&store).is_empty());
    assert!(layer_dirs(&store).is_empty());
    let gone = store.berth(["rmi", &env.image_ref("busybox")]);
    let stderr = gone.fails_with(1);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("Error: ")).count(),
        1,
        "{gone}"
    );
}
