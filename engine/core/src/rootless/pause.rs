//! The pause process that holds a rootless user's namespaces, and joining them.
//!
//! The first rootless `berth` starts `berth __rootless-pause`, which unshares a user
//! and a mount namespace and waits; the starter maps the user and its subordinate
//! ranges into it with newuidmap/newgidmap, the pause process makes its mounts private
//! to it (slave of the host) and stays, its pid in `$XDG_RUNTIME_DIR/berth/pause.pid`.
//! Every rootless `berth` joins its namespaces with setns before doing anything else
//! (a process must be single-threaded to join a user namespace).

use super::subid;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `$XDG_RUNTIME_DIR/berth` (or a private directory under /tmp).
fn run_dir() -> PathBuf {
    // Inside the namespace the user is 0: name the directory after the host uid.
    let uid = super::host_uid().unwrap_or(rustix::process::getuid().as_raw());
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| std::env::temp_dir().join(format!("berth-run-{uid}")))
        .join("berth")
}

fn pid_file() -> PathBuf {
    run_dir().join("pause.pid")
}

/// The user's name, from /etc/passwd (or $USER).
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.get(2)?.parse::<u32>().ok()? == uid).then(|| f[0].to_string())
            })
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| uid.to_string())
}

fn join(pid: i32) -> io::Result<()> {
    let user = std::fs::File::open(format!("/proc/{pid}/ns/user"))?;
    let mnt = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))?;
    rustix::thread::move_into_link_name_space(
        user.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::User),
    )?;
    rustix::thread::move_into_link_name_space(
        mnt.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Mount),
    )?;
    Ok(())
}

fn live_pause() -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains("__rootless-pause")
        .then_some(pid)
}

fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").map_or(true, |d| d.count() <= 1)
}

/// Joins the user's namespaces, starting the pause process first if there is none.
/// A no-op for root and for a process already inside.
pub fn enter() -> Result<(), String> {
    if rustix::process::geteuid().is_root() {
        return Ok(());
    }
    if !single_threaded() {
        return Err(
            "rootless: cannot join the user namespace from a multi-threaded process".into(),
        );
    }
    std::fs::create_dir_all(run_dir())
        .map_err(|e| format!("creating {}: {e}", run_dir().display()))?;
    let _lock = crate::store::lock::FileLock::exclusive(&run_dir().join("pause.lock"))
        .map_err(|e| format!("locking {}: {e}", run_dir().display()))?;
    let pid = match live_pause() {
        Some(pid) => pid,
        None => start_pause()?,
    };
    join(pid).map_err(|e| format!("joining the rootless namespaces of process {pid}: {e}"))
}

/// `system migrate`: stops the pause process, so the next `berth` makes the namespaces
/// anew (with the subordinate ranges as they are now). Returns whether one ran.
pub fn stop() -> bool {
    let Some(pid) = live_pause().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    let _ = std::fs::remove_file(pid_file());
    true
}

/// One mapping line set for newuidmap/newgidmap: the user as 0, its ranges from 1.
fn mapping_args(id: u32, ranges: &[subid::Range]) -> Vec<String> {
    let mut args = vec!["0".to_string(), id.to_string(), "1".to_string()];
    let mut next = 1u32;
    for r in ranges {
        args.extend([next.to_string(), r.start.to_string(), r.count.to_string()]);
        next = next.saturating_add(r.count);
    }
    args
}

/// Starts `tool` (newuidmap or newgidmap) on the pause process `pid`.
fn spawn_map(tool: &str, pid: u32, args: &[String]) -> Result<std::process::Child, String> {
    Command::new(tool)
        .arg(pid.to_string())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {tool}: {e}: install the uidmap package"))
}

fn finish_map(
    tool: &str,
    pid: u32,
    args: &[String],
    child: std::process::Child,
) -> Result<(), String> {
    let out = child
        .wait_with_output()
        .map_err(|e| format!("running {tool}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{tool} {pid} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Maps the pause process's user and group IDs: newuidmap and newgidmap run at once
/// (each is a process start, a slow one under emulation); both are waited for.
fn map_ids(pid: u32, uids: &[String], gids: &[String]) -> Result<(), String> {
    let uid = spawn_map("newuidmap", pid, uids)?;
    let gid = spawn_map("newgidmap", pid, gids);
    let uid = finish_map("newuidmap", pid, uids, uid);
    let gid = gid.and_then(|c| finish_map("newgidmap", pid, gids, c));
    uid.and(gid)
}

fn start_pause() -> Result<i32, String> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let name = user_name(uid);
    let subuids = subid::ranges(Path::new("/etc/subuid"), &name, uid, "--add-subuids")?;
    let subgids = subid::ranges(Path::new("/etc/subgid"), &name, uid, "--add-subgids")?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("__rootless-pause")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the rootless pause process: {e}"))?;
    let (mut to, mut from) = (
        child.stdin.take().ok_or("no pipe to the pause process")?,
        child
            .stdout
            .take()
            .ok_or("no pipe from the pause process")?,
    );
    let mut byte = [0u8; 1];
    let step = |from: &mut std::process::ChildStdout, want: u8, byte: &mut [u8; 1]| {
        match from.read(byte) {
            Ok(1) if byte[0] == want => Ok(()),
            _ => Err("the rootless pause process could not make its namespaces (are user namespaces enabled?)".to_string()),
        }
    };
    step(&mut from, b'u', &mut byte)?;
    let pid = child.id();
    map_ids(
        pid,
        &mapping_args(uid, &subuids),
        &mapping_args(gid, &subgids),
    )?;
    to.write_all(b"m").map_err(|e| e.to_string())?;
    step(&mut from, b'r', &mut byte)?;
    crate::store::fsutil::write_atomic(&pid_file(), pid.to_string().as_bytes(), 0o600)
        .map_err(|e| e.to_string())?;
    // It outlives us: never waited for.
    std::mem::forget(child);
    Ok(pid as i32)
}

/// `berth __rootless-pause`: makes the namespaces, reports on stdout, then waits forever.
pub fn pause_main() -> i32 {
    // SAFETY: called first thing in main, single-threaded: unsharing the user and mount
    // namespaces affects nothing std relies on.
    #[allow(unsafe_code)]
    let made = unsafe {
        rustix::thread::unshare_unsafe(
            rustix::thread::UnshareFlags::NEWUSER | rustix::thread::UnshareFlags::NEWNS,
        )
    };
    if made.is_err() {
        return 1;
    }
    let mut out = io::stdout();
    if out.write_all(b"u").and_then(|_| out.flush()).is_err() {
        return 1;
    }
    let mut byte = [0u8; 1];
    if !matches!(io::stdin().read(&mut byte), Ok(1) if byte[0] == b'm') {
        return 1;
    }
    // Mounts made in here stay in here; the host's still show through.
    let _ = rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::DOWNSTREAM
            | rustix::mount::MountPropagationFlags::REC,
    );
    if out.write_all(b"r").and_then(|_| out.flush()).is_err() {
        return 1;
    }
    if let Ok(null) = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
    }
    let _ = rustix::process::setsid();
    loop {
        std::thread::park();
    }
}
