//! A `berth system service` for the API tests, and the clients that talk to it:
//! the docker CLI (plain, with stdin, under a terminal) and raw HTTP exchanges.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::containers::wait_for;
use crate::{cmd, CmdResult, Store};

/// A running `system service` on a socket in the store; killed on drop.
pub struct Service {
    pub child: Child,
    pub socket: PathBuf,
}

impl Service {
    pub fn start(store: &Store, time: &str) -> Service {
        Service::start_with(store, time, &[])
    }

    /// Whose engine reaches the harness's plain-HTTP registry and its basic-auth one
    /// (both insecure in a registries.conf of the store's own).
    pub fn start_trusting_registry(store: &Store) -> Service {
        let env = crate::TestEnv::get();
        let conf = store.path().join("registries.conf");
        let entries: String = [&env.registry, &env.registry_auth]
            .iter()
            .map(|r| format!("[[registry]]\nlocation = \"{r}\"\ninsecure = true\n"))
            .collect();
        std::fs::write(&conf, entries).expect("write registries.conf");
        let conf = conf.display().to_string();
        Service::start_with(store, "0", &["--registries-conf", &conf])
    }

    /// With global options (`--registries-conf F`) before `system service`.
    pub fn start_with(store: &Store, time: &str, globals: &[&str]) -> Service {
        let socket = store.path().join("api.sock");
        let uri = format!("unix://{}", socket.display());
        let mut args: Vec<&str> = globals.to_vec();
        args.extend(["system", "service", "--time", time, &uri]);
        let child = store
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting berth system service");
        wait_for("the API socket", Duration::from_secs(10), || {
            UnixStream::connect(&socket).ok().map(|_| ())
        });
        Service { child, socket }
    }

    /// What a client needs to find this service: `DOCKER_HOST`, and a docker config
    /// of the store's own.
    pub fn client_env(&self, store: &Store) -> Vec<(String, String)> {
        vec![
            (
                "DOCKER_HOST".into(),
                format!("unix://{}", self.socket.display()),
            ),
            (
                "DOCKER_CONFIG".into(),
                store.home().join(".docker").display().to_string(),
            ),
        ]
    }

    /// The docker CLI against this service.
    pub fn docker(&self, store: &Store, args: &[&str]) -> CmdResult {
        let mut c = Command::new("docker");
        c.args(args)
            .envs(self.client_env(store))
            .env_remove("DOCKER_CONTEXT");
        cmd::run(c, None, Duration::from_secs(60))
    }
}

impl Service {
    /// The docker CLI with `input` on its stdin.
    pub fn docker_in(&self, store: &Store, args: &[&str], input: &[u8]) -> CmdResult {
        let mut c = Command::new("docker");
        c.args(args)
            .envs(self.client_env(store))
            .env_remove("DOCKER_CONTEXT");
        cmd::run(c, Some(input), Duration::from_secs(60))
    }

    /// The docker CLI under `script`, on a 30x100 terminal.
    pub fn docker_tty(&self, store: &Store, args: &[&str]) -> CmdResult {
        let line = format!(
            "stty rows 30 cols 100; docker {}",
            args.iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"])
            .envs(self.client_env(store))
            .env_remove("DOCKER_CONTEXT");
        cmd::run(c, None, Duration::from_secs(60))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 exchange on the socket: (status code, body).
pub fn raw(socket: &Path, request: &[u8]) -> (u16, String) {
    let mut s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (code, body)
}

pub fn get(socket: &Path, path: &str) -> (u16, String) {
    raw(
        socket,
        format!("GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}
