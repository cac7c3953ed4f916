//! `PrivateRegistry`: a docker-registry of a test's own (plain HTTP, own
//! storage, free 127.0.0.1 port, killed on drop), to push test images into and
//! then corrupt, truncate or delete its blobs to inject faults.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::cmd;
use crate::env::{images, TestEnv};
use crate::images::strip_algo;

/// A running docker-registry that only this test uses.
pub struct PrivateRegistry {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl PrivateRegistry {
    /// Starts a registry and waits until it answers on /v2/.
    pub fn start() -> PrivateRegistry {
        for _ in 0..5 {
            let dir = tempfile::Builder::new()
                .prefix("berth-registry-")
                .tempdir()
                .expect("creating a registry temp dir");
            let port = free_port();
            let config = dir.path().join("config.yml");
            fs::write(&config, config_yml(port, &dir.path().join("storage")))
                .expect("writing registry config");
            let log =
                fs::File::create(dir.path().join("registry.log")).expect("creating registry log");
            let err = log.try_clone().expect("cloning registry log handle");
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn()
                .expect("starting docker-registry (apt-get install docker-registry)");
            let mut registry = PrivateRegistry { child, port, dir };
            if registry.wait_ready() {
                return registry;
            }
            // Lost the port to another process, most likely: try another one.
            eprintln!(
                "private registry on port {port} did not start:\n{}",
                registry.log()
            );
            // Dropping it kills it and removes its directory.
        }
        panic!("docker-registry did not start on any of 5 ports");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if http_status(&self.addr(), "/v2/") == Some(200) {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT/REPO:TAG`, a reference to pull.
    pub fn image_ref(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.addr())
    }

    /// The registry's storage root (distribution's filesystem driver layout).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// What the registry logged so far (access log included).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Pushes test image `image` (a name from manifest.json) as `repo_tag`
    /// (e.g. `berth-test/busybox:latest`) with its exact digests, every
    /// platform of an index included. Returns the reference to pull.
    pub fn push(&self, image: &str, repo_tag: &str) -> String {
        let info = images().get(image);
        let layout = TestEnv::get().images_dir.join(image);
        let dest = self.image_ref(repo_tag);
        let mut skopeo = Command::new("skopeo");
        skopeo.args([
            "--insecure-policy",
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ]);
        if info.is_index() {
            skopeo.arg("--all");
        }
        skopeo
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{dest}"));
        cmd::run(skopeo, None, cmd::timeout()).ok();
        dest
    }

    /// The file holding blob `digest` (`sha256:...`) in this registry's storage;
    /// overwrite, truncate or delete it to make the registry serve a bad blob.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        blob_data_path(&self.storage(), digest)
    }
}

impl Drop for PrivateRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where distribution's filesystem driver keeps a blob under `storage`:
/// `docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`.
pub fn blob_data_path(storage: &Path, digest: &str) -> PathBuf {
    let hex = strip_algo(digest);
    assert!(
        hex.len() > 2 && digest.starts_with("sha256:"),
        "not a sha256 digest: {digest}"
    );
    storage
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

fn config_yml(port: u16, storage: &Path) -> String {
    format!(
        "version: 0.1\n\
         log: {{level: info, accesslog: {{disabled: false}}}}\n\
         storage:\n  filesystem: {{rootdirectory: \"{}\"}}\n  delete: {{enabled: true}}\n  \
         maintenance: {{uploadpurging: {{enabled: false}}}}\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: berth-test-secret\n",
        storage.display()
    )
}

/// A 127.0.0.1 port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener
        .local_addr()
        .expect("local address of a bound socket")
        .port()
}

/// The status code of `GET path` on `addr`, or `None` if nothing answered.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
