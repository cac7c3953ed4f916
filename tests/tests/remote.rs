//! The CLI's remote mode against `berth system service`: the same commands print the
//! same output and exit with the same codes through `--url`, `CONTAINER_HOST`,
//! `--connection` and `--remote` as locally, attached runs and execs included; and
//! `system connection add|ls|default|rename|rm`.

use std::process::Command;
use std::time::Duration;

use berth_e2e::containers::{busybox, store_with_busybox};
use berth_e2e::service::Service;
use berth_e2e::{cmd, CmdResult, Store};

/// `berth --url URL ARGS` (the store's own options are ignored remotely).
fn remote(store: &Store, url: &str, args: &[&str]) -> CmdResult {
    let mut full = vec!["--url", url];
    full.extend_from_slice(args);
    store.berth(full)
}

#[test]
fn remote_commands_print_what_local_ones_do() {
    let store = store_with_busybox();
    let service = Service::start(&store, "0");
    let url = format!("unix://{}", service.socket.display());
    let image = busybox();

    // A pull reports its progress from inside the engine's own I/O runtime.
    let registry = &berth_e2e::TestEnv::get().registry;
    let other = format!("{registry}/berth-test/multilayer:latest");
    let out = remote(&store, &url, &["pull", "--tls-verify=false", &other]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("Writing manifest to image destination"),
        "{}",
        out.stderr
    );
    assert_eq!(store.berth(["image", "exists", &other]).code, Some(0));

    // Attached runs: output, stderr, exit code, stdin.
    let out = remote(
        &store,
        &url,
        &[
            "run",
            "--rm",
            &image,
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (Some(3), "out\n", "err\n")
    );
    let mut full = store.command([
        "--url", &url, "run", "-i", "--rm", &image, "tr", "a-z", "A-Z",
    ]);
    full.env_remove("CONTAINER_HOST");
    let out = cmd::run(full, Some(b"stdin travels"), Duration::from_secs(60));
    assert_eq!(out.ok(), "STDIN TRAVELS");

    remote(
        &store,
        &url,
        &[
            "run",
            "-d",
            "--name",
            "box",
            "-l",
            "k=v",
            &image,
            "sh",
            "-c",
            "echo logged; exec sleep 1000",
        ],
    )
    .ok();
    // The same listing, inspection and logs either way.
    for args in [
        vec!["ps", "-a", "--format", "{{.Names}} {{.Status}} {{.Labels}}"],
        vec!["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
        vec![
            "inspect",
            "--format",
            "{{.Name}} {{.State.Status}} {{.Config.Labels}}",
            "box",
        ],
        vec!["logs", "box"],
        vec!["volume", "ls"],
        vec!["network", "ls", "--format", "{{.Name}}"],
        vec!["pod", "ps"],
        vec!["top", "box", "pid", "args"],
    ] {
        let local = store.berth(&args);
        let far = remote(&store, &url, &args);
        assert_eq!(
            (far.code, &far.stdout),
            (local.code, &local.stdout),
            "{args:?}: {far}"
        );
    }
    let out = remote(
        &store,
        &url,
        &["exec", "box", "sh", "-c", "echo in-exec; exit 6"],
    );
    assert_eq!((out.code, out.stdout.as_str()), (Some(6), "in-exec\n"));

    // A terminal of the client's size, through the service.
    let env = berth_e2e::TestEnv::get();
    let line = format!(
        "stty rows 30 cols 100; '{}' --url '{url}' exec -it box sh -c 'sleep 0.5; stty size'",
        env.berth_bin.display()
    );
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env("HOME", store.home());
    let out = cmd::run(c, None, Duration::from_secs(60));
    assert!(out.stdout.contains("30 100"), "{out}");

    // cp both ways, and an archive round trip.
    let file = store.path().join("up.txt");
    std::fs::write(&file, "up").expect("write");
    remote(
        &store,
        &url,
        &["cp", &file.display().to_string(), "box:/tmp/"],
    )
    .ok();
    let back = store.path().join("down.txt");
    remote(
        &store,
        &url,
        &["cp", "box:/tmp/up.txt", &back.display().to_string()],
    )
    .ok();
    assert_eq!(std::fs::read_to_string(&back).expect("copied"), "up");
    let saved = store.path().join("saved.tar");
    remote(
        &store,
        &url,
        &["save", "-o", &saved.display().to_string(), &image],
    )
    .ok();
    assert!(std::fs::metadata(&saved).expect("saved").len() > 1000);

    // Errors: the same message and exit code as locally, nothing changed.
    for args in [
        vec!["rm", "nothing"],
        vec!["inspect", "nothing"],
        vec![
            "run",
            "--rm",
            "--pull",
            "never",
            "localhost/no/such:image",
            "true",
        ],
        vec!["stop", "nothing"],
        vec!["volume", "rm", "nothing"],
    ] {
        let local = store.berth(&args);
        let far = remote(&store, &url, &args);
        assert_eq!(
            (far.code, &far.stderr),
            (local.code, &local.stderr),
            "{args:?}"
        );
        assert_ne!(far.code, Some(0), "{args:?}");
    }
    // An unreachable service: exit 125, naming where it tried.
    let gone = format!("unix://{}", store.path().join("none.sock").display());
    let err = remote(&store, &gone, &["ps"]).fails_with(125).to_string();
    assert!(err.contains("none.sock"), "{err}");

    // CONTAINER_HOST, connections, --remote.
    let mut c = store.command(["ps", "--format", "{{.Names}}"]);
    c.env("CONTAINER_HOST", &url);
    let out = cmd::run(c, None, Duration::from_secs(60));
    assert_eq!(out.ok(), "box\n");
    store
        .berth(["system", "connection", "add", "here", &url])
        .ok();
    store
        .berth(["system", "connection", "add", "other", &gone])
        .ok();
    let ls = store.berth(["system", "connection", "ls"]).ok().to_string();
    let lines: Vec<&str> = ls.lines().collect();
    assert!(
        lines[0].starts_with("Name") && lines[0].contains("URI"),
        "{ls}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("here ") && l.trim_end().ends_with("true")),
        "the first is the default: {ls}"
    );
    assert_eq!(store.berth(["--remote", "ps", "-q"]).ok().len(), 13);
    assert_eq!(
        store
            .berth(["--connection", "here", "ps", "--format", "{{.Names}}"])
            .ok(),
        "box\n"
    );
    store
        .berth(["system", "connection", "default", "other"])
        .ok();
    store.berth(["--remote", "ps"]).fails_with(125);
    store
        .berth(["system", "connection", "rename", "here", "there"])
        .ok();
    store.berth(["system", "connection", "rm", "other"]).ok();
    let names = store
        .berth([
            "system",
            "connection",
            "ls",
            "--format",
            "{{.Name}} {{.Default}}",
        ])
        .ok()
        .to_string();
    assert_eq!(names, "there true\n");
    let err = store
        .berth(["--connection", "nope", "ps"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("nope"), "{err}");
    let err = store
        .berth(["system", "connection", "add", "bad", "tcp://1.2.3.4:1"])
        .fails()
        .to_string();
    assert!(err.contains("unix://"), "{err}");

    remote(&store, &url, &["rm", "-f", "box"]).ok();
    assert_eq!(store.berth(["ps", "-aq"]).ok(), "");
}

/// An sshd of the test's own on a free loopback port, letting root in with one key.
struct Sshd {
    child: std::process::Child,
    port: u16,
    /// The client's private key.
    identity: std::path::PathBuf,
}

impl Sshd {
    fn start(store: &Store) -> Sshd {
        let dir = store.path().join("sshd");
        std::fs::create_dir_all(&dir).expect("mkdir");
        for name in ["host", "client"] {
            let mut c = Command::new("ssh-keygen");
            c.args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(name));
            cmd::run(c, None, Duration::from_secs(30)).ok();
        }
        std::fs::copy(dir.join("client.pub"), dir.join("authorized_keys")).expect("keys");
        std::fs::create_dir_all("/run/sshd").expect("privilege separation dir");
        let port = berth_e2e::net::free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PidFile {d}/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nAllowStreamLocalForwarding yes\n",
                d = dir.display()
            ),
        )
        .expect("sshd_config");
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sshd");
        berth_e2e::containers::wait_for("sshd", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| ())
        });
        Sshd {
            child,
            port,
            identity: dir.join("client"),
        }
    }

    /// Trusts the server's key in the store's ~/.ssh/known_hosts.
    fn trust(&self, store: &Store) {
        let host_key =
            std::fs::read_to_string(store.path().join("sshd/host.pub")).expect("host key");
        let ssh = store.home().join(".ssh");
        std::fs::create_dir_all(&ssh).expect("mkdir");
        std::fs::write(
            ssh.join("known_hosts"),
            format!("[127.0.0.1]:{} {host_key}", self.port),
        )
        .expect("known_hosts");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn remote_mode_goes_through_ssh_to_the_far_socket() {
    let store = store_with_busybox();
    let service = Service::start(&store, "0");
    let sshd = Sshd::start(&store);
    let url = format!(
        "ssh://root@127.0.0.1:{}{}",
        sshd.port,
        service.socket.display()
    );
    let identity = sshd.identity.display().to_string();
    let image = busybox();

    // An unknown host key is refused before anything is sent.
    let err = store
        .berth(["--url", &url, "--identity", &identity, "ps"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("known_hosts"), "{err}");

    sshd.trust(&store);
    let via = |args: &[&str]| {
        let mut full = vec!["--url", url.as_str(), "--identity", identity.as_str()];
        full.extend_from_slice(args);
        store.berth(full)
    };
    let out = via(&["run", "--rm", &image, "sh", "-c", "echo over-ssh; exit 5"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(5), "over-ssh\n"),
        "{out}"
    );
    via(&["run", "-d", "--name", "far", &image, "sleep", "1000"]).ok();
    let args = ["ps", "--format", "{{.Names}} {{.Image}}"];
    assert_eq!(via(&args).ok(), store.berth(args).ok());
    let out = via(&["exec", "far", "sh", "-c", "echo in; exit 4"]);
    assert_eq!((out.code, out.stdout.as_str()), (Some(4), "in\n"));
    // A saved connection with its identity.
    store
        .berth([
            "system",
            "connection",
            "add",
            "--identity",
            &identity,
            "viassh",
            &url,
        ])
        .ok();
    assert_eq!(
        store
            .berth(["--connection", "viassh", "ps", "-q"])
            .ok()
            .trim()
            .len(),
        12
    );
    // A key the server does not know is refused.
    let stranger = store.path().join("stranger");
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger);
    cmd::run(c, None, Duration::from_secs(30)).ok();
    let err = store
        .berth([
            "--url",
            &url,
            "--identity",
            &stranger.display().to_string(),
            "ps",
        ])
        .fails_with(125)
        .to_string();
    assert!(err.contains("refused"), "{err}");
    via(&["rm", "-f", "far"]).ok();
}
