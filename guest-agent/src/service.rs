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
    let group_file = std::fs::read_to_string("/etc/group").context("reading /etc/group")?;
    let groups = groups_of(&doc.username, gid, &group_file);
    // The user's environment, as a login has it: the same XDG_RUNTIME_DIR puts the
    // service's run root and rootless namespaces where the user's own `berth` finds
    // them.
    let mut c = Command::new(BERTH);
    become_user(&mut c, uid, gid, groups);
    c.args(["system", "service", "--time", "0"])
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

/// The user's groups as a login has them (initgroups(3)): its own group, and each
/// group of `group_file` (/etc/group) that names it as a member.
fn groups_of(user: &str, gid: u32, group_file: &str) -> Vec<u32> {
    let mut groups = vec![gid];
    for line in group_file.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || !f[3].split(',').any(|m| m.trim() == user) {
            continue;
        }
        if let Ok(g) = f[2].parse::<u32>() {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    groups
}

/// Makes `c` run as the user: its groups, group and user id set in the child before
/// the exec (no `setpriv` process in between: a process start costs a tenth of a
/// second or more under emulation).
fn become_user(c: &mut Command, uid: u32, gid: u32, groups: Vec<u32>) {
    use rustix::process::{Gid, Uid};
    let groups: Vec<Gid> = groups.into_iter().map(Gid::from_raw).collect();
    // SAFETY: between fork and exec the child only makes the setgroups, setresgid and
    // setresuid system calls (rustix's, not libc's: no lock, no allocation) on values
    // made before the fork. The child has one thread, so the per-thread calls cover it.
    #[allow(unsafe_code)]
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(move || {
            let (g, u) = (Gid::from_raw(gid), Uid::from_raw(uid));
            rustix::thread::set_thread_groups(&groups)?;
            rustix::thread::set_thread_res_gid(g, g, g)?;
            rustix::thread::set_thread_res_uid(u, u, u)?;
            Ok(())
        });
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_groups_are_its_own_and_those_naming_it() {
        let group = "root:x:0:\nusers:x:100:core,other\nwheel:x:10:other\nkvm:x:104: core \ncore:x:1000:\nbroken\nbad:x:notanumber:core\n";
        assert_eq!(groups_of("core", 1000, group), [1000, 100, 104]);
        assert_eq!(groups_of("nobody", 65534, group), [65534]);
        // A name is matched whole, not as a prefix.
        assert_eq!(groups_of("cor", 1000, group), [1000]);
    }
}
