//! The API service (`system service`): the real docker CLI against Berth's socket
//! (version negotiation, ps, images, inspect), the socket's mode, Docker's errors for
//! bad requests, and the idle exit.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_e2e::containers::{busybox, run_detached, store_with_busybox, wait_for};
use berth_e2e::service::{get, raw, Service};
use berth_e2e::{cmd, Store};

#[test]
fn the_docker_cli_negotiates_and_lists_what_berth_has() {
    let store = store_with_busybox();
    let id = run_detached(&store, &["--name", "listed"], &["sleep", "1000"]);
    let service = Service::start(&store, "0");
    let mode = std::fs::metadata(&service.socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the socket is its owner's only");

    let v = service
        .docker(
            &store,
            &[
                "version",
                "--format",
                "{{.Server.APIVersion}} {{.Client.APIVersion}}",
            ],
        )
        .ok()
        .to_string();
    assert_eq!(
        v.trim(),
        "1.41 1.41",
        "the client negotiates down to Berth's version"
    );
    let ps = service
        .docker(
            &store,
            &["ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"],
        )
        .ok()
        .to_string();
    assert!(ps.starts_with(&format!("{} listed Up ", &id[..12])), "{ps}");
    let images = service
        .docker(&store, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .to_string();
    assert!(images.lines().any(|l| busybox().ends_with(l)), "{images}");
    let name = service
        .docker(
            &store,
            &[
                "inspect",
                "--format",
                "{{.Name}} {{.State.Running}}",
                "listed",
            ],
        )
        .ok()
        .to_string();
    assert_eq!(name.trim(), "/listed true");

    // The lifecycle through the docker CLI.
    let image = busybox();
    let made = service
        .docker(
            &store,
            &[
                "run",
                "-d",
                "--name",
                "made",
                "-e",
                "WHO=docker",
                &image,
                "sh",
                "-c",
                "echo hello $WHO; echo oops >&2; exec sleep 1000",
            ],
        )
        .ok()
        .trim()
        .to_string();
    assert_eq!(made.len(), 64, "{made}");
    wait_for("the container's output", Duration::from_secs(10), || {
        let logs = service.docker(&store, &["logs", "made"]);
        (logs.stdout == "hello docker\n" && logs.stderr == "oops\n").then_some(())
    });
    service.docker(&store, &["stop", "-t", "0", "made"]).ok();
    let state = store
        .berth(["inspect", "--format", "{{.State.Status}}", "made"])
        .ok()
        .to_string();
    assert_eq!(state.trim(), "exited");
    let ps = service
        .docker(
            &store,
            &[
                "ps",
                "-a",
                "--filter",
                "name=made",
                "--format",
                "{{.Status}}",
            ],
        )
        .ok()
        .to_string();
    assert!(
        ps.starts_with("Exited (137)") || ps.starts_with("Exited (143)"),
        "{ps}"
    );
    service.docker(&store, &["rm", "made"]).ok();
    assert_eq!(store.berth(["container", "exists", "made"]).code, Some(1));
    service.docker(&store, &["rm", "-f", "listed"]).ok();
    service
        .docker(&store, &["tag", &image, "localhost/apitag:1"])
        .ok();
    let untag = service
        .docker(&store, &["rmi", "localhost/apitag:1"])
        .ok()
        .to_string();
    assert!(untag.contains("Untagged: localhost/apitag:1"), "{untag}");
    let err = service
        .docker(&store, &["start", "nothing-here"])
        .fails()
        .to_string();
    assert!(err.contains("No such container: nothing-here"), "{err}");
    let err = service
        .docker(&store, &["inspect", "nothing-here"])
        .fails()
        .to_string();
    assert!(
        err.contains("No such container: nothing-here") || err.contains("No such object"),
        "{err}"
    );
}

#[test]
fn bad_requests_get_dockers_errors_and_an_idle_service_exits() {
    let store = Store::new();
    let service = Service::start(&store, "0");
    let (code, body) = get(&service.socket, "/v1.41/no/such/endpoint");
    assert_eq!(
        (code, body.as_str()),
        (404, r#"{"message":"page not found"}"#)
    );
    let (code, body) = get(&service.socket, "/containers/json?filters=%7Bnot-json");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid filters"), "{body}");
    let (code, body) = get(&service.socket, "/containers/nothing/json");
    assert_eq!(
        (code, body.as_str()),
        (404, r#"{"message":"No such container: nothing"}"#)
    );
    let (code, _) = get(&service.socket, "/_ping");
    assert_eq!(code, 200);
    let (code, body) = raw(
        &service.socket,
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"Image\":",
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid JSON body"), "{body}");
    assert_eq!(store.berth(["ps", "-aq"]).ok(), "", "nothing made");
    // A body over the limit is refused before it is read.
    let big = 17 * 1024 * 1024;
    let (code, body) = raw(
        &service.socket,
        format!("POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: {big}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(code, 413, "{body}");
    drop(service);

    // --time: gone after that many idle seconds, the socket with it.
    let mut idle = Service::start(&store, "1");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = idle.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still serving after 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert!(!idle.socket.exists(), "the socket is removed");
}

#[test]
fn docker_pull_streams_dockers_messages_and_the_image_runs() {
    let store = Store::new();
    let registry = &berth_e2e::TestEnv::get().registry;
    let service = Service::start_trusting_registry(&store);
    let image = busybox();
    let out = service.docker(&store, &["pull", &image]).ok().to_string();
    assert!(
        out.contains("Pulling from") && out.trim_end().ends_with(image.as_str()),
        "{out}"
    );
    // The stream itself: Docker's messages, one JSON object per line.
    let (repo, tag) = image.rsplit_once(':').expect("a tag");
    let (code, body) = raw(
        &service.socket,
        format!(
            "POST /v1.41/images/create?fromImage={repo}&tag={tag} HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(r#""status":"Already exists""#)
            && body.contains(&format!("Status: Downloaded newer image for {image}")),
        "{body}"
    );
    assert_eq!(store.berth(["image", "exists", &image]).code, Some(0));
    let out = service
        .docker(
            &store,
            &["run", "-d", "--name", "pulled", &image, "sleep", "1000"],
        )
        .ok()
        .to_string();
    assert_eq!(out.trim().len(), 64, "{out}");
    service.docker(&store, &["rm", "-f", "pulled"]).ok();
    // docker login goes through /auth: the registry is asked, the answer passed on.
    let login = service
        .docker(
            &store,
            &["login", "-u", "someone", "-p", "secret", registry],
        )
        .ok()
        .to_string();
    assert!(login.contains("Login Succeeded"), "{login}");
    let err = service
        .docker(
            &store,
            &["login", "-u", "someone", "-p", "secret", "127.0.0.1:1"],
        )
        .fails()
        .to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
    let missing = format!("{registry}/berth-test/no-such-image:latest");
    let err = service
        .docker(&store, &["pull", &missing])
        .fails()
        .to_string();
    assert!(err.contains("no-such-image"), "{err}");
    assert_eq!(store.berth(["image", "exists", &missing]).code, Some(1));

    // Search goes through the registry's catalog; Docker's columns come back.
    let out = service
        .docker(&store, &["search", &format!("{registry}/busybox")])
        .ok()
        .to_string();
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(out.starts_with("NAME"), "{out}");
    assert!(
        names.contains(&format!("{registry}/berth-test/busybox").as_str())
            && names.iter().all(|n| n.contains("busybox")),
        "{out}"
    );
    let out = service
        .docker(
            &store,
            &["search", "--limit", "1", &format!("{registry}/berth-test")],
        )
        .ok()
        .to_string();
    assert_eq!(out.lines().count(), 2, "{out}");
    let (code, body) = get(&service.socket, "/images/search?term=127.0.0.1:1/x");
    assert!(code >= 500 && body.contains("127.0.0.1:1"), "{code} {body}");

    // Credentials come in X-Registry-Auth: without them the auth registry refuses.
    let env = berth_e2e::TestEnv::get();
    let private = env.auth_ref("busybox");
    let (repo, tag) = private.rsplit_once(':').expect("a tag");
    let pull = |auth: Option<(&str, &str)>| {
        let header = auth
            .map(|(u, p)| {
                use base64::Engine as _;
                let doc = serde_json::json!({"username": u, "password": p, "serveraddress": env.registry_auth});
                format!(
                    "X-Registry-Auth: {}\r\n",
                    base64::engine::general_purpose::URL_SAFE.encode(doc.to_string())
                )
            })
            .unwrap_or_default();
        raw(
            &service.socket,
            format!(
                "POST /v1.41/images/create?fromImage={repo}&tag={tag} HTTP/1.1\r\nHost: d\r\n{header}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .1
    };
    let body = pull(None);
    assert!(body.contains("authentication required"), "{body}");
    let body = pull(Some((&env.auth_user, "wrong")));
    assert!(body.contains("invalid username or password"), "{body}");
    assert_eq!(store.berth(["image", "exists", &private]).code, Some(1));
    let body = pull(Some((&env.auth_user, &env.auth_pass)));
    assert!(body.contains("Downloaded newer image"), "{body}");
    assert_eq!(store.berth(["image", "exists", &private]).code, Some(0));
}

#[test]
fn docker_volumes_and_networks_go_through_the_socket() {
    let store = store_with_busybox();
    let service = Service::start(&store, "0");
    service.docker(&store, &["volume", "create", "apivol"]).ok();
    let names = service
        .docker(&store, &["volume", "ls", "--format", "{{.Name}}"])
        .ok()
        .to_string();
    assert_eq!(names, "apivol\n");
    let mountpoint = service
        .docker(
            &store,
            &["volume", "inspect", "--format", "{{.Mountpoint}}", "apivol"],
        )
        .ok()
        .to_string();
    assert!(
        mountpoint.starts_with(&store.root().display().to_string()),
        "{mountpoint}"
    );
    let err = service
        .docker(&store, &["volume", "inspect", "nope"])
        .fails()
        .to_string();
    assert!(err.contains("nope"), "{err}");

    let net = format!("apinet{}", std::process::id());
    service.docker(&store, &["network", "create", &net]).ok();
    let listed = service
        .docker(&store, &["network", "ls", "--format", "{{.Name}}"])
        .ok()
        .to_string();
    assert!(listed.lines().any(|l| l == net), "{listed}");
    let image = busybox();
    service
        .docker(
            &store,
            &[
                "run",
                "-d",
                "--name",
                "onnet",
                "--network",
                &net,
                "-v",
                "apivol:/data",
                &image,
                "sh",
                "-c",
                "echo kept > /data/f; exec sleep 1000",
            ],
        )
        .ok();
    let info = service
        .docker(
            &store,
            &["info", "--format", "{{.ContainersRunning}} {{.OSType}}"],
        )
        .ok()
        .to_string();
    assert_eq!(info.trim(), "1 linux");
    service
        .docker(
            &store,
            &["run", "-d", "--name", "joiner", &image, "sleep", "1000"],
        )
        .ok();
    service
        .docker(&store, &["network", "connect", &net, "joiner"])
        .ok();
    let joined = store
        .berth([
            "inspect",
            "--format",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
            "joiner",
        ])
        .ok()
        .to_string();
    assert!(joined.contains(&net), "{joined}");
    service
        .docker(&store, &["network", "disconnect", &net, "joiner"])
        .ok();
    service.docker(&store, &["rm", "-f", "joiner"]).ok();
    let nets = store
        .berth([
            "inspect",
            "--format",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
            "onnet",
        ])
        .ok()
        .to_string();
    assert_eq!(nets.trim(), net);
    let err = service
        .docker(&store, &["volume", "rm", "apivol"])
        .fails()
        .to_string();
    assert!(err.contains("apivol"), "a volume in use stays: {err}");
    service.docker(&store, &["rm", "-f", "onnet"]).ok();
    service.docker(&store, &["network", "rm", &net]).ok();
    service.docker(&store, &["volume", "rm", "apivol"]).ok();
    assert!(service
        .docker(&store, &["volume", "ls", "-q"])
        .ok()
        .is_empty());
    let listed = service
        .docker(&store, &["network", "ls", "--format", "{{.Name}}"])
        .ok()
        .to_string();
    assert!(!listed.lines().any(|l| l == net), "{listed}");
}

#[test]
fn docker_run_attaches_execs_follows_logs_and_copies() {
    let store = store_with_busybox();
    let service = Service::start(&store, "0");
    let image = busybox();

    // Attached runs: output from the first byte, stderr apart, the exit code back.
    for _ in 0..3 {
        let out = service.docker(
            &store,
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
            (Some(3), "out\n", "err\n"),
            "{out}"
        );
    }
    let out = service.docker_in(
        &store,
        &[
            "run",
            "-i",
            "--rm",
            &image,
            "sh",
            "-c",
            "tr a-z A-Z; exit 4",
        ],
        b"piped in\n",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(4), "PIPED IN\n"),
        "{out}"
    );
    let out = service.docker_tty(
        &store,
        &[
            "run",
            "-t",
            "--rm",
            &image,
            "sh",
            "-c",
            "tty; sleep 0.5; stty size; exit 5",
        ],
    );
    assert_eq!(out.code, Some(5), "{out}");
    assert!(
        out.stdout.contains("/dev/pts/0") && out.stdout.contains("30 100"),
        "a terminal of the client's size: {out}"
    );
    assert_eq!(store.berth(["ps", "-aq"]).ok(), "", "--rm removed them all");

    // Exec: exit codes, stdin, a terminal of the client's size.
    service
        .docker(
            &store,
            &[
                "run",
                "-d",
                "--name",
                "box",
                &image,
                "sh",
                "-c",
                "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done",
            ],
        )
        .ok();
    let out = service.docker(&store, &["exec", "box", "sh", "-c", "echo in; exit 7"]);
    assert_eq!((out.code, out.stdout.as_str()), (Some(7), "in\n"), "{out}");
    let out = service.docker_in(&store, &["exec", "-i", "box", "cat"], b"through exec");
    assert_eq!(out.ok(), "through exec");
    let out = service.docker_tty(
        &store,
        &["exec", "-it", "box", "sh", "-c", "tty; stty size; exit 2"],
    );
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stdout.contains("30 100"), "{out}");
    let err = service
        .docker(&store, &["exec", "box", "/no/such/program"])
        .fails()
        .to_string();
    assert!(!err.is_empty());
    service
        .docker(&store, &["exec", "-d", "box", "touch", "/tmp/detached"])
        .ok();
    wait_for("the detached exec", Duration::from_secs(10), || {
        store
            .berth(["exec", "box", "test", "-f", "/tmp/detached"])
            .success()
            .then_some(())
    });

    // logs -f streams new lines as they come.
    let mut c = Command::new("docker");
    c.args(["logs", "-f", "--tail", "1", "box"])
        .envs(service.client_env(&store))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut follower = c.spawn().expect("docker logs -f");
    let mut stdout = follower.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    while seen.iter().filter(|b| **b == b'\n').count() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "logs -f stalled"
        );
        let n = stdout.read(&mut buf).expect("read");
        assert!(n > 0, "logs -f ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    let _ = follower.kill();
    let _ = follower.wait();
    let lines: Vec<u64> = String::from_utf8_lossy(&seen)
        .lines()
        .map(|l| {
            l.trim_start_matches("line")
                .parse()
                .expect("a numbered line")
        })
        .collect();
    assert!(
        lines.windows(2).all(|w| w[1] == w[0] + 1),
        "in order: {lines:?}"
    );

    // cp both ways, a file and a tree.
    let host = store.path().join("cp");
    std::fs::create_dir_all(host.join("tree/sub")).expect("mkdir");
    std::fs::write(host.join("tree/sub/f"), "deep").expect("write");
    std::fs::write(host.join("one.txt"), "one").expect("write");
    let one = host.join("one.txt").display().to_string();
    service.docker(&store, &["cp", &one, "box:/tmp/"]).ok();
    service
        .docker(
            &store,
            &["cp", &host.join("tree").display().to_string(), "box:/tmp/t"],
        )
        .ok();
    let inside = store
        .berth(["exec", "box", "sh", "-c", "cat /tmp/one.txt /tmp/t/sub/f"])
        .ok()
        .to_string();
    assert_eq!(inside, "onedeep");
    late_bytes_after_the_tar_are_read_and_the_connection_stays(&service.socket);
    let late = store
        .berth(["exec", "box", "cat", "/tmp/late.txt"])
        .ok()
        .to_string();
    assert_eq!(late, "late");
    let back = host.join("back");
    service
        .docker(&store, &["cp", "box:/tmp/t", &back.display().to_string()])
        .ok();
    assert_eq!(
        std::fs::read_to_string(back.join("sub/f")).expect("copied back"),
        "deep"
    );
    let hostname = host.join("hostname");
    service
        .docker(
            &store,
            &["cp", "box:/etc/hostname", &hostname.display().to_string()],
        )
        .ok();
    let id = store
        .berth(["inspect", "--format", "{{.Id}}", "box"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(&hostname).expect("hostname").trim(),
        &id[..12]
    );
    let err = service
        .docker(
            &store,
            &["cp", "box:/no/such/file", &host.display().to_string()],
        )
        .fails()
        .to_string();
    assert!(err.contains("/no/such/file"), "{err}");
    let (code, _) = raw(
        &service.socket,
        b"HEAD /containers/box/archive?path=/etc HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 200);
    service.docker(&store, &["rm", "-f", "box"]).ok();
}

#[test]
fn docker_events_df_and_the_rest_of_the_container_and_image_endpoints() {
    let store = store_with_busybox();
    let registry = &berth_e2e::TestEnv::get().registry;
    let service = Service::start_trusting_registry(&store);
    let image = busybox();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();

    let out = service.docker(
        &store,
        &["run", "--name", "evt", &image, "sh", "-c", "exit 2"],
    );
    assert_eq!(out.code, Some(2), "{out}");
    service.docker(&store, &["rename", "evt", "evt2"]).ok();
    service.docker(&store, &["rm", "evt2"]).ok();
    service
        .docker(
            &store,
            &["run", "-d", "--name", "mon", &image, "sleep", "1000"],
        )
        .ok();
    let top = service.docker(&store, &["top", "mon"]).ok().to_string();
    assert!(
        top.lines().nth(1).is_some_and(|l| l.contains("sleep 1000")),
        "{top}"
    );
    let stats = service
        .docker(
            &store,
            &[
                "stats",
                "--no-stream",
                "--format",
                "{{.Name}} {{.PIDs}}",
                "mon",
            ],
        )
        .ok()
        .to_string();
    assert_eq!(stats.trim(), "mon 1");
    service.docker(&store, &["pause", "mon"]).ok();
    let status = service
        .docker(
            &store,
            &["ps", "--format", "{{.Status}}", "--filter", "name=mon"],
        )
        .ok()
        .to_string();
    assert!(status.contains("(Paused)"), "{status}");
    service.docker(&store, &["unpause", "mon"]).ok();
    service
        .docker(&store, &["exec", "mon", "touch", "/newfile"])
        .ok();
    let diff = service.docker(&store, &["diff", "mon"]).ok().to_string();
    assert!(diff.lines().any(|l| l == "A /newfile"), "{diff}");
    let tar = store.path().join("export.tar");
    service
        .docker(&store, &["export", "-o", &tar.display().to_string(), "mon"])
        .ok();
    let listing = cmd::run(
        {
            let mut c = Command::new("tar");
            c.arg("-tf").arg(&tar);
            c
        },
        None,
        Duration::from_secs(30),
    );
    assert!(listing.ok().lines().any(|l| l == "newfile"), "{listing}");

    // Images: inspect, history, save, load, push.
    let id = store
        .berth(["image", "inspect", "--format", "{{.Id}}", &image])
        .ok()
        .trim()
        .to_string();
    let inspected = service
        .docker(
            &store,
            &["image", "inspect", "--format", "{{.Id}} {{.Os}}", &image],
        )
        .ok()
        .to_string();
    assert_eq!(inspected.trim(), format!("sha256:{id} linux"));
    let history = service
        .docker(&store, &["history", "-q", &image])
        .ok()
        .to_string();
    assert!(
        history.lines().next().is_some_and(|l| id.starts_with(l)),
        "{history}"
    );
    let saved = store.path().join("saved.tar");
    let saved_arg = saved.display().to_string();
    service
        .docker(&store, &["save", "-o", &saved_arg, &image])
        .ok();
    service.docker(&store, &["rm", "-f", "mon"]).ok();
    service.docker(&store, &["rmi", &image]).ok();
    assert_eq!(store.berth(["image", "exists", &image]).code, Some(1));
    let loaded = service
        .docker(&store, &["load", "-i", &saved_arg])
        .ok()
        .to_string();
    assert!(loaded.contains("Loaded image"), "{loaded}");
    assert_eq!(store.berth(["image", "exists", &image]).code, Some(0));
    let pushed_ref = format!("{registry}/berth-test/api-pushed:{}", std::process::id());
    service.docker(&store, &["tag", &image, &pushed_ref]).ok();
    let push = service
        .docker(&store, &["push", &pushed_ref])
        .ok()
        .to_string();
    assert!(push.contains("digest: sha256:"), "{push}");
    let fresh = Store::new();
    berth_e2e::fault::pull_plain(&fresh, &pushed_ref, &["-q"]).ok();

    // system df counts what is there.
    let df = service
        .docker(
            &store,
            &["system", "df", "--format", "{{.Type}} {{.TotalCount}}"],
        )
        .ok()
        .to_string();
    assert!(df.lines().any(|l| l == "Images 1"), "{df}");
    assert!(df.lines().any(|l| l == "Containers 0"), "{df}");

    // The events of all that, in order, in Docker's words.
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 1)
    .to_string();
    let events_of = |filter: &str, format: &str| {
        service
            .docker(
                &store,
                &[
                    "events", "--since", &since, "--until", &until, "--filter", filter, "--format",
                    format,
                ],
            )
            .ok()
            .to_string()
    };
    let events = events_of("type=container", "{{.Action}} {{.Actor.Attributes.name}}");
    let seen: Vec<&str> = events.lines().collect();
    let expected = [
        "create evt",
        "start evt",
        "die evt",
        "rename evt2",
        "destroy evt2",
        "create mon",
        "start mon",
        "pause mon",
        "unpause mon",
    ];
    let mut at = 0;
    for e in &seen {
        if at < expected.len() && *e == expected[at] {
            at += 1;
        }
    }
    assert_eq!(at, expected.len(), "events in order: {seen:?}");
    let images = events_of("event=load", "{{.Type}} {{.Action}}");
    assert!(images.lines().any(|l| l == "image load"), "{images}");
    let ours = store
        .berth([
            "events",
            "--stream=false",
            "--filter",
            "event=died",
            "--filter",
            "container=evt",
            "--format",
            "{{.Name}} {{.ContainerExitCode}}",
        ])
        .ok()
        .to_string();
    assert_eq!(ours.trim(), "evt 2");
}

/// Open file descriptors of a process.
/// A `PUT /containers/box/archive` whose chunked body goes on after the tar's end, its
/// last chunk sent only once the server had the whole tar: the server reads and drops
/// the rest, answers, and the same connection then serves the next request. (Cut off
/// there, a client still writing sees a broken pipe instead of the answer.)
fn late_bytes_after_the_tar_are_read_and_the_connection_stays(socket: &std::path::Path) {
    use std::io::Write;
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "late.txt", &b"late"[..])
        .expect("tar");
    let tar = tar.into_inner().expect("tar");
    let mut s = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "PUT /v1.41/containers/box/archive?path=/tmp HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        tar.len()
    )
    .expect("write");
    s.write_all(&tar).expect("write the tar");
    s.write_all(b"\r\n").expect("write");
    // The server has the whole tar (its two zero blocks too) well before this.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let padding = vec![0u8; 8192];
    write!(s, "{:x}\r\n", padding.len()).expect("write");
    s.write_all(&padding).expect("the late chunk is taken");
    s.write_all(b"\r\n0\r\n\r\n")
        .expect("the body's end is taken");
    let answer = read_answer(&mut s);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    write!(s, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n").expect("the connection stays");
    let answer = read_answer(&mut s);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("OK"),
        "{answer}"
    );
}

/// One answer on a kept-alive connection: its head, then a body of Content-Length.
fn read_answer(s: &mut std::os::unix::net::UnixStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return String::from_utf8_lossy(&head).into_owned(),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let length = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).expect("the body");
    text + &String::from_utf8_lossy(&body)
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Mounts whose path lies under `root`.
fn mounts_under(root: &std::path::Path) -> usize {
    let root = root.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(&root)))
        .count()
}

/// Processes whose command line names `needle`.
fn processes_naming(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .count()
}

/// One client's whole cycle over raw HTTP: create, start, wait, remove.
fn cycle(socket: &std::path::Path, image: &str, n: usize) -> Result<(), String> {
    let body = format!(
        r#"{{"Image": "{image}", "Cmd": ["sh", "-c", "exit {}"]}}"#,
        n % 3
    );
    let (code, created) = raw(
        socket,
        format!(
            "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    if code != 201 {
        return Err(format!("create: {code} {created}"));
    }
    let id = created
        .split("\"Id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or(format!("no Id in {created}"))?
        .to_string();
    let post = |path: String| {
        raw(
            socket,
            format!(
                "POST {path} HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
    };
    let (code, out) = post(format!("/v1.41/containers/{id}/start"));
    if code != 204 {
        return Err(format!("start: {code} {out}"));
    }
    let (code, out) = post(format!("/v1.41/containers/{id}/wait"));
    if code != 200 || !out.contains(&format!("\"StatusCode\":{}", n % 3)) {
        return Err(format!("wait: {code} {out}"));
    }
    let (code, out) = raw(
        socket,
        format!("DELETE /v1.41/containers/{id} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    if code != 204 {
        return Err(format!("remove: {code} {out}"));
    }
    Ok(())
}

#[test]
fn a_hundred_clients_at_once_leave_nothing_behind() {
    let store = store_with_busybox();
    let service = Service::start(&store, "0");
    let pid = service.child.id();
    let image = busybox();
    // One cycle first: what the service holds open for good (its runtime, the store).
    cycle(&service.socket, &image, 0).expect("a first cycle");
    let fds = fd_count(pid);
    let mounts = mounts_under(&store.root());
    let run = store.runroot().display().to_string();
    let monitors = processes_naming(&run);

    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|n| {
                let (socket, image) = (&service.socket, &image);
                s.spawn(move || cycle(socket, image, n))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("client thread").err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    // Clients that hang up mid-stream: an events follower, a stats stream, an attach.
    service
        .docker(
            &store,
            &["run", "-d", "--name", "quiet", &image, "sleep", "1000"],
        )
        .ok();
    for path in [
        "/v1.41/events",
        "/v1.41/containers/quiet/stats",
        "/v1.41/containers/quiet/logs?follow=1&stdout=1",
    ] {
        let mut s = std::os::unix::net::UnixStream::connect(&service.socket).expect("connect");
        use std::io::Write;
        write!(s, "GET {path} HTTP/1.1\r\nHost: d\r\n\r\n").expect("write");
        let mut first = [0u8; 64];
        let _ = s.read(&mut first);
    }
    service.docker(&store, &["rm", "-f", "quiet"]).ok();

    // An attach made for a start that never comes is let go once its container is gone
    // (when the next attach is made).
    let attach = |name: &str| {
        use std::io::Write;
        let mut s = std::os::unix::net::UnixStream::connect(&service.socket).expect("connect");
        write!(
            s,
            "POST /v1.41/containers/{name}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        )
        .expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).expect("read") == 1 {
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        s
    };
    for name in ["never-started", "removed-too"] {
        service
            .docker(&store, &["create", "--name", name, &image, "true"])
            .ok();
    }
    let mut abandoned = attach("never-started");
    service.docker(&store, &["rm", "never-started"]).ok();
    let second = attach("removed-too");
    abandoned
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    assert_eq!(abandoned.read(&mut buf).expect("closed, not timed out"), 0);
    drop(second);
    service.docker(&store, &["rm", "removed-too"]).ok();
    let out = service
        .docker(&store, &["run", "--rm", &image, "echo", "attached"])
        .ok()
        .to_string();
    assert_eq!(out, "attached\n");

    assert_eq!(store.berth(["ps", "-aq"]).ok(), "", "no container left");
    wait_for(
        "the service's descriptors to close",
        Duration::from_secs(10),
        || (fd_count(pid) <= fds).then_some(()),
    );
    assert_eq!(mounts_under(&store.root()), mounts, "no mount left");
    wait_for("the monitors to go", Duration::from_secs(10), || {
        (processes_naming(&run) <= monitors).then_some(())
    });
    let sockets: Vec<_> = walk_sockets(&store.runroot().join("containers"));
    assert!(sockets.is_empty(), "no attach socket left: {sockets:?}");
    // Every monitor the service started has been waited for: no zombie of its own.
    wait_for(
        "the service to reap its children",
        Duration::from_secs(10),
        || zombies_of(pid).is_empty().then_some(()),
    );
}

/// The pids of `parent`'s children that have exited and were never waited for.
fn zombies_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // "PID (COMM) STATE PPID ...": the command may hold spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 2..];
            let mut f = after.split(' ');
            let (state, ppid) = (f.next()?, f.next()?.parse::<u32>().ok()?);
            (state == "Z" && ppid == parent)
                .then(|| e.file_name().to_string_lossy().parse().ok())?
        })
        .collect()
}

/// Unix sockets under `dir`.
fn walk_sockets(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            out.extend(walk_sockets(&e.path()));
        } else if t.is_socket() {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn socket_activation_tcp_on_request_and_the_systemd_units() {
    let store = Store::new();
    // systemd's socket activation: the socket made by the activator, the service
    // started on the first connection, gone again when idle.
    let socket = store.path().join("activated.sock");
    let env = berth_e2e::TestEnv::get();
    let mut activator = Command::new("systemd-socket-activate");
    activator
        .arg("-l")
        .arg(&socket)
        .arg(&env.berth_bin)
        .args(store.args())
        .args(["system", "service", "--time", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut activator = activator.spawn().expect("systemd-socket-activate");
    wait_for("the activated socket", Duration::from_secs(10), || {
        socket.exists().then_some(())
    });
    let (code, body) = get(&socket, "/_ping");
    assert_eq!((code, body.as_str()), (200, "OK"));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = activator.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still serving when idle"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");

    // TCP only when asked, with a warning; a host name is refused.
    let port = berth_e2e::net::free_port();
    let mut tcp = store
        .command([
            "system",
            "service",
            "--time",
            "0",
            &format!("tcp://127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcp service");
    let addr = ([127, 0, 0, 1], port).into();
    wait_for("the TCP service", Duration::from_secs(10), || {
        berth_e2e::net::http_get(addr, "/_ping").filter(|b| b.ends_with("OK"))
    });
    let _ = tcp.kill();
    let out = tcp.wait_with_output().expect("tcp output");
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("without authentication"), "{warning}");
    let err = store
        .berth(["system", "service", "tcp://localhost:1"])
        .fails_with(125)
        .to_string();
    assert!(err.contains("IP address"), "{err}");

    // The units as installed pass systemd's own check.
    let units = format!("{}/../installer/systemd", env!("CARGO_MANIFEST_DIR"));
    for dir in [units.clone(), format!("{units}/user")] {
        let mut c = Command::new("systemd-analyze");
        c.args([
            "verify",
            &format!("{dir}/berth.socket"),
            &format!("{dir}/berth.service"),
        ]);
        let out = cmd::run(c, None, Duration::from_secs(60));
        assert!(
            out.success() && out.stderr.trim().is_empty(),
            "{dir}: {out}"
        );
    }
}
