//! The engine's API service in the guest: `berth system service` as root on
//! /run/berth/berth.sock (rootful machines) or as the user on its runtime folder's
//! socket (rootless), started, waited for until it answers, and restarted if it dies.

use crate::provision::user_ids;
use anyhow::{bail, Context};
use berth_types::machine::{Provision, API_PORT};
use std::io::{Read, Write};
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const BERTH: &str = "/usr/local/bin/berth";

/// Whether the API on `socket` answers `/_ping`.
pub fn answers(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: berth\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.") && reply.contains(" 200 ")
}

/// The service serves the host's API connections itself, on the API's vsock port: no
/// relay in between, each connection's bytes handled once in the guest.
fn host_port() -> [String; 2] {
    ["--machine-vsock".into(), API_PORT.to_string()]
}

/// The command serving the API, and its socket.
fn command(doc: &Provision) -> anyhow::Result<(Command, PathBuf)> {
    if doc.rootful {
        let socket = PathBuf::from("/run/berth/berth.sock");
        let mut c = Command::new(BERTH);
        c.args(["system", "service", "--time", "0"])
            .args(host_port())
            .arg(format!("unix://{}", socket.display()));
        return Ok((c, socket));
    }
    let (uid, gid, home) = user_ids(&doc.username)?;
    let runtime = PathBuf::from(format!("/run/user/{uid}"));
    std::fs::create_dir_all(&runtime).with_context(|| format!("creating {}", runtime.display()))?;
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))?;
    chown(&runtime, Some(uid), Some(gid))?;
    // The user's logins find the same runtime folder, hence the same store and service.
    std::fs::write(
        "/etc/environment",
        format!("XDG_RUNTIME_DIR={}\n", runtime.display()),
    )
    .context("writing /etc/environment")?;
    let socket = runtime.join("berth/berth.sock");
    // The user's environment, as a login has it: the same XDG_RUNTIME_DIR puts the
    // service's run root and rootless namespaces where the user's own `berth` finds
    // them (setpriv's --reset-env would drop it).
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid",
        &uid.to_string(),
        "--regid",
        &gid.to_string(),
        "--init-groups",
        "--",
    ])
    .arg(BERTH)
    .args(["system", "service", "--time", "0"])
    .args(host_port())
    .arg(format!("unix://{}", socket.display()))
    .env_clear()
    .env("HOME", &home)
    .env("USER", &doc.username)
    .env("LOGNAME", &doc.username)
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .env("XDG_RUNTIME_DIR", &runtime);
    Ok((c, socket))
}

fn spawn(c: &mut Command) -> anyhow::Result<Child> {
    c.spawn().with_context(|| format!("starting {c:?}"))
}

/// Starts the service, waits until it answers, and keeps it running; returns its socket.
pub fn start(doc: &Provision) -> anyhow::Result<PathBuf> {
    let (mut cmd, socket) = command(doc)?;
    let mut child = spawn(&mut cmd)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers(&socket) {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the API service exited ({status}) before answering on {}",
                socket.display()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the API service did not answer on {} in 120 s",
                socket.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::spawn(move || loop {
        let status = child.wait();
        crate::say(&format!(
            "the API service exited ({status:?}); restarting it"
        ));
        std::thread::sleep(Duration::from_secs(1));
        match spawn(&mut cmd) {
            Ok(c) => child = c,
            Err(e) => {
                crate::say(&format!("{e:#}"));
                return;
            }
        }
    });
    Ok(socket)
}
