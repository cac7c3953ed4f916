//! Containers after faults and bad input. SIGKILL of the container's process, of its
//! monitor, of both, and of a `berth run` CLI in the middle of starting: `ps` tells
//! the truth at once and `rm` cleans up (no mounts, monitors, directories or runtime
//! state left). Bad input (unknown flag, bad memory string, unknown image, a name in
//! use, a removed container, a bad restart policy, a runtime that cannot work here or
//! does not exist): one `Error:` line, Podman's exit code, and nothing created.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_e2e::containers::{
    all_ids, assert_no_containers_left, container_dirs, container_id, inspect, kill9, monitors_of,
    names_and_status, pid_alive, ps, run, run_args, run_detached, store_with_busybox, wait_for,
};
use berth_e2e::fault::engine_error;
use berth_e2e::{cmd, Store};

/// The containers the store's runtime roots still know (`runc list -q`, `crun list -q`).
fn runtime_containers(store: &Store) -> Vec<String> {
    let mut known = Vec::new();
    for runtime in ["runc", "crun"] {
        let root = store.runroot().join("runtime").join(runtime);
        if !root.exists() {
            continue;
        }
        let mut c = Command::new(runtime);
        c.arg("--root").arg(&root).args(["list", "-q"]);
        known.extend(
            cmd::run(c, None, Duration::from_secs(30))
                .ok()
                .lines()
                .map(|l| format!("{runtime}: {l}")),
        );
    }
    known
}

/// Asserts that `name` shows as exited in `ps -a` within 3 s; returns its status.
#[track_caller]
fn exited_promptly(store: &Store, name: &str) -> String {
    wait_for(
        &format!("ps to show {name} exited"),
        Duration::from_secs(3),
        || {
            names_and_status(store)
                .into_iter()
                .find(|l| l.starts_with(&format!("{name} Exited (")))
        },
    )
}

/// Asserts the store holds no container: nothing listed, nothing on disk or in the runtime.
#[track_caller]
fn nothing_left(store: &Store, after: &str) {
    assert_no_containers_left(store, after);
    let known = runtime_containers(store);
    assert!(
        known.is_empty(),
        "the runtime still knows {known:?} after {after}"
    );
}

// ---- SIGKILL ------------------------------------------------------------------------

#[test]
fn sigkill_of_the_containers_process_shows_exited_137_at_once() {
    let store = store_with_busybox();
    run_detached(&store, &["--name", "victim"], &["sleep", "60"]);
    let pid = inspect(&store, "victim")["State"]["Pid"]
        .as_i64()
        .expect("a numeric pid");
    kill9(pid);
    let status = exited_promptly(&store, "victim");
    assert!(status.starts_with("victim Exited (137) "), "{status}");
    let state = inspect(&store, "victim")["State"].clone();
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["Running"], false, "{state}");
    assert_eq!(state["ExitCode"], 137, "{state}");
    assert_eq!(store.berth(["wait", "victim"]).ok(), "137\n");
    store.berth(["rm", "victim"]).ok();
    nothing_left(&store, "rm of a SIGKILLed container");
}

#[test]
fn sigkill_of_the_monitor_leaves_the_container_up_and_stoppable() {
    let store = store_with_busybox();
    run_detached(&store, &["--name", "orphan"], &["sleep", "60"]);
    let state = inspect(&store, "orphan")["State"].clone();
    let (pid, monitor) = (
        state["Pid"].as_i64().expect("a numeric pid"),
        state["ConmonPid"].as_i64().expect("a numeric pid"),
    );
    kill9(monitor);
    wait_for("the monitor to die", Duration::from_secs(5), || {
        (!pid_alive(monitor)).then_some(())
    });
    assert!(pid_alive(pid), "the container outlives its monitor");
    let status = &names_and_status(&store)[0];
    assert!(status.starts_with("orphan Up "), "{status}");
    store.berth(["stop", "-t", "1", "orphan"]).ok();
    assert!(!pid_alive(pid), "stop ended the container");
    let status = &names_and_status(&store)[0];
    assert!(status.starts_with("orphan Exited ("), "{status}");
    store.berth(["rm", "orphan"]).ok();
    nothing_left(
        &store,
        "stop and rm of a container whose monitor was killed",
    );
}

#[test]
fn sigkill_of_the_monitor_then_the_container_shows_exited_and_rm_cleans_up() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "both"], &["sleep", "60"]);
    let state = inspect(&store, "both")["State"].clone();
    let (pid, monitor) = (
        state["Pid"].as_i64().expect("a numeric pid"),
        state["ConmonPid"].as_i64().expect("a numeric pid"),
    );
    kill9(monitor);
    wait_for("the monitor to die", Duration::from_secs(5), || {
        (!pid_alive(monitor)).then_some(())
    });
    kill9(pid);
    wait_for("the container to die", Duration::from_secs(5), || {
        (!pid_alive(pid)).then_some(())
    });
    let status = exited_promptly(&store, "both");
    assert!(!status.contains("Up"), "{status}");
    let state = inspect(&store, "both")["State"].clone();
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["Running"], false, "{state}");
    assert_eq!(state["Pid"], 0, "{state}");
    assert!(
        ps(&store, &["-q"]).is_empty(),
        "not listed as running any more"
    );
    assert_eq!(
        store.berth(["rm", "both"]).ok(),
        "both\n",
        "rm echoes the name as typed, as Podman; {id}"
    );
    nothing_left(&store, "rm after the monitor and the container were killed");
}

/// Starts an attached `berth run --name NAME FLAGS… COMMAND` in the background and
/// returns once `ps` shows the container up.
fn attached_run(
    store: &Store,
    name: &str,
    flags: &[&str],
    command: &[&str],
) -> std::process::Child {
    let mut args = vec!["--name", name];
    args.extend_from_slice(flags);
    let cli = store
        .command(run_args("run", &args, command))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting berth run");
    wait_for("the container to run", Duration::from_secs(10), || {
        names_and_status(store)
            .iter()
            .any(|l| l.starts_with(&format!("{name} Up ")))
            .then_some(())
    });
    cli
}

#[test]
fn sigkill_of_an_attached_run_rm_leaves_the_cleanup_to_the_monitor() {
    // The attached `run` records the exit and removes the container itself; killed
    // before that, the monitor's exit command does it all the same.
    let store = store_with_busybox();
    let mut cli = attached_run(&store, "dropped", &["--rm"], &["sleep", "2"]);
    kill9(cli.id() as i64);
    let _ = cli.wait();
    assert!(
        names_and_status(&store)[0].starts_with("dropped Up "),
        "the container outlives the CLI that started it"
    );
    wait_for("the --rm removal", Duration::from_secs(15), || {
        all_ids(&store).is_empty().then_some(())
    });
    wait_for("the monitor to end", Duration::from_secs(5), || {
        monitors_of(&store).is_empty().then_some(())
    });
    nothing_left(
        &store,
        "an attached run --rm killed while its container ran",
    );
}

#[test]
fn stop_of_a_container_whose_attached_run_is_still_going_is_prompt() {
    let store = store_with_busybox();
    let started = Instant::now();
    let mut cli = attached_run(&store, "held", &[], &["sleep", "60"]);
    store.berth(["stop", "-t", "1", "held"]).ok();
    let status = cli.wait().expect("waiting for berth run");
    assert_eq!(status.code(), Some(137), "run reports the container's end");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stop waited for the attached run: {:?}",
        started.elapsed()
    );
    assert!(names_and_status(&store)[0].starts_with("held Exited (137)"));
}

#[test]
fn killing_berth_run_mid_start_leaves_a_working_container_or_none() {
    let store = store_with_busybox();
    let mut killed_after = Vec::new();
    for step in 0..24u64 {
        let delay = Duration::from_millis(step * 3);
        let mut child = store
            .command(run_args("run", &["-d"], &["sleep", "60"]))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawning berth run");
        std::thread::sleep(delay);
        let before_exit = child.try_wait().expect("try_wait").is_none();
        let _ = child.kill();
        let _ = child.wait();
        if before_exit {
            killed_after.push(delay);
        }
    }
    assert!(
        !killed_after.is_empty(),
        "no `berth run` was still running when killed: make the delays shorter"
    );
    // Give monitors that were already launched a moment to settle.
    std::thread::sleep(Duration::from_secs(1));

    let listed: BTreeSet<String> = all_ids(&store).into_iter().collect();
    let dirs = container_dirs(&store);
    let mut problems = Vec::new();
    let mut running = 0;
    for id in &listed {
        let doc = inspect(&store, id);
        let state = &doc["State"];
        match state["Status"].as_str() {
            Some("running") => {
                running += 1;
                let pid = state["Pid"].as_i64().unwrap_or(0);
                if !pid_alive(pid) {
                    problems.push(format!(
                        "{id} is listed running but pid {pid} is gone: {state}"
                    ));
                }
                let monitor = state["ConmonPid"].as_i64().unwrap_or(0);
                if !pid_alive(monitor) {
                    problems.push(format!("{id} is running without its monitor: {state}"));
                }
            }
            Some(status @ ("created" | "exited" | "stopped")) => {
                // Half-started is fine as long as it works: it must start now.
                let out = store.berth(["start", id]);
                let now = inspect(&store, id)["State"]["Status"].clone();
                if out.success() && now == "running" {
                    running += 1;
                } else {
                    problems.push(format!(
                        "{id} ({status}) left by a killed `berth run` does not start (now {now}): {out}"
                    ));
                }
            }
            other => problems.push(format!("{id} left in state {other:?}: {state}")),
        }
    }
    let monitors = monitors_of(&store);
    if monitors.len() != running {
        problems.push(format!(
            "{} monitors for {running} running containers: {monitors:?}",
            monitors.len()
        ));
    }
    let orphans: Vec<_> = dirs.difference(&listed).collect();
    if !orphans.is_empty() {
        problems.push(format!(
            "container directories no container owns (rm -a -f cannot remove them): {orphans:?}"
        ));
    }
    store.berth(["rm", "-a", "-f", "-t", "0"]).ok();
    assert!(
        problems.is_empty(),
        "after killing `berth run` at {killed_after:?} ({} containers listed):\n{}",
        listed.len(),
        problems.join("\n")
    );
    nothing_left(&store, "rm -a -f after killed `berth run`s");
    assert!(
        monitors.iter().all(|p| !pid_alive(*p)),
        "monitors gone after rm -f"
    );
}

// ---- bad input ---------------------------------------------------------------------

/// Asserts the store holds no container at all (after a refused create or run).
#[track_caller]
fn nothing_created(store: &Store, after: &str) {
    let listed = ps(store, &["-a", "-q"]);
    assert!(listed.is_empty(), "ps -a -q after {after}: {listed:?}");
    let dirs = container_dirs(store);
    assert!(dirs.is_empty(), "container dirs after {after}: {dirs:?}");
}

#[test]
fn unknown_flag_is_refused_with_125_and_creates_nothing() {
    let store = store_with_busybox();
    let out = run(&store, &["--bogus"], &["true"]);
    assert_eq!(engine_error(&out), "unknown flag: --bogus");
    assert_eq!(out.stdout, "");
    nothing_created(&store, "run --bogus");
}

#[test]
fn bad_memory_string_is_refused_with_125_and_creates_nothing() {
    let store = store_with_busybox();
    for sub in ["run", "create"] {
        let out = store.berth(run_args(sub, &["--memory", "12zz"], &["true"]));
        let msg = engine_error(&out);
        assert!(msg.contains("12zz") && msg.contains("memory"), "{out}");
    }
    let out = run(&store, &["--memory", "1m"], &["true"]);
    let msg = engine_error(&out);
    assert!(
        msg.contains("6MB"),
        "Podman's minimum memory message: {out}"
    );
    nothing_created(&store, "run --memory 12zz");
}

#[test]
fn unknown_image_with_pull_never_is_refused_with_125_and_creates_nothing() {
    let store = store_with_busybox();
    let out = store.berth(["run", "--pull", "never", "localhost/nosuch:latest", "true"]);
    assert_eq!(
        engine_error(&out),
        "localhost/nosuch:latest: image not known"
    );
    nothing_created(&store, "run of an image not in the store");
}

#[test]
fn name_already_in_use_is_refused_with_podmans_message() {
    let store = store_with_busybox();
    let id = container_id(&store.berth(run_args("create", &["--name", "dup"], &["true"])));
    for sub in ["create", "run"] {
        let out = store.berth(run_args(sub, &["--name", "dup"], &["true"]));
        assert_eq!(
            engine_error(&out),
            format!(
                "creating container storage: the container name \"dup\" is already in use by {id}. You have to remove that container to be able to reuse that name: that name is already in use"
            ),
            "{out}"
        );
    }
    assert_eq!(all_ids(&store), vec![id.clone()], "still only the first");
    let dirs: Vec<String> = container_dirs(&store).into_iter().collect();
    assert_eq!(dirs, vec![id]);
}

#[test]
fn invalid_name_is_refused_with_125_and_creates_nothing() {
    let store = store_with_busybox();
    for name in ["a b", "-lead", "x/y"] {
        let out = run(&store, &["--name", name], &["true"]);
        let msg = engine_error(&out);
        assert!(msg.contains(name), "{out}");
    }
    nothing_created(&store, "run --name with bad names");
}

#[test]
fn start_of_a_removed_container_is_refused_with_125() {
    let store = store_with_busybox();
    let id = container_id(&store.berth(run_args("create", &["--name", "gone"], &["true"])));
    store.berth(["rm", "gone"]).ok();
    for name in ["gone", id.as_str()] {
        let out = store.berth(["start", name]);
        assert_eq!(
            engine_error(&out),
            format!("no container with name or ID \"{name}\" found: no such container")
        );
    }
    nothing_created(&store, "start of a removed container");
}

#[test]
fn commands_on_a_missing_container_fail_with_podmans_codes() {
    let store = store_with_busybox();
    for args in [
        vec!["stop", "nosuch"],
        vec!["kill", "nosuch"],
        vec!["logs", "nosuch"],
        vec!["wait", "nosuch"],
        vec!["attach", "nosuch"],
        vec!["start", "nosuch"],
    ] {
        let out = store.berth(&args);
        assert_eq!(
            engine_error(&out),
            "no container with name or ID \"nosuch\" found: no such container",
            "{out}"
        );
    }
    let out = store.berth(["rm", "nosuch"]);
    assert_eq!(
        out.fails_with(1),
        "Error: no container with name or ID \"nosuch\" found: no such container\n",
        "rm of a missing container exits 1, as Podman: {out}"
    );
    let out = store.berth(["container", "inspect", "nosuch"]);
    out.fails_with(125);
    assert_eq!(out.stdout.trim(), "[]", "{out}");
}

#[test]
fn invalid_restart_policy_is_refused_with_125_and_creates_nothing() {
    let store = store_with_busybox();
    for policy in ["bogus", "on-failure:x", "always:3"] {
        let out = run(&store, &["--restart", policy], &["true"]);
        let msg = engine_error(&out);
        assert!(
            msg.contains("restart")
                && msg.contains(policy.split(':').next_back().expect("a policy")),
            "{out}"
        );
    }
    nothing_created(&store, "run --restart with bad policies");
}

/// Whether crun 1.8 can run containers here: not under hybrid cgroups whose unified
/// hierarchy holds controllers (MACHINE-FACTS.md).
fn crun_blocked_here() -> bool {
    std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
        .is_ok_and(|c| !c.trim().is_empty())
}

#[test]
fn runtime_crun_on_a_hybrid_cgroup_host_explains_why_it_cannot_run() {
    let store = store_with_busybox();
    let out = run(&store, &["--rm", "--runtime", "crun"], &["echo", "ran"]);
    if !crun_blocked_here() {
        assert_eq!(out.ok(), "ran\n", "crun works on this host: {out}");
        return;
    }
    let msg = engine_error(&out);
    assert!(msg.contains("crun"), "names the runtime: {out}");
    assert!(msg.contains("hybrid"), "says why: {out}");
    assert!(msg.contains("runc"), "says what to use instead: {out}");
    assert_eq!(out.stdout, "");
    let out = store.berth(run_args("create", &["--runtime", "crun"], &["true"]));
    engine_error(&out);
    nothing_created(&store, "run --runtime crun");
    // Without --runtime, Berth picks runc by itself and says nothing about it.
    let out = run(&store, &["--rm"], &["echo", "ran"]);
    assert_eq!(out.ok(), "ran\n");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn runtime_that_does_not_exist_is_refused_with_125_and_creates_nothing() {
    let store = store_with_busybox();
    let out = run(&store, &["--runtime", "nosuch"], &["true"]);
    let msg = engine_error(&out);
    assert!(msg.contains("\"nosuch\""), "{out}");
    assert!(msg.contains("not found"), "{out}");
    let out = run(&store, &["--runtime", "/nonexistent/bin/runc"], &["true"]);
    let msg = engine_error(&out);
    assert!(msg.contains("/nonexistent/bin/runc"), "{out}");
    nothing_created(&store, "run --runtime nosuch");
}

#[test]
fn runtime_runc_by_name_and_by_path_both_work() {
    let store = store_with_busybox();
    for runtime in ["runc", "/usr/sbin/runc"] {
        let out = run(&store, &["--rm", "--runtime", runtime], &["echo", "ok"]);
        assert_eq!(out.ok(), "ok\n", "{out}");
    }
    let start = Instant::now();
    nothing_left(&store, "run --rm --runtime runc");
    assert!(start.elapsed() < Duration::from_secs(10));
}
