//! Containers in user namespaces of their own, as root: `--uidmap`/`--gidmap` map the
//! container's IDs to a host range; the image's files belong to the container's root
//! inside and to the mapped host IDs on disk (a shifted copy, made once per image and
//! mapping); what the container writes lands on the host as the mapped IDs; bridge
//! networks, exec and `rmi` work as without; keep-id and nomap are refused to root.

use std::os::unix::fs::MetadataExt;

use berth_e2e::containers::{busybox, inspect, run, run_detached, store_with_busybox};

/// Clear of the harness's rootless user's subordinate IDs (200000-265535).
const MAP: &str = "0:300000:65536";

fn host_dirs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn uidmap_maps_the_container_to_a_host_range_on_disk_and_in_the_kernel() {
    let store = store_with_busybox();
    let share = tempfile::tempdir().expect("tempdir");
    std::fs::write(share.path().join("from-host"), "x").expect("write");
    // Open to the container's root, who is nobody special on the host.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(share.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let volume = format!("{}:/share", share.path().display());
    let out = run(
        &store,
        &["--rm", "--uidmap", MAP, "-v", &volume],
        &[
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox /etc/passwd; stat -c %u /share/from-host; touch /share/from-container",
        ],
    );
    let text = out.ok().to_string();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["0"], "root inside: {out}");
    assert_eq!(rows[1], ["0", "300000", "65536"], "{out}");
    assert_eq!(
        rows[2],
        ["0", "300000", "65536"],
        "the gid map follows: {out}"
    );
    assert_eq!(rows[3], ["0:0"], "image files are root's inside: {out}");
    assert_eq!(rows[4], ["0:0"], "{out}");
    assert_eq!(rows[5], ["65534"], "a host root file is nobody's: {out}");
    let made = std::fs::metadata(share.path().join("from-container")).expect("made inside");
    assert_eq!(
        (made.uid(), made.gid()),
        (300000, 300000),
        "mapped on the host"
    );

    // The copy of the image for that mapping is owned by the mapped IDs, and kept.
    let copies = host_dirs(&store.root().join("idmapped"));
    assert_eq!(copies.len(), 1, "{copies:?}");
    let bin = std::fs::symlink_metadata(copies[0].join("bin/busybox")).expect("busybox");
    assert_eq!((bin.uid(), bin.gid()), (300000, 300000));
    assert_eq!(bin.mode() & 0o7777, 0o755, "modes are kept");

    // A second container with the same mapping reuses it; another mapping adds one.
    run(&store, &["--rm", "--uidmap", MAP], &["true"]).ok();
    assert_eq!(host_dirs(&store.root().join("idmapped")).len(), 1);
    run(&store, &["--rm", "--uidmap", "0:400000:1000"], &["true"]).ok();
    assert_eq!(host_dirs(&store.root().join("idmapped")).len(), 2);

    // rmi frees them with the image.
    store.berth(["rmi", &busybox()]).ok();
    assert_eq!(
        host_dirs(&store.root().join("idmapped")),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn a_mapped_container_on_the_default_bridge_execs_and_writes_its_upper_layer_as_mapped() {
    let store = store_with_busybox();
    let id = run_detached(
        &store,
        &["--name", "mapped", "--uidmap", MAP],
        &["sh", "-c", "echo hi > /made; sleep 600"],
    );
    let addr = store
        .berth([
            "exec",
            "mapped",
            "sh",
            "-c",
            "ip -4 -o addr show eth0; id -u; ls /sys/class/net",
        ])
        .ok()
        .to_string();
    assert!(
        addr.contains("inet 10.87."),
        "on the default bridge: {addr}"
    );
    assert!(addr.contains("\n0\n"), "exec runs as root inside: {addr}");
    assert!(
        addr.contains("eth0"),
        "/sys shows the container's network: {addr}"
    );
    let upper = store.root().join("containers").join(&id).join("upper");
    let made = std::fs::metadata(upper.join("made")).expect("the container's file");
    assert_eq!(made.uid(), 300000);
    let root_dir = std::fs::metadata(&upper).expect("upper");
    assert_eq!(root_dir.uid(), 300000, "the container's / is its root's");
    assert_eq!(
        inspect(&store, "mapped")["State"]["Running"],
        serde_json::json!(true)
    );
    store.berth(["rm", "-f", "-t", "0", "mapped"]).ok();
}

#[test]
fn keep_id_and_nomap_are_for_rootless_users() {
    let store = store_with_busybox();
    for mode in ["keep-id", "nomap"] {
        let r = store.berth(["create", "--name", "refused", "--userns", mode, &busybox()]);
        assert_eq!(r.code, Some(125), "{r}");
        assert!(
            r.stderr.contains(&format!(
                "--userns={mode} is only supported in rootless mode"
            )),
            "{r}"
        );
        assert_eq!(
            store.berth(["container", "exists", "refused"]).code,
            Some(1)
        );
    }
}

#[test]
fn auto_gives_parallel_containers_ranges_of_their_own_that_they_keep() {
    let store = store_with_busybox();
    let image = busybox();
    let creates: Vec<_> = (0..4)
        .map(|i| {
            let mut c = store.command([
                "create",
                "--name",
                &format!("auto{i}"),
                "--userns",
                "auto:size=3000",
                &image,
                "cat",
                "/proc/self/uid_map",
            ]);
            c.stdout(std::process::Stdio::null());
            c.spawn().expect("berth create")
        })
        .collect();
    for mut c in creates {
        assert!(c.wait().expect("wait").success());
    }
    let mut starts = Vec::new();
    for i in 0..4 {
        let name = format!("auto{i}");
        let host = inspect(&store, &name);
        assert_eq!(host["HostConfig"]["UsernsMode"], "auto", "{host}");
        let map = host["HostConfig"]["IDMappings"]["UidMap"][0]
            .as_str()
            .expect("a uid map")
            .to_string();
        let f: Vec<u32> = map.split(':').map(|n| n.parse().expect("number")).collect();
        assert_eq!((f[0], f[2]), (0, 3000), "{map}");
        starts.push(f[1]);
        // What the kernel was given is what inspect says, at every start.
        for _ in 0..2 {
            let out = store.berth(["start", "-a", &name]).ok().to_string();
            let seen: Vec<&str> = out.split_whitespace().collect();
            assert_eq!(seen, ["0", &f[1].to_string(), "3000"], "{out}");
        }
    }
    starts.sort();
    for w in starts.windows(2) {
        assert!(w[1] >= w[0] + 3000, "ranges overlap: {starts:?}");
    }
    assert!(
        starts[0] >= 65536,
        "root's auto ranges leave the host's own IDs: {starts:?}"
    );
}

#[test]
fn a_pods_containers_share_its_user_namespace() {
    let store = store_with_busybox();
    store
        .berth([
            "pod",
            "create",
            "--name",
            "mapped",
            "--uidmap",
            "0:400000:65536",
            "--gidmap",
            "0:400000:65536",
        ])
        .ok();
    run_detached(
        &store,
        &["--pod", "mapped", "--name", "mapped-web"],
        &[
            "sh",
            "-c",
            "echo served > /tmp/index.html && exec httpd -f -p 8080 -h /tmp",
        ],
    );
    let out = run(
        &store,
        &["--rm", "--pod", "mapped"],
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map; sleep 0.3; wget -qO- http://localhost:8080/",
        ],
    )
    .ok()
    .to_string();
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["0", "400000", "65536", "served"], "{out}");
    let ns = |name: &str| {
        let pid = inspect(&store, name)["State"]["Pid"].as_i64().expect("pid");
        std::fs::read_link(format!("/proc/{pid}/ns/user")).expect("user ns")
    };
    let infra = store
        .berth([
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "mapped",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        ns("mapped-web"),
        ns(&infra),
        "one user namespace for the pod"
    );
    let err = run(
        &store,
        &["--pod", "mapped", "--uidmap", "0:500000:100"],
        &["true"],
    )
    .fails_with(125)
    .to_string();
    assert!(err.contains("set --userns on the pod"), "{err}");
}
