//! Machines for real: the guest image the harness built from Debian's packages (and
//! published to the plain registry as Berth's artifact), booted by QEMU under software
//! emulation with the vhost-user vsock channel. One full cycle — init, start, `berth
//! run` through the forwarded socket, the docker CLI on the same socket, a share round
//! trip, published TCP and UDP ports on the host's loopback, ssh, stop, a bigger disk,
//! a stray guest clock set again, a QEMU killed behind Berth's back, start again, rm —
//! and the faults of bad input; a rootful machine's cgroups, a provisioning document of
//! the user's, and a new OS applied from a build served over HTTP. Boot times are
//! printed.

use berth_e2e::{cmd, Store, TestEnv};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn machine_image() -> String {
    std::env::var("BERTH_TEST_MACHINE_IMAGE")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("BERTH_TEST_MACHINE_IMAGE is not set: the harness builds the machine image as root (tests/run.sh)")
}

fn machine_build() -> PathBuf {
    std::env::var("BERTH_TEST_MACHINE_BUILD")
        .ok()
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .expect("BERTH_TEST_MACHINE_BUILD is not set")
}

/// `berth machine ...` in the store's HOME, trusting the plain registry.
fn machine(store: &Store, args: &[&str]) -> cmd::CmdResult {
    machine_with_input(store, args, None)
}

/// `berth machine ...` with `stdin` as its input.
fn machine_with_input(store: &Store, args: &[&str], stdin: Option<&[u8]>) -> cmd::CmdResult {
    let conf = store.path().join("registries.conf");
    if !conf.exists() {
        let reg = &TestEnv::get().registry;
        std::fs::write(
            &conf,
            format!("[[registry]]\nlocation = \"{reg}\"\ninsecure = true\n"),
        )
        .expect("conf");
    }
    let mut argv = vec![
        "--registries-conf".to_string(),
        conf.display().to_string(),
        "machine".into(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    cmd::run(store.command(&argv), stdin, Duration::from_secs(900))
}

fn inspect(store: &Store, name: &str) -> serde_json::Value {
    let out = machine(store, &["inspect", name]).ok().to_string();
    let docs: serde_json::Value = serde_json::from_str(&out).expect("inspect json");
    docs[0].clone()
}

fn http_get(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A folder served over plain HTTP on the host's loopback (Python's http.server);
/// stopped on drop.
struct FileServer {
    child: std::process::Child,
    port: u16,
}

impl FileServer {
    fn serve(dir: &std::path::Path) -> FileServer {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the file server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        FileServer { child, port }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// How many seconds the guest's clock is behind the host's (read over ssh, against
/// the middle of the round trip).
fn guest_clock_lag(store: &Store, name: &str) -> f64 {
    let before = unix_seconds();
    let out = machine(store, &["ssh", name, "date", "+%s.%N"])
        .ok()
        .to_string();
    let after = unix_seconds();
    let guest: f64 = out.trim().parse().expect("the guest's date");
    (before + after) / 2.0 - guest
}

/// The guest's name for the harness's plain registry (QEMU's user network).
fn guest_image() -> String {
    guest_image_of("busybox")
}

/// A test image by the guest's name for the plain registry.
fn guest_image_of(name: &str) -> String {
    let reg = &TestEnv::get().registry;
    let port = reg.rsplit(':').next().expect("port");
    format!("10.0.2.2:{port}/berth-test/{name}:latest")
}

#[test]
fn bad_machine_input_is_refused_and_leaves_nothing() {
    let store = Store::new();
    let image = machine_image();
    let data = store.home().join(".local/share/berth/machine");
    let err = machine(&store, &["init", "--image", &image, "bad/name"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("invalid machine name"), "{err}");
    let err = machine(
        &store,
        &["init", "--image", &image, "--disk-size", "2", "small"],
    )
    .fails_with(125)
    .to_string();
    assert!(err.contains("smaller than the image"), "{err}");
    // A build whose description does not match its files: refused, nothing written.
    let build = machine_build();
    let tampered = store.path().join("tampered");
    std::fs::create_dir_all(&tampered).expect("mkdir");
    let mut info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(build.join("image.json")).expect("image.json"),
    )
    .expect("json");
    info["kernel"]["sha256"] = serde_json::json!("00".repeat(32));
    std::fs::write(tampered.join("image.json"), info.to_string()).expect("write");
    for f in ["vmlinuz", "disk.qcow2"] {
        std::os::unix::fs::symlink(build.join(f), tampered.join(f)).expect("link");
    }
    let err = machine(
        &store,
        &[
            "init",
            "--image",
            &tampered.join("image.json").display().to_string(),
            "tampered",
        ],
    )
    .fails_with(125)
    .to_string();
    assert!(err.contains("sha256 mismatch"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&data)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing written: {left:?}");
    assert_eq!(machine(&store, &["list", "-q"]).ok(), "");
    let err = machine(&store, &["start", "nosuch"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("nosuch: VM does not exist"), "{err}");
}

/// Removes the test's machines however the test ends.
struct Cleanup<'a>(&'a Store);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = machine(self.0, &["reset", "--force"]);
    }
}

#[test]
fn a_machine_runs_containers_for_berth_and_docker_through_its_socket() {
    let store = Store::new();
    let _cleanup = Cleanup(&store);
    let image = machine_image();
    let share = store.path().join("share");
    std::fs::create_dir_all(&share).expect("mkdir");
    std::fs::write(share.join("from-host.txt"), "written on the host\n").expect("write");
    // The guest sees the host's owners (virtiofs): its rootless user writes here because
    // the folder lets anyone, as a host user's own folder would let that user (uid 1000
    // on both sides).
    std::fs::set_permissions(&share, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .expect("chmod");
    let vol = format!("{}:/mnt/share", share.display());
    let t = Instant::now();
    machine(
        &store,
        &[
            "init", "--image", &image, "--cpus", "2", "--memory", "2048", "-v", &vol, "m1",
        ],
    )
    .ok();
    println!(
        "machine init (pull and check the image): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let list = machine(
        &store,
        &[
            "list",
            "--format",
            "{{.Name}} {{.VMType}} {{.CPUs}} {{.LastUp}}",
        ],
    )
    .ok()
    .to_string();
    assert_eq!(list.trim(), "m1* qemu 2 Never", "{list}");

    // The SSH port is taken by someone else: start picks another.
    let ssh_port = inspect(&store, "m1")["SSHConfig"]["Port"]
        .as_u64()
        .expect("port") as u16;
    let squatter = std::net::TcpListener::bind(("127.0.0.1", ssh_port)).expect("take the SSH port");
    let t = Instant::now();
    let out = machine(&store, &["start", "m1"]).ok().to_string();
    println!(
        "machine start, first boot (to the agent's ready signal): {:.1} s — {}",
        t.elapsed().as_secs_f64(),
        out.lines().next().unwrap_or("")
    );
    drop(squatter);
    assert!(out.contains("Machine \"m1\" started successfully"), "{out}");
    let doc = inspect(&store, "m1");
    assert_eq!(doc["State"], "running");
    assert_eq!(doc["Channel"], "vhost-user-vsock");
    assert_ne!(
        doc["SSHConfig"]["Port"].as_u64(),
        Some(u64::from(ssh_port)),
        "another SSH port"
    );
    let socket = doc["ConnectionInfo"]["PodmanSocket"]["Path"]
        .as_str()
        .expect("socket")
        .to_string();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let err = machine(&store, &["start", "m1"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("already running"), "{err}");

    // berth goes to the machine while it is the default connection and runs.
    let hostname = store
        .berth(["info", "--format", "{{.Host.Hostname}}"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(hostname, "m1");
    store
        .berth(["pull", "-q", "--tls-verify=false", &guest_image()])
        .ok();
    let out = store
        .berth([
            "run",
            "--rm",
            &guest_image(),
            "sh",
            "-c",
            "echo hello from $(uname -r)",
        ])
        .ok()
        .to_string();
    let host_kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    assert!(
        out.starts_with("hello from ") && !out.contains(host_kernel.trim()),
        "{out}"
    );

    // The docker CLI on the same socket.
    let docker = |args: &[&str]| {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{socket}"))
            .env("DOCKER_CONFIG", store.home().join(".docker"));
        cmd::run(c, None, Duration::from_secs(300))
    };
    let out = docker(&[
        "run",
        "--rm",
        &guest_image(),
        "cat",
        "/proc/sys/kernel/osrelease",
    ])
    .ok()
    .to_string();
    assert!(out.contains("cloud-amd64"), "the guest's kernel: {out}");
    let out = docker(&["version", "--format", "{{.Server.Os}}"])
        .ok()
        .to_string();
    assert_eq!(out.trim(), "linux");
    // Standard input's end goes through (the host client's half-close), and the
    // answers of attached runs one after another stay apart (the guest streams carry
    // one host connection after another).
    for (i, client) in ["docker", "berth", "docker"].iter().enumerate() {
        let input = format!("input {i} through the machine\n");
        let args = [
            "run",
            "-i",
            "--rm",
            &guest_image(),
            "sh",
            "-c",
            "cat; echo end",
        ];
        let out = if *client == "docker" {
            let mut c = Command::new("docker");
            c.args(args)
                .env("DOCKER_HOST", format!("unix://{socket}"))
                .env("DOCKER_CONFIG", store.home().join(".docker"));
            cmd::run(c, Some(input.as_bytes()), Duration::from_secs(300))
        } else {
            store.berth_input(args, input.as_bytes())
        };
        assert_eq!(out.ok(), format!("{input}end\n"), "{client}");
    }

    // The share, both ways.
    let out = store
        .berth([
            "run",
            "--rm",
            "-v",
            "/mnt/share:/data",
            &guest_image(),
            "sh",
            "-c",
            "cat /data/from-host.txt; echo from-guest > /data/from-guest.txt",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "written on the host\n");
    assert_eq!(
        std::fs::read_to_string(share.join("from-guest.txt")).expect("written in the guest"),
        "from-guest\n"
    );

    // A published port answers on the host's loopback.
    let port = free_port();
    store
        .berth(["run", "-d", "--name", "web", "-p", &format!("{port}:8080"), &guest_image(), "sh", "-c", "mkdir /www; echo served-by-the-machine > /www/index.html; exec httpd -f -p 8080 -h /www"])
        .ok();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = None;
    while Instant::now() < deadline {
        got = http_get(port).filter(|r| r.contains("served-by-the-machine"));
        if got.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(got.is_some(), "port {port} did not answer with the page");
    // A published UDP port answers on the host's loopback too, until the container goes.
    let udp_port = free_port();
    store
        .berth([
            "pull",
            "-q",
            "--tls-verify=false",
            &guest_image_of("udp-echo"),
        ])
        .ok();
    store
        .berth([
            "run",
            "-d",
            "--name",
            "echo",
            "-p",
            &format!("{udp_port}:5353/udp"),
            &guest_image_of("udp-echo"),
        ])
        .ok();
    berth_e2e::net::udp_echoes(udp_port, Duration::from_secs(60));
    store.berth(["rm", "-f", "echo"]).ok();
    berth_e2e::containers::wait_for("the UDP port to close", Duration::from_secs(15), || {
        berth_e2e::net::udp_ask(udp_port, "ping")
            .is_none()
            .then_some(())
    });
    // The user's own berth in the guest shares the service's store and namespaces.
    let out = machine(
        &store,
        &[
            "ssh",
            "m1",
            "berth",
            "ps",
            "--format",
            "'{{.Names}} {{.State}}'",
        ],
    )
    .ok()
    .to_string();
    assert_eq!(out.trim(), "web running", "{out}");
    store.berth(["rm", "-f", "web"]).ok();

    let out = machine(&store, &["ssh", "m1", "cat", "/etc/hostname"])
        .ok()
        .to_string();
    assert_eq!(out.trim(), "m1");
    let code = machine(&store, &["ssh", "m1", "exit 7"]).code;
    assert_eq!(code, Some(7));

    // The tun device stays open to users through the boot: the agent opens it before
    // the API answers, and the first of the boot's tmpfiles lines making it (the one
    // that applies) keeps it so, where kmod's static nodes would make it 0600 for a while.
    let out = machine(
        &store,
        &[
            "ssh",
            "m1",
            "stat -c %a /dev/net/tun; systemd-tmpfiles --cat-config | grep -m1 '^c.* /dev/net/tun '",
        ],
    )
    .ok()
    .to_string();
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines.first(), Some(&"666"), "{out}");
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("c! /dev/net/tun 0666 ")),
        "{out}"
    );

    // cp both ways, over the machine's SSH.
    let local = store.path().join("cp-in.txt");
    std::fs::write(&local, "copied in\n").expect("write");
    machine(
        &store,
        &["cp", &local.display().to_string(), "m1:/tmp/cp.txt"],
    )
    .ok();
    assert_eq!(
        machine(&store, &["ssh", "m1", "cat", "/tmp/cp.txt"]).ok(),
        "copied in\n"
    );
    let back = store.path().join("cp-out.txt");
    machine(
        &store,
        &["cp", "m1:/tmp/cp.txt", &back.display().to_string()],
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(&back).expect("copied out"),
        "copied in\n"
    );

    let err = machine(&store, &["rm", "m1"]).fails_with(125).to_string();
    assert!(err.contains("is running"), "{err}");
    let data_kib = || -> u64 {
        let out = machine(
            &store,
            &["ssh", "m1", "df -k --output=size /var/lib/berth | tail -1"],
        )
        .ok()
        .to_string();
        out.trim().parse().expect("df's size")
    };
    let before = data_kib();
    let t = Instant::now();
    machine(&store, &["stop", "m1"]).ok();
    println!("machine stop: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(inspect(&store, "m1")["State"], "stopped");
    assert!(
        !std::path::Path::new(&socket).exists(),
        "the socket goes with the machine"
    );

    // A bigger data disk, then started again: the file system grew with it, and kept
    // the image pulled before.
    let gib = inspect(&store, "m1")["Resources"]["DiskSize"]
        .as_u64()
        .expect("disk size");
    machine(
        &store,
        &["set", "--disk-size", &(gib + 2).to_string(), "m1"],
    )
    .ok();
    let t = Instant::now();
    machine(&store, &["start", "m1"]).ok();
    println!(
        "machine start, second boot: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let after = data_kib();
    assert!(
        after > before + (3 << 20) / 2,
        "the data file system grew by 2 GiB: {before} KiB, then {after} KiB"
    );
    let out = store
        .berth(["images", "--format", "{{.Repository}}"])
        .ok()
        .to_string();
    assert!(out.contains("berth-test/busybox"), "{out}");

    // The guest's clock strays (as it stands still while the host sleeps): the host
    // sets it again.
    machine(
        &store,
        &[
            "ssh",
            "--username",
            "root",
            "m1",
            "date -s @$(( $(date +%s) - 30 )) >/dev/null",
        ],
    )
    .ok();
    let t = Instant::now();
    let mut lag = guest_clock_lag(&store, "m1");
    println!("the guest's clock set back 30 s: {lag:.1} s behind");
    while lag.abs() > 2.0 && t.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_secs(1));
        lag = guest_clock_lag(&store, "m1");
    }
    assert!(
        lag.abs() <= 2.0,
        "the guest's clock is still {lag:.1} s off the host's"
    );
    println!(
        "the guest's clock set again after {:.1} s ({lag:.2} s off)",
        t.elapsed().as_secs_f64()
    );

    // QEMU killed behind Berth's back: the machine shows stopped, and starts again.
    let pid_file = store.path().join("xdg-runtime/berth/machine/m1/qemu.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .expect("qemu.pid")
        .trim()
        .to_string();
    Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    let deadline = Instant::now() + Duration::from_secs(10);
    while inspect(&store, "m1")["State"] != "stopped" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(inspect(&store, "m1")["State"], "stopped");
    let t = Instant::now();
    machine(&store, &["start", "m1"]).ok();
    println!(
        "machine start after QEMU was killed: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let out = store
        .berth(["run", "--rm", &guest_image(), "echo", "again"])
        .ok()
        .to_string();
    assert_eq!(out, "again\n");

    machine(&store, &["rm", "-f", "m1"]).ok();
    assert_eq!(machine(&store, &["list", "-q"]).ok(), "");
    let conns = store
        .berth(["system", "connection", "ls", "-q"])
        .ok()
        .to_string();
    assert!(!conns.contains("m1"), "{conns}");
    let leftovers = Command::new("pgrep")
        .args(["-f", &store.path().display().to_string()])
        .output()
        .expect("pgrep");
    assert!(
        String::from_utf8_lossy(&leftovers.stdout).trim().is_empty(),
        "no process of the machine left"
    );
}

/// Run as root in a rootful machine's guest, once per cgroup manager: a memory hog,
/// a fork loop, and a container whose cgroup, limits and stats are read back. (The
/// hog is killed in its first milliseconds, and systemd removes the empty scope at
/// once: the monitor reads the kill from the scope's memory.events, or from the
/// slice's count when the scope is gone first.)
const CGROUP_CHECKS: &str = r#"img=$1
for mgr in systemd cgroupfs; do
  berth --cgroup-manager $mgr run --name hog-$mgr --memory 20m $img sh -c 'x=a; while true; do x=$x$x; done'
  echo "$mgr hog exit $? oomkilled $(berth inspect --format '{{.State.OOMKilled}}' hog-$mgr)"
  berth --cgroup-manager $mgr run --rm --pids-limit 5 $img sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all forked' 2>/dev/null
  echo "$mgr forks exit $?"
  berth --cgroup-manager $mgr run -d --name s-$mgr --memory 64m --pids-limit 30 $img sleep 100 >/dev/null
  id=$(berth inspect --format '{{.Id}}' s-$mgr)
  cg=$(sed 's/^0:://' /proc/$(berth inspect --format '{{.State.Pid}}' s-$mgr)/cgroup)
  echo "$mgr cgroup ${cg//$id/ID} memory.max $(cat /sys/fs/cgroup$cg/memory.max) pids.max $(cat /sys/fs/cgroup$cg/pids.max)"
  echo "$mgr stats pids $(berth stats --no-stream --format '{{.PIDs}}' s-$mgr) limit $(berth stats --no-stream --format '{{.MemUsage}}' s-$mgr | sed 's|.* / ||')"
  echo "$mgr manager $(berth inspect --format '{{.HostConfig.CgroupManager}}' s-$mgr) scope $(systemctl is-active berth-$id.scope)"
  berth rm -f s-$mgr hog-$mgr >/dev/null
done
echo "left $(ls /sys/fs/cgroup/machine.slice | grep -c '^berth-') $(ls /sys/fs/cgroup/berth 2>/dev/null | grep -c '^berth-')"
"#;

#[test]
fn a_rootful_machine_limits_containers_on_cgroup_v2_then_takes_a_new_os_over_http() {
    let store = Store::new();
    let _cleanup = Cleanup(&store);
    let image = machine_image();
    // A provisioning document of the user's own, merged over the generated one.
    let ignition = store.path().join("provision.json");
    std::fs::write(&ignition, r#"{"timezone": "Asia/Tokyo"}"#).expect("write");
    machine(
        &store,
        &[
            "init",
            "--image",
            &image,
            "--rootful",
            "--ignition-path",
            &ignition.display().to_string(),
            "rf",
        ],
    )
    .ok();
    assert_eq!(inspect(&store, "rf")["Rootful"], true);
    let t = Instant::now();
    machine(&store, &["start", "-q", "rf"]).ok();
    println!("rootful machine start: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(
        machine(&store, &["ssh", "rf", "id", "-u"]).ok().trim(),
        "0",
        "a rootful machine's ssh is root's"
    );

    // Through the host's connection: root in the guest, pure cgroup v2, systemd PID 1.
    let info: serde_json::Value =
        serde_json::from_str(store.berth(["info", "--format", "json"]).ok()).expect("info json");
    let host = &info["host"];
    assert_eq!(
        (
            &host["rootless"],
            &host["cgroupVersion"],
            &host["cgroupManager"]
        ),
        (
            &serde_json::json!(false),
            &serde_json::json!("v2"),
            &serde_json::json!("systemd")
        ),
        "{host}"
    );
    store
        .berth(["pull", "-q", "--tls-verify=false", &guest_image()])
        .ok();
    store
        .berth([
            "run",
            "--name",
            "hog",
            "--memory",
            "20m",
            &guest_image(),
            "sh",
            "-c",
            "x=a; while true; do x=$x$x; done",
        ])
        .fails_with(137);
    let out = store
        .berth([
            "inspect",
            "--format",
            "{{.State.OOMKilled}} {{.HostConfig.CgroupManager}}",
            "hog",
        ])
        .ok()
        .to_string();
    assert_eq!(out.trim(), "true systemd");
    store.berth(["rm", "hog"]).ok();

    // In the guest, each manager (the script comes on ssh's stdin).
    let img = guest_image();
    let out = machine_with_input(
        &store,
        &["ssh", "rf", "bash", "-s", &img],
        Some(CGROUP_CHECKS.as_bytes()),
    )
    .ok()
    .to_string();
    let expected = "\
systemd hog exit 137 oomkilled true
systemd forks exit 2
systemd cgroup /machine.slice/berth-ID.scope/container memory.max 67108864 pids.max 30
systemd stats pids 1 limit 67.1 MB
systemd manager systemd scope active
cgroupfs hog exit 137 oomkilled true
cgroupfs forks exit 2
cgroupfs cgroup /berth/berth-ID memory.max 67108864 pids.max 30
cgroupfs stats pids 1 limit 67.1 MB
cgroupfs manager cgroupfs scope inactive
left 0 0
";
    assert_eq!(out, expected);
    assert_eq!(
        machine(&store, &["ssh", "rf", "cat /etc/timezone; date +%Z"]).ok(),
        "Asia/Tokyo\nJST\n",
        "the --ignition-path document's time zone"
    );

    // A new OS from a build served over HTTP, rootless again: the OS disk is the
    // image's (a file written to /etc is gone), the data disk is kept (the engine's
    // store and what was written there), provisioning is applied to the new OS.
    machine(
        &store,
        &[
            "ssh",
            "rf",
            "touch /etc/on-the-old-os && echo kept > /var/lib/berth/kept.txt",
        ],
    )
    .ok();
    machine(&store, &["stop", "rf"]).ok();
    let server = FileServer::serve(&machine_build());
    let url = format!("http://127.0.0.1:{}/image.json", server.port);
    machine(&store, &["os", "apply", &url, "rf"]).ok();
    drop(server);
    assert_eq!(inspect(&store, "rf")["Image"]["Source"], url.as_str());
    machine(&store, &["set", "--rootful=false", "rf"]).ok();
    machine(&store, &["start", "-q", "rf"]).ok();
    let out = machine(
        &store,
        &[
            "ssh",
            "--username",
            "root",
            "rf",
            "test -e /etc/on-the-old-os; echo old $?; cat /var/lib/berth/kept.txt /etc/timezone",
        ],
    )
    .ok()
    .to_string();
    assert_eq!(out, "old 1\nkept\nAsia/Tokyo\n");
    let out = store
        .berth([
            "info",
            "--format",
            "{{.Host.Rootless}} {{.Host.CgroupManager}}",
        ])
        .ok()
        .to_string();
    assert_eq!(out.trim(), "true cgroupfs");
    assert_ne!(machine(&store, &["ssh", "rf", "id", "-u"]).ok().trim(), "0");
    machine(&store, &["rm", "-f", "rf"]).ok();
}
