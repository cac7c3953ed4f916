//! What the engine tells the monitor, as one JSON argument, and the lines the monitor
//! answers on its standard output while the container starts.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The OCI runtime binary and its state directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuntimeCommand {
    /// `runc` or `crun`, for messages.
    pub name: String,
    pub path: PathBuf,
    /// The runtime's `--root`.
    pub root: PathBuf,
    /// Further global flags (`--systemd-cgroup`).
    #[serde(default)]
    pub flags: Vec<String>,
}

/// Where the container's output is stored (absent for `--log-driver none`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogConfig {
    pub path: PathBuf,
    pub max_size: Option<u64>,
    pub max_files: u32,
}

/// A command the monitor runs every `every_secs` seconds while the container runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Periodic {
    pub every_secs: u64,
    pub command: Vec<String>,
}

/// Everything the monitor needs; it knows nothing of the store's layout beyond these paths.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub id: String,
    pub runtime: RuntimeCommand,
    /// The OCI bundle (holds config.json).
    pub bundle: PathBuf,
    /// The container's run directory: pid file, runtime log, sockets, exit file.
    pub run_dir: RunDir,
    pub log: Option<LogConfig>,
    pub tty: bool,
    pub stdin: bool,
    /// A client attaches before the process starts: report `ready`, wait for its START.
    pub attach: bool,
    /// `--timeout`: seconds after which the container is killed.
    pub timeout_secs: Option<u32>,
    /// Health checks (`berth healthcheck run ID`).
    pub health: Option<Periodic>,
    /// The cgroup v2 `memory.events` to watch for OOM kills while the container runs.
    #[serde(default)]
    pub oom_events: Option<PathBuf>,
    /// The cgroup goes away with its last process (a systemd scope): create the
    /// container, open `oom_events`, then start it, so a kill in the first instant is
    /// still seen. Otherwise one `run --detach` does both.
    #[serde(default)]
    pub watch_before_start: bool,
    /// Run (exec'd in place of the monitor) once the container has exited, with the
    /// exit code appended: records the exit and cleans up.
    pub exit_command: Vec<String>,
}

/// A container's run directory and the files the monitor keeps in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn pid_file(&self) -> PathBuf {
        self.0.join("pidfile")
    }
    pub fn runtime_log(&self) -> PathBuf {
        self.0.join("runtime.log")
    }
    pub fn console_socket(&self) -> PathBuf {
        self.0.join("console.sock")
    }
    pub fn attach_socket(&self) -> PathBuf {
        self.0.join("attach")
    }
    /// The exit code, written when the container has exited.
    pub fn exit_file(&self) -> PathBuf {
        self.0.join("exit")
    }
    /// Written when the kernel OOM-killed a process of the container (see `oom`).
    pub fn oom_file(&self) -> PathBuf {
        self.0.join("oom")
    }
    /// `PID START_TICKS MONITOR_PID STARTED_NANOS`, written once the process runs.
    pub fn started_file(&self) -> PathBuf {
        self.0.join("started")
    }
}

/// What the monitor reports on its standard output, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The attach socket listens; the process starts when a client sends START.
    Ready { monitor_pid: i64 },
    /// The process runs.
    Started(Started),
    /// The container could not be started.
    Error(String),
}

/// The facts of a running container, as the monitor saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub pid: i64,
    /// Field 22 of /proc/PID/stat, so a reused pid is not mistaken for the container.
    pub start_ticks: i64,
    pub monitor_pid: i64,
    /// Nanoseconds since the epoch.
    pub at: i64,
}

impl Started {
    /// The form of the `started` report line and of the started file.
    pub fn to_line(&self) -> String {
        format!(
            "{} {} {} {}",
            self.pid, self.start_ticks, self.monitor_pid, self.at
        )
    }

    pub fn parse(line: &str) -> Option<Started> {
        let mut it = line.split_whitespace().map(|v| v.parse::<i64>().ok());
        let s = Started {
            pid: it.next()??,
            start_ticks: it.next()??,
            monitor_pid: it.next()??,
            at: it.next()??,
        };
        (s.pid > 0 && s.monitor_pid > 0).then_some(s)
    }
}

impl Report {
    pub fn to_line(&self) -> String {
        match self {
            Report::Ready { monitor_pid } => format!("ready {monitor_pid}\n"),
            Report::Started(s) => format!("started {}\n", s.to_line()),
            Report::Error(msg) => format!("error {}\n", msg.replace('\n', " ")),
        }
    }

    pub fn parse(line: &str) -> Option<Report> {
        let line = line.trim_end_matches('\n');
        if let Some(rest) = line.strip_prefix("ready ") {
            return rest
                .trim()
                .parse()
                .ok()
                .map(|monitor_pid| Report::Ready { monitor_pid });
        }
        if let Some(rest) = line.strip_prefix("started ") {
            return Started::parse(rest).map(Report::Started);
        }
        line.strip_prefix("error ")
            .map(|m| Report::Error(m.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let started = Started {
            pid: 42,
            start_ticks: 1234,
            monitor_pid: 41,
            at: 1_700_000_000_000_000_000,
        };
        for r in [
            Report::Ready { monitor_pid: 7 },
            Report::Started(started),
            Report::Error("runc run: no such file".into()),
        ] {
            assert_eq!(Report::parse(&r.to_line()), Some(r));
        }
        assert_eq!(Report::parse("started 1 2"), None);
        assert_eq!(Report::parse("started 0 1 1 1"), None);
        assert_eq!(Report::parse("garbage"), None);
        assert_eq!(
            Report::parse(&Report::Error("two\nlines".into()).to_line()),
            Some(Report::Error("two lines".into()))
        );
    }
}
