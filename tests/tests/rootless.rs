//! Rootless Berth as a real non-root user the harness creates (with /etc/subuid and
//! /etc/subgid ranges): `berth unshare` runs a command as root of the user's namespace,
//! which maps the user to 0 and its subordinate range after it; every `berth` of that
//! user joins the same namespace (one pause process holds it); its store lives under
//! the user's XDG data directory. A user without subordinate ranges gets an error that
//! names the file and the fix; root is told `unshare` is for rootless users.

use berth_e2e::net::free_port;
use berth_e2e::{cmd, CmdResult, TestEnv};
use std::process::Command;
use std::time::Duration;

/// The rootless user's namespaces are one for all its `berth`s, and `system migrate`
/// restarts them: the tests of this file take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// `berth ARGS` as `user` (through runuser), in its home directory.
fn berth_as(user: &str, args: &[&str]) -> CmdResult {
    let mut c = Command::new("runuser");
    c.args(["-u", user, "--"])
        .arg(&TestEnv::get().berth_bin)
        .args(args)
        .current_dir("/")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", format!("/home/{user}"));
    cmd::run(c, None, Duration::from_secs(60))
}

/// (uid, first subordinate id, count) of `user` in `file`.
fn subid_range(file: &str, user: &str) -> (u32, u32) {
    let text = std::fs::read_to_string(file).expect("reading the subordinate id file");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{user}:")))
        .unwrap_or_else(|| panic!("{user} has a range in {file}"));
    let f: Vec<&str> = line.split(':').collect();
    (f[1].parse().expect("start"), f[2].parse().expect("count"))
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id")
        .args(["-u", user])
        .output()
        .expect("id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a uid")
}

#[test]
fn unshare_maps_the_user_to_root_and_its_subordinate_range_after_it() {
    let _turn = turn();
    let user = &TestEnv::get().rootless_user;
    let (start, count) = subid_range("/etc/subuid", user);
    let uid = uid_of(user);
    let out = berth_as(
        user,
        &["unshare", "sh", "-c", "id -u; cat /proc/self/uid_map"],
    );
    let text = out.ok().to_string();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "root inside: {out}");
    assert_eq!(lines[1], ["0", &uid.to_string(), "1"], "{out}");
    assert_eq!(
        lines[2],
        ["1", &start.to_string(), &count.to_string()],
        "{out}"
    );
    let gid_map = berth_as(user, &["unshare", "cat", "/proc/self/gid_map"]);
    let (gstart, gcount) = subid_range("/etc/subgid", user);
    let second: Vec<String> = gid_map
        .ok()
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        second,
        ["1".to_string(), gstart.to_string(), gcount.to_string()],
        "{gid_map}"
    );
}

#[test]
fn every_berth_of_the_user_joins_one_namespace_and_keeps_its_store_at_home() {
    let _turn = turn();
    let user = &TestEnv::get().rootless_user;
    let first = berth_as(user, &["unshare", "readlink", "/proc/self/ns/user"]);
    let second = berth_as(user, &["unshare", "readlink", "/proc/self/ns/user"]);
    assert_eq!(first.ok(), second.ok(), "one namespace for all");
    let host_ns = std::fs::read_link("/proc/self/ns/user").expect("own user namespace");
    assert_ne!(
        first.stdout.trim(),
        host_ns.to_string_lossy(),
        "not the host's namespace"
    );
    let root = berth_as(user, &["info", "--format", "{{.Store.GraphRoot}}"]);
    assert_eq!(root.ok().trim(), format!("/home/{user}/.local/share/berth"));
    // The store is the user's on the host.
    let meta = std::fs::metadata(format!("/home/{user}/.local/share/berth")).expect("the store");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.uid(), uid_of(user));
}

#[test]
fn a_user_without_subordinate_ids_is_told_how_to_get_some() {
    let _turn = turn();
    let user = &TestEnv::get().nosubid_user;
    let out = berth_as(user, &["unshare", "id"]);
    let err = out.fails_with(125);
    assert!(err.starts_with("Error: "), "{out}");
    assert!(err.contains("/etc/subuid"), "names the file: {out}");
    assert!(
        err.contains("usermod --add-subuids") && err.contains(user.as_str()),
        "says how to fix it: {out}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {out}");
}

#[test]
fn unshare_as_root_is_refused() {
    let _turn = turn();
    let store = berth_e2e::Store::new();
    let out = store.berth(["unshare", "id"]);
    assert!(out.fails_with(125).contains("rootless"), "{out}");
}

/// The busybox test image, pulled into the rootless user's store.
fn rootless_busybox(user: &str) -> String {
    let image = TestEnv::get().image_ref("busybox");
    berth_as(user, &["pull", "-q", "--tls-verify=false", &image]).ok();
    image
}

/// A container test's start: its turn, the harness's rootless user, and busybox
/// pulled into that user's store.
fn rootless_turn() -> (std::sync::MutexGuard<'static, ()>, &'static str, String) {
    let turn = turn();
    let user = TestEnv::get().rootless_user.as_str();
    let image = rootless_busybox(user);
    (turn, user, image)
}

#[test]
fn a_rootless_container_runs_as_root_of_the_users_namespace() {
    let (_turn, user, image) = rootless_turn();
    let name = format!("rrm{}", std::process::id());
    let out = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--name",
            &name,
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            "id -u; head -1 /proc/self/uid_map; touch /made-here && echo wrote",
        ],
    );
    let text = out.ok().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", &uid_of(user).to_string(), "1"], "{out}");
    assert_eq!(lines[2], "wrote", "{out}");
    let gone = berth_as(user, &["container", "exists", &name]);
    assert_eq!(gone.code, Some(1), "--rm removed it: {gone}");
}

/// Waits for `GET /` on loopback `port` to answer with `body` in it; the answer.
fn page_on(port: u16, body: &str) -> String {
    use std::io::{Read, Write};
    let answer =
        berth_e2e::containers::wait_for("the published port", Duration::from_secs(15), || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
            let mut text = String::new();
            s.read_to_string(&mut text).ok()?;
            text.contains(body).then_some(text)
        });
    assert!(answer.starts_with("HTTP/1."), "{answer}");
    answer
}

/// Whether a process of `user` matches `pattern` (`pgrep -f`).
fn user_runs(user: &str, pattern: &str) -> bool {
    let out = Command::new("pgrep")
        .args(["-u", user, "-f", pattern])
        .output()
        .expect("pgrep");
    !out.stdout.is_empty()
}

/// Serves a page from a rootless container on `network` (none given: the default),
/// publishes it on a free loopback port, checks that it answers and that `tool`'s
/// process (pasta or slirp4netns) is there, then that both are gone after `rm`.
fn published_port_answers_through(network: &[&str], tool: &str) {
    let user = &TestEnv::get().rootless_user;
    let image = rootless_busybox(user);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let name = format!("rweb{}", std::process::id());
    let mut args = vec!["run", "-d", "--name", &name, "-p", &publish];
    args.extend_from_slice(network);
    args.extend_from_slice(&[
        &image,
        "sh",
        "-c",
        "mkdir -p /www && echo rootless-body > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    berth_as(user, &args).ok();
    page_on(port, "rootless-body");
    let netns = berth_as(
        user,
        &[
            "inspect",
            "--format",
            "{{.NetworkSettings.SandboxKey}}",
            &name,
        ],
    )
    .ok()
    .trim()
    .to_string();
    let helper_running = || user_runs(user, &format!("{tool}.*{netns}"));
    assert!(helper_running(), "{tool} serves {netns}");
    berth_as(user, &["rm", "-f", "-t", "0", &name]).ok();
    berth_e2e::containers::wait_for(
        "the port to close once the container is gone",
        Duration::from_secs(10),
        || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .is_err()
                .then_some(())
        },
    );
    berth_e2e::containers::wait_for(&format!("{tool} to end"), Duration::from_secs(10), || {
        (!helper_running()).then_some(())
    });
}

#[test]
fn a_rootless_published_port_answers_on_the_hosts_loopback_through_pasta() {
    let _turn = turn();
    published_port_answers_through(&[], "pasta");
}

#[test]
fn a_rootless_published_udp_port_answers_on_the_hosts_loopback_through_pasta() {
    let _turn = turn();
    let user = &TestEnv::get().rootless_user;
    let image = TestEnv::get().image_ref("udp-echo");
    berth_as(user, &["pull", "-q", "--tls-verify=false", &image]).ok();
    // The same port on both sides: Debian 12's pasta loses the answers on its
    // loopback path when they differ.
    let port = berth_e2e::net::free_port();
    let publish = format!("127.0.0.1:{port}:{port}/udp");
    let name = format!("rudp{}", std::process::id());
    let command = ["udp-echo".to_string(), port.to_string()];
    berth_as(
        user,
        &[
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &publish,
            &image,
            &command[0],
            &command[1],
        ],
    )
    .ok();
    berth_e2e::net::udp_echoes(port, Duration::from_secs(15));
    berth_as(user, &["rm", "-f", "-t", "0", &name]).ok();
    assert_eq!(
        berth_e2e::net::udp_ask(port, "ping"),
        None,
        "the port still answers after rm"
    );
}

#[test]
fn slirp4netns_networks_a_rootless_container_and_publishes_its_ports() {
    let _turn = turn();
    published_port_answers_through(&["--network", "slirp4netns"], "slirp4netns");
    let user = &TestEnv::get().rootless_user;
    let image = rootless_busybox(user);
    let out = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--network",
            "slirp4netns",
            &image,
            "sh",
            "-c",
            "ip -4 -o addr show tap0; ip route; cat /etc/resolv.conf",
        ],
    );
    let text = out.ok().to_string();
    assert!(
        text.contains("inet 10.0.2.100/24"),
        "slirp4netns's address: {out}"
    );
    assert!(text.contains("default via 10.0.2.2 dev tap0"), "{out}");
    assert!(
        text.contains("nameserver 10.0.2.3"),
        "its DNS forwarder is the name server: {out}"
    );
}

#[test]
fn system_migrate_restarts_the_users_namespaces() {
    let _turn = turn();
    // Its own user: the other tests of this file keep theirs running meanwhile.
    let user = &TestEnv::get().rootless_user;
    let before = berth_as(user, &["unshare", "cat", "/proc/self/uid_map"]);
    before.ok();
    let pause_pids = || {
        let out = Command::new("pgrep")
            .args(["-u", user, "-f", "__rootless-pause"])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let old = pause_pids();
    assert!(!old.is_empty(), "a pause process holds the namespaces");
    berth_as(user, &["system", "migrate"]).ok();
    berth_e2e::containers::wait_for(
        "the old pause process to end",
        Duration::from_secs(5),
        || (!pause_pids().split_whitespace().any(|p| p == old)).then_some(()),
    );
    let after = berth_as(user, &["unshare", "cat", "/proc/self/uid_map"]);
    assert_eq!(after.ok(), before.stdout, "the same mapping, made anew");
    let new = pause_pids();
    assert!(
        !new.is_empty() && new != old,
        "a new pause process: {old} -> {new}"
    );
}

/// A directory the rootless user owns, for bind mounts.
fn users_dir(user: &str, tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let status = Command::new("chown")
        .arg(user)
        .arg(&dir)
        .status()
        .expect("chown");
    assert!(status.success());
    dir
}

#[test]
fn keep_id_runs_as_the_user_whose_files_stay_its_own() {
    use std::os::unix::fs::MetadataExt;
    let (_turn, user, image) = rootless_turn();
    let uid = uid_of(user);
    let share = users_dir(user, "keepid");
    let volume = format!("{}:/share", share.display());
    let out = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--userns",
            "keep-id",
            "-v",
            &volume,
            &image,
            "sh",
            "-c",
            "id -u; id -g; echo $HOME; stat -c %u /bin/busybox; grep \"^$(id -un):\" /etc/passwd; touch /share/made-inside; echo root-owned >/root-file 2>/dev/null || echo refused",
        ],
    );
    let text = out.ok().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        uid.to_string(),
        "the user's own uid inside: {out}"
    );
    assert_eq!(
        lines[1],
        uid.to_string(),
        "and gid (the harness's user group): {out}"
    );
    assert_eq!(lines[2], format!("/home/{user}"), "{out}");
    assert_eq!(
        lines[3], "0",
        "the image's files still belong to root: {out}"
    );
    assert!(
        lines[4].starts_with(&format!("{user}:*:{uid}:{uid}:")),
        "a passwd entry for the user: {out}"
    );
    assert_eq!(lines[5], "refused", "the user is not root inside: {out}");
    let made = std::fs::metadata(share.join("made-inside")).expect("the file made inside");
    assert_eq!(made.uid(), uid, "owned by the user on the host");

    // keep-id:uid=,gid= move the user inside.
    let out = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--userns",
            "keep-id:uid=200,gid=210",
            &image,
            "sh",
            "-c",
            "id -u; id -g",
        ],
    );
    assert_eq!(out.ok(), "200\n210\n", "{out}");
    let _ = std::fs::remove_dir_all(&share);
}

#[test]
fn nomap_leaves_the_user_out_and_uidmap_maps_what_it_says() {
    let (_turn, user, image) = rootless_turn();
    let home = format!("/home/{user}");
    // The container's root is not the user here: the store's parents must let anyone
    // search them, which a fresh home's ~/.local/share does not.
    for dir in [".local", ".local/share"] {
        let p = format!("{home}/{dir}");
        let _ = Command::new("chmod").args(["go+x", &p]).status();
    }
    let out = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--userns",
            "nomap",
            &image,
            "sh",
            "-c",
            "cat /proc/self/uid_map; stat -c %u /bin/busybox",
        ],
    );
    let none = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--userns",
            "nomap",
            &image,
            "cat",
            "/proc/self/uid_map",
        ],
    );
    assert_eq!(
        none.ok().lines().count(),
        1,
        "without a network too: {none}"
    );
    let text = out.ok().to_string();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    // Read inside, the map's second column counts in the user's namespace, where the
    // user is 0 and its subordinate IDs follow.
    let (_, count) = subid_range("/etc/subuid", user);
    assert_eq!(
        rows[0],
        ["0", "1", &count.to_string()],
        "only the subordinate range: {out}"
    );
    assert_eq!(rows.len(), 2, "and nothing else: {out}");
    assert_eq!(
        rows[1],
        ["0"],
        "the image's files belong to root inside: {out}"
    );

    let out = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--uidmap",
            "0:1:2000",
            &image,
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /etc",
        ],
    );
    let text = out.ok().to_string();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["0", "1", "2000"], "{out}");
    assert_eq!(
        rows[1],
        ["0", "1", "2000"],
        "--gidmap follows --uidmap: {out}"
    );
    assert_eq!(rows[2], ["0:0"], "{out}");

    // Refused before anything is made.
    let name = format!("bad-userns-{}", std::process::id());
    for (args, says) in [
        (vec!["--userns", "private"], "invalid --userns"),
        (vec!["--uidmap", "0:1:70000"], "beyond the"),
        (
            vec!["--userns", "nomap", "--uidmap", "0:1:10"],
            "cannot be combined",
        ),
    ] {
        let mut full = vec!["create", "--name", &name];
        full.extend(args);
        full.push(&image);
        let r = berth_as(user, &full);
        assert_eq!(r.code, Some(125), "{r}");
        assert!(r.stderr.contains(says), "{r}");
        let left = berth_as(user, &["container", "exists", &name]);
        assert_eq!(left.code, Some(1), "nothing created: {left}");
    }

    for dir in [".local/share", ".local"] {
        let p = format!("{home}/{dir}");
        let _ = Command::new("chmod").args(["go-x", &p]).status();
    }
    let out = berth_as(user, &["run", "--rm", "--userns", "nomap", &image, "true"]);
    assert_eq!(out.code, Some(125), "{out}");
    assert!(
        out.stderr.contains(&format!(
            "cannot reach the store through {home}/.local/share"
        )) && out.stderr.contains("chmod go+x"),
        "says which directory and how: {out}"
    );
}

/// Writes the rootless user's storage.conf naming fuse-overlayfs as the overlay mount
/// program (as Podman users do where the kernel refuses overlay), removed on drop.
struct FuseStorageConf(std::path::PathBuf);

impl FuseStorageConf {
    fn new(user: &str) -> FuseStorageConf {
        let dir = std::path::PathBuf::from(format!("/home/{user}/.config/containers"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("storage.conf");
        std::fs::write(
            &file,
            "[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n",
        )
        .expect("write storage.conf");
        let _ = Command::new("chown")
            .args(["-R", user, &format!("/home/{user}/.config")])
            .status();
        FuseStorageConf(file)
    }
}

impl Drop for FuseStorageConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn fuse_overlayfs_mounts_the_root_when_storage_conf_names_it() {
    let (_turn, user, image) = rootless_turn();
    let _conf = FuseStorageConf::new(user);
    let name = format!("rfuse{}", std::process::id());
    berth_as(
        user,
        &["run", "-d", "--name", &name, &image, "sleep", "600"],
    )
    .ok();
    // The user's mount namespace shows what is mounted on the container's root.
    let mounts = berth_as(user, &["unshare", "cat", "/proc/self/mountinfo"])
        .ok()
        .to_string();
    let id = berth_as(user, &["inspect", "--format", "{{.Id}}", &name])
        .ok()
        .trim()
        .to_string();
    let root = mounts
        .lines()
        .find(|l| l.contains(&format!("{id}/merged")))
        .unwrap_or_else(|| panic!("the container's root is mounted: {mounts}"));
    assert!(
        root.contains(" - fuse.fuse-overlayfs ") || root.contains("fuse-overlayfs"),
        "{root}"
    );
    let out = berth_as(
        user,
        &[
            "exec",
            &name,
            "sh",
            "-c",
            "echo written > /new && cat /new /etc/hostname",
        ],
    );
    assert!(out.ok().starts_with("written\n"), "{out}");
    berth_as(user, &["rm", "-f", "-t", "0", &name]).ok();
    berth_e2e::containers::wait_for("fuse-overlayfs to end", Duration::from_secs(10), || {
        (!user_runs(user, "fuse-overlayfs")).then_some(())
    });

    // Without access to /dev/fuse the error names it and the fix, and nothing runs.
    use std::os::unix::fs::PermissionsExt;
    let fuse = std::path::Path::new("/dev/fuse");
    let mode = std::fs::metadata(fuse)
        .expect("/dev/fuse")
        .permissions()
        .mode();
    std::fs::set_permissions(fuse, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let refused = berth_as(user, &["run", "--rm", "--name", &name, &image, "true"]);
    std::fs::set_permissions(fuse, std::fs::Permissions::from_mode(mode)).expect("chmod back");
    assert_eq!(refused.code, Some(125), "{refused}");
    assert!(
        refused.stderr.contains("cannot open /dev/fuse")
            && refused.stderr.contains("chmod 0666 /dev/fuse"),
        "{refused}"
    );
    let left = berth_as(user, &["container", "exists", &name]);
    assert_eq!(
        left.code,
        Some(1),
        "--rm removed the container that could not start"
    );
}

#[test]
fn rootless_bridge_networks_resolve_names_and_publish_ports() {
    let (_turn, user, image) = rootless_turn();
    let net = format!("rlnet{}", std::process::id());
    assert_eq!(
        berth_as(user, &["network", "create", &net]).ok(),
        format!("{net}\n")
    );
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let name = format!("rlweb{}", std::process::id());
    berth_as(
        user,
        &[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &net,
            "--network-alias",
            "site",
            "-p",
            &publish,
            &image,
            "sh",
            "-c",
            "mkdir -p /www && echo bridge-body > /www/index.html && exec httpd -f -p 80 -h /www",
        ],
    )
    .ok();
    // By name and by alias, from a second container on the network.
    let fetched = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--network",
            &net,
            &image,
            "sh",
            "-c",
            &format!("wget -qO- http://{name}/; wget -qO- http://site/"),
        ],
    );
    assert_eq!(fetched.ok(), "bridge-body\nbridge-body\n", "{fetched}");
    // From the host, through the published port.
    page_on(port, "bridge-body");
    // Connected to a second network while it runs, it is reached there by name; a
    // reload keeps its published port; disconnected, its second interface goes.
    let other = format!("rlnet2-{}", std::process::id());
    berth_as(user, &["network", "create", &other]).ok();
    berth_as(user, &["network", "connect", &other, &name]).ok();
    let there = berth_as(
        user,
        &[
            "run",
            "--rm",
            "--network",
            &other,
            &image,
            "wget",
            "-qO-",
            &format!("http://{name}/"),
        ],
    );
    assert_eq!(there.ok(), "bridge-body\n", "{there}");
    berth_as(user, &["network", "reload", &name]).ok();
    page_on(port, "bridge-body");
    berth_as(user, &["network", "disconnect", &other, &name]).ok();
    let links = berth_as(user, &["exec", &name, "ls", "/sys/class/net"])
        .ok()
        .to_string();
    assert!(links.contains("eth0") && !links.contains("eth1"), "{links}");
    berth_as(user, &["network", "rm", &other]).ok();
    let rootless_netns_slirp = || user_runs(user, "slirp4netns.*rootless-netns");
    assert!(
        rootless_netns_slirp(),
        "slirp4netns joins the user's network namespace"
    );
    berth_as(user, &["rm", "-f", "-t", "0", &name]).ok();
    berth_e2e::containers::wait_for("the port to close", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    });
    // With no container left on the user's networks, their namespace goes.
    berth_e2e::containers::wait_for("slirp4netns to end", Duration::from_secs(10), || {
        (!rootless_netns_slirp()).then_some(())
    });
    assert_eq!(
        berth_as(user, &["network", "rm", &net]).ok(),
        format!("{net}\n")
    );
    let left = berth_as(user, &["network", "exists", &net]);
    assert_eq!(left.code, Some(1), "{left}");
}

#[test]
fn limits_a_rootless_container_cannot_have_on_cgroup_v1_are_warned_about() {
    let (_turn, user, image) = rootless_turn();
    let out = berth_as(user, &["run", "--rm", "--memory", "64m", &image, "true"]);
    out.ok();
    let warned = out
        .stderr
        .contains("Resource limits are not supported and ignored on cgroups V1 rootless systems");
    let v1 = !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(warned, v1, "warned exactly on cgroup v1: {out}");
    let plain = berth_as(user, &["run", "--rm", &image, "true"]);
    assert!(
        !plain.stderr.contains("Resource limits"),
        "no limits, no warning: {plain}"
    );
}

#[test]
fn info_tells_a_rootless_user_it_is_rootless_and_root_that_it_is_not() {
    let _turn = turn();
    let user = &TestEnv::get().rootless_user;
    let format = "{{.Host.Rootless}} {{.Host.CgroupManager}}";
    let out = berth_as(user, &["info", "--format", format]);
    assert_eq!(out.ok(), "true cgroupfs\n", "{out}");
    let mut c = Command::new(&TestEnv::get().berth_bin);
    c.args(["info", "--format", "{{.Host.Rootless}}"]);
    let root = cmd::run(c, None, Duration::from_secs(30));
    assert_eq!(root.ok(), "false\n", "{root}");
}

#[test]
fn rootless_kube_play_binds_only_host_paths_the_user_owns() {
    let (_turn, user, image) = rootless_turn();
    let dir = users_dir(user, "kube");
    std::fs::write(dir.join("note"), "the user's own").expect("write");
    let yaml = |path: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: rlkube\nspec:\n  containers:\n\
             \x20 - name: c\n    image: {image}\n    command: [sh, -c, 'cat /mnt/note; sleep 100']\n\
             \x20   volumeMounts:\n    - name: h\n      mountPath: /mnt\n  volumes:\n\
             \x20 - name: h\n    hostPath:\n      path: {path}\n"
        )
    };
    let write = |name: &str, text: String| {
        let f = dir.join(name);
        std::fs::write(&f, text).expect("write yaml");
        let _ = Command::new("chown").arg(user).arg(&f).status();
        f.display().to_string()
    };
    let bad = write("bad.yaml", yaml("/etc"));
    let err = berth_as(user, &["kube", "play", &bad])
        .fails_with(125)
        .to_string();
    assert!(
        err.contains("hostPath /etc is not allowed for a rootless user"),
        "{err}"
    );
    assert!(
        berth_as(user, &["pod", "exists", "rlkube"]).code == Some(1),
        "no pod made"
    );
    let good = write("good.yaml", yaml(&dir.display().to_string()));
    berth_as(user, &["kube", "play", &good]).ok();
    berth_e2e::containers::wait_for("the pod's log", Duration::from_secs(10), || {
        let out = berth_as(user, &["logs", "rlkube-c"]);
        out.stdout.contains("the user's own").then_some(())
    });
    berth_as(user, &["kube", "down", &good]).ok();
    assert_eq!(berth_as(user, &["pod", "exists", "rlkube"]).code, Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}
