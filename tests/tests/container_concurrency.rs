//! Many `berth` processes on one store at once, as the containers issue asks: 50
//! `berth run -d` while another thread loops `berth ps`, then 50 `berth rm -f -t 0`
//! in parallel. Every command succeeds, every container is listed, the database
//! passes SQLite's integrity check, and afterwards nothing is left: no mounts, no
//! monitors, no container directories.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_e2e::containers::{
    all_ids, assert_no_containers_left, inspect, integrity_check, is_full_id, monitors_of, ps,
    run_args, store_with_busybox,
};

/// How many containers race (the number; about 3 s on this 2-core machine).
const N: usize = 50;

#[test]
fn fifty_parallel_runs_and_removals_while_ps_loops_leave_a_consistent_store() {
    let store = store_with_busybox();
    let stop = AtomicBool::new(false);
    let ps_failures = Mutex::new(Vec::new());
    let ps_rounds = Mutex::new(0usize);
    let results = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let out = store.berth(["ps", "-a"]);
                if !out.success() {
                    ps_failures
                        .lock()
                        .expect("a test thread panicked")
                        .push(out.to_string());
                }
                *ps_rounds.lock().expect("a test thread panicked") += 1;
            }
        });
        let runs: Vec<_> = (0..N)
            .map(|_| {
                scope.spawn(|| {
                    let out = store.berth(run_args("run", &["-d"], &["sleep", "60"]));
                    results.lock().expect("a test thread panicked").push(out);
                })
            })
            .collect();
        for r in runs {
            r.join().expect("run thread");
        }
        stop.store(true, Ordering::SeqCst);
    });
    let run_time = start.elapsed();
    let results = results.into_inner().expect("a test thread panicked");
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.success())
        .map(|r| r.to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {N} `berth run -d` failed; first: {}",
        failed.len(),
        failed[0]
    );
    let ids: BTreeSet<String> = results
        .iter()
        .map(|r| r.stdout.trim().to_string())
        .collect();
    assert!(ids.iter().all(|i| is_full_id(i)), "IDs: {ids:?}");
    assert_eq!(ids.len(), N, "{N} distinct IDs");
    let ps_failures = ps_failures.into_inner().expect("a test thread panicked");
    assert!(
        ps_failures.is_empty(),
        "{} `berth ps` failed during the runs; first: {}",
        ps_failures.len(),
        ps_failures[0]
    );
    assert!(
        *ps_rounds.lock().expect("a test thread panicked") > 0,
        "ps ran during the runs"
    );

    let listed: BTreeSet<String> = all_ids(&store).into_iter().collect();
    assert_eq!(listed, ids, "ps -a lists exactly the {N} containers");
    let running: BTreeSet<String> = ps(&store, &["-q", "--no-trunc"]).into_iter().collect();
    assert_eq!(running, ids, "all {N} are running");
    let mut names = ps(&store, &["--format", "{{.Names}}"]);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N, "{N} distinct names");
    for id in ids.iter().take(5) {
        assert_eq!(inspect(&store, id)["State"]["Status"], "running");
    }
    assert_eq!(monitors_of(&store).len(), N, "one monitor per container");
    assert_eq!(integrity_check(&store.root().join("berth.db")), "ok");

    let start = Instant::now();
    let removals = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for id in &ids {
            let removals = &removals;
            let store = &store;
            scope.spawn(move || {
                let out = store.berth(["rm", "-f", "-t", "0", id]);
                removals
                    .lock()
                    .expect("a test thread panicked")
                    .push((id.clone(), out));
            });
        }
    });
    let rm_time = start.elapsed();
    for (id, out) in removals.into_inner().expect("a test thread panicked") {
        assert_eq!(out.ok(), format!("{id}\n"), "{out}");
    }
    assert_no_containers_left(&store, "parallel rm -f -t 0");
    assert_eq!(integrity_check(&store.root().join("berth.db")), "ok");
    eprintln!("{N} parallel runs: {run_time:?}; {N} parallel removals: {rm_time:?}");
    assert!(
        run_time < Duration::from_secs(120) && rm_time < Duration::from_secs(120),
        "runs took {run_time:?}, removals {rm_time:?}"
    );
}

#[test]
fn parallel_runs_with_one_name_create_exactly_one_container() {
    let store = store_with_busybox();
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let out = store.berth(run_args("run", &["-d", "--name", "solo"], &["sleep", "60"]));
                results.lock().expect("a test thread panicked").push(out);
            });
        }
    });
    let results = results.into_inner().expect("a test thread panicked");
    let won: Vec<_> = results.iter().filter(|r| r.success()).collect();
    assert_eq!(won.len(), 1, "exactly one wins: {results:#?}");
    let id = won[0].stdout.trim().to_string();
    for lost in results.iter().filter(|r| !r.success()) {
        let err = lost.fails_with(125);
        assert!(
            err.contains("the container name \"solo\" is already in use by"),
            "{lost}"
        );
    }
    assert_eq!(all_ids(&store), vec![id]);
    assert_eq!(monitors_of(&store).len(), 1);
    store.berth(["rm", "-f", "-t", "0", "solo"]).ok();
    assert_no_containers_left(&store, "rm of the one winner");
}
