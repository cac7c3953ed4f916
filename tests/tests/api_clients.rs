//! Real API clients from PyPI against `berth system service`, unchanged: docker-py's
//! suite (tests/py/docker_py_suite.py), podman-py's through the Libpod API
//! (tests/py/podman_py_suite.py), and docker compose v2 bringing up two services on a
//! user network with a named volume, a published port and depends_on.

use std::process::Command;
use std::time::Duration;

use berth_e2e::containers::{busybox, store_with_busybox, wait_for};
use berth_e2e::net::{free_port, http_get};
use berth_e2e::service::{get, raw, Service};
use berth_e2e::{cmd, CmdResult, Store, TestEnv};

fn venv_bin(name: &str) -> String {
    TestEnv::get()
        .venv
        .join("bin")
        .join(name)
        .display()
        .to_string()
}

fn suite(name: &str) -> String {
    format!("{}/py/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn docker_py_drives_containers_images_networks_volumes_exec_and_attach() {
    let store = store_with_busybox();
    let service = Service::start_trusting_registry(&store);
    let mut c = Command::new(venv_bin("python"));
    c.arg(suite("docker_py_suite.py"))
        .envs(service.client_env(&store))
        .env("BERTH_IMAGE", busybox());
    let out = cmd::run(c, None, Duration::from_secs(300));
    assert!(
        out.success() && out.stdout.contains("docker-py: 29 checks ok"),
        "{out}"
    );
    assert_eq!(
        store.berth(["ps", "-aq"]).ok(),
        "",
        "the suite left nothing"
    );
}

#[test]
fn podman_py_drives_containers_images_pods_volumes_and_networks() {
    let store = store_with_busybox();
    let service = Service::start_trusting_registry(&store);
    let mut c = Command::new(venv_bin("python"));
    c.arg(suite("podman_py_suite.py"))
        .env("BERTH_URL", format!("unix://{}", service.socket.display()))
        .env("BERTH_IMAGE", busybox());
    let out = cmd::run(c, None, Duration::from_secs(300));
    assert!(
        out.success() && out.stdout.contains("podman-py: 28 checks ok"),
        "{out}"
    );
    assert_eq!(
        store.berth(["ps", "-aq"]).ok(),
        "",
        "the suite left nothing"
    );
    assert_eq!(store.berth(["pod", "ps", "-q"]).ok(), "");

    // Libpod's errors: Podman's body, and nothing made.
    let (code, body) = get(&service.socket, "/v5.0.0/libpod/containers/nothing/json");
    assert_eq!(code, 404, "{body}");
    assert!(
        body.contains(r#""message":"No such container: nothing""#),
        "{body}"
    );
    let (code, body) = get(&service.socket, "/v5.0.0/libpod/images/nothing/exists");
    assert_eq!(code, 404, "{body}");
    let bad = r#"{"image": "x", "portmappings": [{"container_port": 0}]}"#;
    let (code, body) = raw(
        &service.socket,
        format!(
            "POST /v5.0.0/libpod/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bad}",
            bad.len()
        )
        .as_bytes(),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("container_port"), "{body}");
    let (code, body) = raw(
        &service.socket,
        b"POST /v5.0.0/libpod/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope",
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(store.berth(["ps", "-aq"]).ok(), "");
}

/// `docker compose -p PROJECT ARGS` in `dir`, against the service.
fn compose(service: &Service, store: &Store, dir: &std::path::Path, args: &[&str]) -> CmdResult {
    let mut c = Command::new(venv_bin("docker-compose"));
    c.arg("-p")
        .arg("berthproj")
        .args(args)
        .current_dir(dir)
        .envs(service.client_env(store));
    cmd::run(c, None, Duration::from_secs(180))
}

#[test]
fn docker_compose_brings_up_serves_and_takes_down_two_services() {
    let store = store_with_busybox();
    let service = Service::start(&store, "0");
    let dir = store.path().join("project");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let port = free_port();
    let image = busybox();
    std::fs::write(
        dir.join("compose.yaml"),
        format!(
            r#"services:
  web:
    image: {image}
    command: ["sh", "-c", "echo $$GREETING > /www/index.html; exec httpd -f -p 8080 -h /www"]
    environment:
      GREETING: hello-compose
    volumes:
      - data:/www
    ports:
      - "127.0.0.1:{port}:8080"
    networks: [appnet]
  probe:
    image: {image}
    depends_on: [web]
    command: ["sh", "-c", "while true; do wget -qO- http://web:8080/; sleep 0.5; done"]
    networks: [appnet]
networks:
  appnet: {{}}
volumes:
  data: {{}}
"#
        ),
    )
    .expect("write compose.yaml");

    let up = compose(&service, &store, &dir, &["up", "-d"]);
    assert!(up.success(), "{up}");
    let ps = compose(
        &service,
        &store,
        &dir,
        &["ps", "--format", "{{.Service}} {{.State}}"],
    );
    assert_eq!(ps.ok(), "probe running\nweb running\n");
    // The web service serves on the host; the probe reaches it by name.
    wait_for("the published port", Duration::from_secs(20), || {
        http_get(([127, 0, 0, 1], port).into(), "/").filter(|b| b.contains("hello-compose"))
    });
    wait_for("the probe's log", Duration::from_secs(20), || {
        let logs = compose(&service, &store, &dir, &["logs", "probe"]);
        logs.stdout.contains("hello-compose").then_some(())
    });
    let exec = compose(
        &service,
        &store,
        &dir,
        &["exec", "-T", "web", "cat", "/www/index.html"],
    );
    assert_eq!(exec.ok(), "hello-compose\n");
    let volumes = store.berth(["volume", "ls", "-q"]).ok().to_string();
    assert_eq!(volumes, "berthproj_data\n");

    let down = compose(&service, &store, &dir, &["down", "-v", "-t", "0"]);
    assert!(down.success(), "{down}");
    assert_eq!(store.berth(["ps", "-aq"]).ok(), "");
    assert_eq!(store.berth(["volume", "ls", "-q"]).ok(), "");
    let nets = store
        .berth(["network", "ls", "--format", "{{.Name}}"])
        .ok()
        .to_string();
    assert!(!nets.contains("berthproj"), "{nets}");
}
