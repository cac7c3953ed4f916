//! `berth update` (and Docker's `POST /containers/{id}/update`): new limits take
//! effect in the running container at once, are kept for its next run, and bad
//! input changes nothing.

use berth_e2e::containers::{run_detached, store_with_busybox};
use berth_e2e::service::Service;

fn inspect(store: &berth_e2e::Store, name: &str) -> serde_json::Value {
    let out = store.berth(["inspect", name]).ok().to_string();
    let docs: serde_json::Value = serde_json::from_str(&out).expect("inspect JSON");
    docs[0].clone()
}

/// Whether 8 background processes can be forked in the container now.
fn can_fork_eight(store: &berth_e2e::Store, name: &str) -> bool {
    let out = store.berth([
        "exec",
        name,
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 0.2 & done; wait; echo forked",
    ]);
    out.stdout == "forked\n"
}

#[test]
fn update_changes_limits_of_a_running_container_at_once_and_keeps_them() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &["--name", "limited", "--memory", "64m", "--pids-limit", "50"],
        &["sleep", "1000"],
    );
    assert!(can_fork_eight(&store, "limited"));
    let out = store
        .berth(["update", "--pids-limit", "5", "--memory", "96m", "limited"])
        .ok()
        .to_string();
    assert_eq!(out.trim(), id, "prints the ID");
    assert!(
        !can_fork_eight(&store, "limited"),
        "the new pids limit holds at once"
    );
    let doc = inspect(&store, "limited");
    assert_eq!(doc["HostConfig"]["Memory"], 96 * 1024 * 1024);
    assert_eq!(doc["HostConfig"]["PidsLimit"], 5);

    // Kept for the next run.
    store.berth(["stop", "-t", "0", "limited"]).ok();
    store.berth(["start", "limited"]).ok();
    assert!(
        !can_fork_eight(&store, "limited"),
        "still limited after a restart"
    );

    // Bad input: refused, nothing changed.
    let err = store
        .berth(["update", "--cpus", "-1", "limited"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("--cpus"), "{err}");
    let err = store
        .berth(["update", "--memory", "lots", "limited"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("lots"), "{err}");
    let err = store
        .berth(["update", "--memory", "1g", "nothing"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("nothing"), "{err}");
    store.berth(["update", "limited"]).fails_with(125);
    assert_eq!(
        inspect(&store, "limited")["HostConfig"]["Memory"],
        96 * 1024 * 1024
    );

    // Docker's update through the API.
    let service = Service::start(&store, "0");
    service
        .docker(&store, &["update", "--pids-limit", "100", "limited"])
        .ok();
    assert!(
        can_fork_eight(&store, "limited"),
        "raised again through the API"
    );
    assert_eq!(inspect(&store, "limited")["HostConfig"]["PidsLimit"], 100);
    store.berth(["rm", "-f", "limited"]).ok();
}
