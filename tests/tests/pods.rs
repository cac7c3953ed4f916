//! Pods: containers that share the infra container's network, IPC and UTS namespaces
//! (localhost, hostname, System V IPC), the pod lifecycle (stop/start/restart, kill,
//! rm), Podman's status for a pod whose infra container died, init containers, the
//! exit policy, `run --pod new:`, parallel joins, and bad input refused with nothing
//! made.

use std::net::SocketAddr;
use std::time::Duration;

use berth_e2e::containers::{
    assert_no_containers_left, busybox, inspect, run, run_detached, store_with_busybox, wait_for,
};
use berth_e2e::net::{free_port, http_get};
use berth_e2e::Store;
use serde_json::Value;

/// `pod inspect NAME`'s single document.
#[track_caller]
fn pod_inspect(store: &Store, name: &str) -> Value {
    let out = store.berth(["pod", "inspect", name]);
    let list: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|e| panic!("pod inspect output is not a JSON array ({e}): {out}"));
    assert_eq!(list.len(), 1, "{out}");
    list.into_iter().next().expect("one document")
}

#[track_caller]
fn pod_status(store: &Store, name: &str) -> String {
    store
        .berth([
            "pod",
            "ps",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Status}}",
        ])
        .ok()
        .trim()
        .to_string()
}

/// The network, IPC and UTS namespaces of a container's process, as the host sees them.
fn namespaces_of(store: &Store, container: &str) -> Vec<String> {
    let pid = inspect(store, container)["State"]["Pid"]
        .as_i64()
        .expect("a running container's pid");
    ["net", "ipc", "uts"]
        .iter()
        .map(|ns| {
            std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
                .expect("reading a namespace link")
                .display()
                .to_string()
        })
        .collect()
}

/// Waits for the page at `path` on loopback `port` to hold `body`.
#[track_caller]
fn page(store: &Store, port: u16, path: &str, body: &str) -> String {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut last = None;
    while std::time::Instant::now() < deadline {
        last = http_get(addr, path);
        if let Some(page) = last.as_ref().filter(|r| r.contains(body)) {
            return page.clone();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = store
        .berth(["pod", "ps", "--ctr-names", "--ctr-status"])
        .stdout;
    panic!("{body:?} not served on port {port} within 15 s; last answer: {last:?}\n{state}");
}

#[test]
fn containers_of_a_pod_share_localhost_hostname_and_ipc() {
    let store = store_with_busybox();
    let port = free_port();
    let id = store
        .berth([
            "pod",
            "create",
            "--name",
            "shop",
            "-p",
            &format!("127.0.0.1:{port}:8080"),
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "pod create prints the pod's ID: {id}");
    let doc = pod_inspect(&store, "shop");
    assert_eq!(doc["State"], "Created");
    assert_eq!(doc["NumContainers"], 1, "the infra container: {doc}");
    assert_eq!(
        doc["SharedNamespaces"],
        serde_json::json!(["ipc", "net", "uts"])
    );

    run_detached(
        &store,
        &["--pod", "shop", "--name", "server"],
        &["sh", "-c", "mkdir /www && echo served-in-the-pod > /www/index.html && exec httpd -f -p 8080 -h /www"],
    );
    // The other container reaches the server on localhost and has the pod's hostname.
    let out = run(
        &store,
        &["--rm", "--pod", "shop"],
        &["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://localhost:8080/ && break; sleep 0.2; done; hostname"],
    )
    .ok()
    .to_string();
    assert_eq!(out, "served-in-the-pod\nshop\n");
    // Published on the pod, reached from the host.
    page(&store, port, "/", "served-in-the-pod");

    // Same network, IPC and UTS namespaces as the infra container.
    let client = run_detached(
        &store,
        &["--pod", "shop", "--name", "client"],
        &["sleep", "1000"],
    );
    let infra = doc["InfraContainerID"]
        .as_str()
        .expect("infra ID")
        .to_string();
    let theirs = namespaces_of(&store, &infra);
    assert_eq!(namespaces_of(&store, "server"), theirs);
    assert_eq!(namespaces_of(&store, &client), theirs);
    let ctr = inspect(&store, "client");
    assert_eq!(ctr["Pod"], id.as_str());
    assert_eq!(
        ctr["HostConfig"]["NetworkMode"],
        format!("container:{infra}")
    );

    let ps = store.berth(["pod", "ps"]).ok().to_string();
    let header: Vec<&str> = ps
        .lines()
        .next()
        .unwrap_or("")
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "POD ID",
            "NAME",
            "STATUS",
            "CREATED",
            "INFRA ID",
            "# OF CONTAINERS"
        ],
        "{ps}"
    );
    assert!(
        ps.lines().nth(1).is_some_and(|l| l.starts_with(&id[..12])
            && l.contains(" shop ")
            && l.contains(" Running ")
            && l.trim_end().ends_with('3')),
        "{ps}"
    );
    let names = store
        .berth([
            "pod",
            "ps",
            "--ctr-names",
            "--format",
            "{{.ContainerNames}}",
        ])
        .ok()
        .to_string();
    assert_eq!(names, format!("{}-infra,server,client\n", &id[..12]));

    // pod top lists the processes of all its containers.
    let top = store.berth(["pod", "top", "shop"]).ok().to_string();
    assert!(
        top.contains("httpd") && top.contains("sleep 1000") && top.contains("/pause"),
        "{top}"
    );
    // pod logs: each line after its container's ID.
    let logs = store
        .berth(["pod", "logs", "--names", "shop"])
        .ok()
        .to_string();
    assert!(!logs.contains("-infra"), "{logs}");
    // The published port goes with the pod.
    store.berth(["pod", "rm", "-f", "-t", "0", "shop"]).ok();
    assert!(store.berth(["pod", "ps", "-q"]).ok().is_empty());
    assert_no_containers_left(&store, "pod rm -f");
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the pod's host port is free again"
    );
}

#[test]
fn a_pod_stops_starts_and_restarts_with_its_containers() {
    let store = store_with_busybox();
    let port = free_port();
    store
        .berth([
            "pod",
            "create",
            "--name",
            "svc",
            "-p",
            &format!("127.0.0.1:{port}:8080"),
        ])
        .ok();
    // Each run of the server adds a line to the page it serves (its layer stays).
    run_detached(
        &store,
        &["--pod", "svc", "--name", "svc-web"],
        &[
            "sh",
            "-c",
            "mkdir -p /www && echo run >> /www/index.html && exec httpd -f -p 8080 -h /www",
        ],
    );
    page(&store, port, "/", "\r\n\r\nrun\n");
    store.berth(["pod", "stop", "-t", "0", "svc"]).ok();
    assert_eq!(pod_status(&store, "svc"), "Exited");
    let states = store
        .berth([
            "pod",
            "ps",
            "--ctr-status",
            "--format",
            "{{.ContainerStatuses}}",
        ])
        .ok()
        .to_string();
    assert_eq!(states, "exited,exited\n");
    let started = store.berth(["pod", "start", "svc"]).ok().to_string();
    assert_eq!(
        started.trim(),
        pod_inspect(&store, "svc")["Id"].as_str().expect("Id")
    );
    assert_eq!(pod_status(&store, "svc"), "Running");
    page(&store, port, "/", "\r\n\r\nrun\nrun\n");
    // restart, and a member started on its own brings the infra container up first.
    store.berth(["pod", "restart", "svc"]).ok();
    page(&store, port, "/", "\r\n\r\nrun\nrun\nrun\n");
    store.berth(["pod", "stop", "-t", "0", "svc"]).ok();
    store.berth(["start", "svc-web"]).ok();
    assert_eq!(pod_status(&store, "svc"), "Running");
    page(&store, port, "/", "\r\n\r\nrun\nrun\nrun\nrun\n");
    // pause and unpause act on every container.
    store.berth(["pod", "pause", "svc"]).ok();
    assert_eq!(pod_status(&store, "svc"), "Paused");
    store.berth(["pod", "unpause", "svc"]).ok();
    assert_eq!(pod_status(&store, "svc"), "Running");
}

#[test]
fn a_pod_whose_infra_was_killed_is_degraded() {
    let store = store_with_busybox();
    store.berth(["pod", "create", "--name", "frail"]).ok();
    run_detached(
        &store,
        &["--pod", "frail", "--name", "frail-app"],
        &["sleep", "1000"],
    );
    let doc = pod_inspect(&store, "frail");
    assert_eq!(doc["State"], "Running");
    let infra = doc["InfraContainerID"].as_str().expect("infra").to_string();
    let pid = inspect(&store, &infra)["State"]["Pid"]
        .as_i64()
        .expect("pid");
    berth_e2e::containers::kill9(pid);
    wait_for("the pod to be Degraded", Duration::from_secs(10), || {
        (pod_status(&store, "frail") == "Degraded").then_some(())
    });
    let doc = pod_inspect(&store, "frail");
    assert_eq!(doc["State"], "Degraded");
    let states: Vec<(String, String)> = doc["Containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| {
            (
                c["Name"].as_str().unwrap_or("").to_string(),
                c["State"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&(
            format!("{}-infra", &doc["Id"].as_str().expect("id")[..12]),
            "exited".into()
        )),
        "{states:?}"
    );
    assert!(
        states.contains(&("frail-app".into(), "running".into())),
        "{states:?}"
    );
    // The infra container goes only with its pod; a running pod only with --force.
    let err = store.berth(["rm", "-f", &infra]).fails().to_string();
    assert!(err.contains("is the infra container of pod"), "{err}");
    let err = store
        .berth(["pod", "rm", "frail"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("running") && err.contains("--force"), "{err}");
    store.berth(["pod", "rm", "-f", "-t", "0", "frail"]).ok();
    assert_no_containers_left(&store, "pod rm -f of a degraded pod");
}

#[test]
fn init_containers_run_first_and_the_exit_policy_stops_the_pod() {
    let store = store_with_busybox();
    store
        .berth(["pod", "create", "--name", "job", "--exit-policy", "stop"])
        .ok();
    store.berth(["volume", "create", "jobdata"]).ok();
    let image = busybox();
    store
        .berth([
            "create",
            "--pull",
            "never",
            "--pod",
            "job",
            "--init-ctr",
            "always",
            "-v",
            "jobdata:/data",
            &image,
            "sh",
            "-c",
            "echo prepared > /data/state",
        ])
        .ok();
    store
        .berth([
            "create",
            "--pull",
            "never",
            "--pod",
            "job",
            "--name",
            "job-main",
            "-v",
            "jobdata:/data",
            &image,
            "sh",
            "-c",
            "cat /data/state; sleep 0.5",
        ])
        .ok();
    store.berth(["pod", "start", "job"]).ok();
    wait_for(
        "the pod to stop after its last container",
        Duration::from_secs(20),
        || (pod_status(&store, "job") == "Exited").then_some(()),
    );
    let logs = store.berth(["logs", "job-main"]).ok().to_string();
    assert_eq!(
        logs, "prepared\n",
        "the init container ran before the main one"
    );
    // An init container that fails stops the pod's start.
    store.berth(["pod", "create", "--name", "broken"]).ok();
    store
        .berth([
            "create",
            "--pull",
            "never",
            "--pod",
            "broken",
            "--init-ctr",
            "once",
            &image,
            "false",
        ])
        .ok();
    store
        .berth([
            "create",
            "--pull",
            "never",
            "--pod",
            "broken",
            "--name",
            "never-started",
            &image,
            "true",
        ])
        .ok();
    let err = store
        .berth(["pod", "start", "broken"])
        .fails_with(125)
        .to_string();
    assert!(
        err.contains("init container") && err.contains("exited with code 1"),
        "{err}"
    );
    assert_eq!(
        inspect(&store, "never-started")["State"]["Status"],
        "created"
    );
}

#[test]
fn run_pod_new_makes_the_pod_and_many_containers_join_at_once() {
    let store = store_with_busybox();
    let port = free_port();
    let out = run(
        &store,
        &[
            "-d",
            "--pod",
            "new:fresh",
            "-p",
            &format!("127.0.0.1:{port}:8080"),
            "--name",
            "fresh-web",
        ],
        &[
            "sh",
            "-c",
            "mkdir /w && echo fresh > /w/index.html && exec httpd -f -p 8080 -h /w",
        ],
    );
    out.ok();
    let doc = pod_inspect(&store, "fresh");
    assert_eq!(
        doc["InfraConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"],
        port.to_string()
    );
    page(&store, port, "/", "fresh");

    let image = busybox();
    let joins: Vec<_> = (0..6)
        .map(|i| {
            let args = vec![
                "run".to_string(),
                "-d".into(),
                "--pull".into(),
                "never".into(),
                "--pod".into(),
                "fresh".into(),
                "--name".into(),
                format!("member{i}"),
                image.clone(),
                "sleep".into(),
                "1000".into(),
            ];
            let cmd = store.command(&args);
            std::thread::spawn(move || berth_e2e::cmd::run(cmd, None, berth_e2e::cmd::timeout()))
        })
        .collect();
    for j in joins {
        j.join().expect("thread").ok();
    }
    assert_eq!(pod_inspect(&store, "fresh")["NumContainers"], 8);
    assert_eq!(pod_status(&store, "fresh"), "Running");
    store.berth(["pod", "rm", "-f", "-t", "0", "fresh"]).ok();
    assert_no_containers_left(&store, "pod rm -f");
}

#[test]
fn bad_pod_input_is_refused_with_nothing_made() {
    let store = store_with_busybox();
    let err = store
        .berth(["pod", "create", "--name", "bad name"])
        .fails_with(125)
        .to_string();
    assert!(
        err.contains("bad name") && err.contains("[a-zA-Z0-9]"),
        "{err}"
    );
    let err = store
        .berth(["pod", "create", "--share", "net,bogus"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("bogus"), "{err}");
    let err = store
        .berth(["pod", "create", "--exit-policy", "maybe"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("maybe"), "{err}");
    assert!(store.berth(["pod", "ps", "-q"]).ok().is_empty());
    assert!(
        store.berth(["ps", "-a", "-q"]).ok().is_empty(),
        "no infra container left"
    );

    store.berth(["pod", "create", "--name", "one"]).ok();
    let err = store
        .berth(["pod", "create", "--name", "one"])
        .fails_with(125)
        .to_string();
    assert!(
        err.contains("\"one\"") && err.contains("already exists"),
        "{err}"
    );
    // --replace takes the name over.
    let old = pod_inspect(&store, "one")["Id"].clone();
    store
        .berth(["pod", "create", "--replace", "--name", "one"])
        .ok();
    assert_ne!(pod_inspect(&store, "one")["Id"], old);
    assert_eq!(
        store.berth(["ps", "-a", "-q"]).ok().lines().count(),
        1,
        "the old infra went"
    );

    let err = run(&store, &["--pod", "one", "-p", "8080:80"], &["true"])
        .fails_with(125)
        .to_string();
    assert!(
        err.contains("ports must be defined when the pod is created"),
        "{err}"
    );
    let err = run(&store, &["--pod", "one", "--hostname", "h"], &["true"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("hostname"), "{err}");
    let err = run(&store, &["--pod", "nope"], &["true"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("no pod with name or ID nope found"), "{err}");
    assert_eq!(store.berth(["ps", "-a", "-q"]).ok().lines().count(), 1);

    assert_eq!(store.berth(["pod", "exists", "one"]).code, Some(0));
    assert_eq!(store.berth(["pod", "exists", "nope"]).code, Some(1));
    let err = store.berth(["pod", "rm", "nope"]).fails_with(1).to_string();
    assert!(err.contains("no such pod"), "{err}");
    store.berth(["pod", "rm", "--ignore", "nope"]).ok();
    // prune removes the pods with nothing running.
    let pruned = store.berth(["pod", "prune", "-f"]).ok().to_string();
    assert_eq!(pruned.lines().count(), 1, "{pruned}");
    assert!(store.berth(["pod", "ps", "-q"]).ok().is_empty());
    assert_no_containers_left(&store, "pod prune");
}

#[test]
fn share_picks_the_namespaces_and_logs_and_stats_cover_the_pod() {
    let store = store_with_busybox();
    store
        .berth([
            "pod",
            "create",
            "--name",
            "all",
            "--share",
            "net,ipc,uts,pid,cgroup",
        ])
        .ok();
    let talker = run_detached(
        &store,
        &["--pod", "all", "--name", "talker"],
        &["sh", "-c", "echo first line; echo second line; sleep 1000"],
    );
    // With the PID namespace shared, the pause process is the pod's init.
    let ps = run(&store, &["--rm", "--pod", "all"], &["ps", "-o", "pid,args"])
        .ok()
        .to_string();
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "/pause"]),
        "{ps}"
    );
    let infra = pod_inspect(&store, "all")["InfraContainerID"]
        .as_str()
        .expect("infra")
        .to_string();
    let link = |name: &str, ns: &str| {
        let pid = inspect(&store, name)["State"]["Pid"].as_i64().expect("pid");
        std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns link")
    };
    for ns in ["pid", "cgroup", "ipc", "uts", "net"] {
        assert_eq!(link("talker", ns), link(&infra, ns), "{ns}");
    }
    assert_eq!(
        inspect(&store, "talker")["HostConfig"]["PidMode"],
        format!("container:{infra}")
    );
    wait_for("the talker's lines", Duration::from_secs(10), || {
        let logs = store.berth(["pod", "logs", "all"]).ok().to_string();
        (logs == format!("{0} first line\n{0} second line\n", &talker[..12])).then_some(())
    });
    let named = store
        .berth(["pod", "logs", "--names", "-c", "talker", "all"])
        .ok()
        .to_string();
    assert_eq!(named, "talker first line\ntalker second line\n");
    let stats = store
        .berth([
            "pod",
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}}",
            "all",
        ])
        .ok()
        .to_string();
    let mut names: Vec<&str> = stats.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!(
                "{}-infra",
                &pod_inspect(&store, "all")["Id"].as_str().expect("id")[..12]
            )
            .as_str(),
            "talker"
        ]
    );
    // Without an infra container nothing is shared, and nothing can be.
    let err = store
        .berth(["pod", "create", "--infra=false", "--share", "net"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("infra container"), "{err}");
    store
        .berth(["pod", "create", "--infra=false", "--name", "loose"])
        .ok();
    let doc = pod_inspect(&store, "loose");
    assert_eq!(doc["NumContainers"], 0);
    assert_eq!(doc["SharedNamespaces"], serde_json::json!([]));
}
