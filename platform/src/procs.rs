//! The host processes of a running machine (QEMU, vhost-device-vsock, virtiofsd, the
//! forwarder): started detached in their own process group with their output in the
//! runtime folder, known by pid files, checked and stopped by pid.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, test_kill_process, Pid, Signal};

fn pid_of(file: &Path) -> Option<Pid> {
    let text = fs::read_to_string(file).ok()?;
    text.trim().parse::<i32>().ok().and_then(Pid::from_raw)
}

/// The live process a pid file names, if it is still one of the machine's: its command
/// line names the pid file's folder (the runtime folder) or is the forwarder's. A pid
/// reused by some other process since is not ours, and is never signalled.
fn ours(file: &Path) -> Option<Pid> {
    let pid = pid_of(file)?;
    if test_kill_process(pid).is_err() || zombie(pid) {
        return None;
    }
    let cmdline = cmdline(pid)?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    let dir = file.parent()?.to_string_lossy().into_owned();
    (cmdline.contains(dir.as_str()) || cmdline.contains("__forward")).then_some(pid)
}

/// The command line of `pid`. A process inside `execve` (just spawned: its parent goes
/// on once the new program is mapped, before its arguments are) shows an empty one for
/// a moment; that is waited out, for up to a second.
fn cmdline(pid: Pid) -> Option<Vec<u8>> {
    let path = format!("/proc/{}/cmdline", pid.as_raw_nonzero());
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let line = fs::read(&path).ok()?;
        if !line.is_empty() || Instant::now() > deadline {
            return Some(line);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether the process in `file` is alive (and still the machine's).
pub fn alive(file: &Path) -> bool {
    ours(file).is_some()
}

/// A zombie is a process that ended but was not reaped yet.
fn zombie(pid: Pid) -> bool {
    fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero()))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|r| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Starts `cmd` detached (its own process group, no terminal), its output appended to
/// `log`; writes its pid to `pid_file`.
pub fn spawn(cmd: &mut Command, log: &Path, pid_file: &Path) -> std::io::Result<u32> {
    use std::os::unix::process::CommandExt;
    let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .map_err(|e| {
            std::io::Error::new(e.kind(), format!("starting {:?}: {e}", cmd.get_program()))
        })?;
    let pid = child.id();
    fs::write(pid_file, format!("{pid}\n"))?;
    // Reaped by a thread of ours while we live; by init once we exit.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(pid)
}

/// Sends `signal` to the process in `file`; true if it was alive.
pub fn signal(file: &Path, signal: Signal) -> bool {
    match ours(file) {
        Some(p) => kill_process(p, signal).is_ok(),
        None => false,
    }
}

/// Ends the process in `file`: SIGTERM, then SIGKILL after `grace`. Removes the file.
pub fn stop(file: &Path, grace: Duration) {
    if signal(file, Signal::TERM) {
        let deadline = Instant::now() + grace;
        while alive(file) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if alive(file) {
            signal(file, Signal::KILL);
        }
    }
    let _ = fs::remove_file(file);
}

/// Waits until `path` exists (a socket a process makes), or the deadline passes.
pub fn wait_for_path(path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The last lines of a log, for an error message.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

/// `NAME.pid` in the runtime folder.
pub fn pid_file(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(format!("{name}.pid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_processes_are_seen_and_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid = pid_file(dir.path(), "sleeper");
        // The runtime folder in its command line, as the machine's processes have it
        // (as its name: a shell given it as an argument may exec `sleep` in its place).
        use std::os::unix::process::CommandExt;
        spawn(
            Command::new("sleep").arg0(dir.path()).arg("30"),
            &dir.path().join("log"),
            &pid,
        )
        .expect("spawn");
        assert!(alive(&pid));
        stop(&pid, Duration::from_secs(5));
        assert!(!pid.exists());
        std::fs::write(&pid, "999999999\n").expect("write");
        assert!(!alive(&pid));
        // A live process that is not the machine's (this test itself) is left alone.
        std::fs::write(&pid, format!("{}\n", std::process::id())).expect("write");
        assert!(!alive(&pid));
        assert!(!signal(&pid, Signal::TERM));
    }
}
