//! Starting a container's monitor and reading what it reports. The monitor is the
//! separate `berth-monitor` binary (see that crate): the engine hands it a
//! [`MonitorConfig`] and reads `ready` / `started` / `error` lines from its standard
//! output. Its exit command and health checks are this `berth` binary, run with
//! hidden verbs.

pub use berth_monitor::config::{
    LogConfig, MonitorConfig, Periodic, Report, RunDir, RuntimeCommand, Started,
};
pub use berth_monitor::process::{alive as process_alive, start_ticks as process_start_ticks};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A program shipped with Berth: next to the running binary, in `../libexec/berth/`
/// beside it (where install.sh puts the monitor), else on `PATH`.
pub fn companion_binary(name: &str) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.file_name().is_some_and(|n| n == name) {
        return Ok(exe);
    }
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(dir) = exe.parent() {
        places.push(dir.join(name));
        places.push(dir.join("../libexec/berth").join(name));
    }
    places.extend(
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(name)),
    );
    places
        .into_iter()
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{name} not found next to {} or on PATH: reinstall Berth",
                    exe.display()
                ),
            )
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A started monitor whose reports are still to be read.
pub struct Spawned {
    reports: BufReader<std::process::ChildStdout>,
    /// The monitor's pid.
    pub pid: u32,
    /// The monitor itself, whatever becomes of its pid: readable once it has exited.
    pidfd: Option<rustix::fd::OwnedFd>,
}

/// Starts a monitor for `cfg`; read its reports with [`Spawned::next_report`].
pub fn spawn(cfg: &MonitorConfig) -> io::Result<Spawned> {
    let arg = serde_json::to_string(cfg).map_err(io::Error::other)?;
    // The monitor never waits for us, and setsid detaches it from our terminal. It is
    // our child: a thread waits for it, so that a long-lived caller (the API service)
    // is left no zombie when the container is gone.
    let mut child = Command::new(companion_binary("berth-monitor")?)
        .arg(&arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no pipe to the container monitor"))?;
    let pid = child.id();
    // Opened before anything can reap it, so it names this process and no other.
    let pidfd = rustix::process::Pid::from_raw(pid as i32)
        .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok());
    std::thread::Builder::new()
        .name("monitor-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        })?;
    Ok(Spawned {
        reports: BufReader::new(out),
        pid,
        pidfd,
    })
}

impl Spawned {
    /// The monitor's next report; an error when it exits without one.
    pub fn next_report(&mut self) -> io::Result<Report> {
        let mut line = String::new();
        self.reports.read_line(&mut line)?;
        Report::parse(&line).ok_or_else(|| {
            io::Error::other("the container monitor exited before the container was started")
        })
    }

    /// Waits (bounded) until the monitor, and the exit command it became, have finished.
    pub fn wait_finished(&self, limit: std::time::Duration) {
        let Some(fd) = &self.pidfd else {
            return;
        };
        let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let t = rustix::event::Timespec {
            tv_sec: limit.as_secs() as _,
            tv_nsec: limit.subsec_nanos() as _,
        };
        let _ = rustix::event::poll(&mut fds, Some(&t));
    }
}

/// Used by `kill`: sends a signal to a pid (a stale monitor, for instance).
pub fn signal(pid: i64, sig: rustix::process::Signal) -> io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| io::Error::other("invalid pid"))?;
    rustix::process::kill_process(pid, sig).map_err(io::Error::from)
}
