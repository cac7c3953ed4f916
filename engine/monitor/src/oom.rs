//! Watches a cgroup v2 `memory.events` for the kernel's OOM kills while the container
//! runs, as its record may vanish with the cgroup (systemd removes a scope as soon as
//! it is empty, before the engine could read it). The file is polled for the kernel's
//! change notification (`POLLPRI`); a kill seen is kept in the run directory's `oom`
//! file, which outlives the cgroup.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The open `memory.events` of a running container, and where a kill is recorded.
pub struct OomWatch {
    events: Option<File>,
    record: PathBuf,
    seen: bool,
}

/// The `oom_kill` count of a `memory.events` (or v1 `memory.oom_control`) text.
pub fn kills(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

impl OomWatch {
    /// Opens `events` (nothing to watch where it cannot be opened: no memory
    /// controller, cgroup v1, no cgroup at all for a rootless container).
    pub fn open(events: Option<&Path>, record: PathBuf) -> OomWatch {
        OomWatch {
            events: events.and_then(|p| File::open(p).ok()),
            record,
            seen: false,
        }
    }

    /// The descriptor to poll for `POLLPRI`, while the cgroup lives.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.events.as_ref().map(|f| f.as_fd())
    }

    /// Reads the count again; records a kill once. A cgroup gone (the read fails) ends
    /// the watch.
    pub fn check(&mut self) {
        let Some(f) = &self.events else { return };
        let mut buf = [0u8; 512];
        match f.read_at(&mut buf, 0) {
            Ok(n) if n > 0 => {
                if !self.seen && kills(&String::from_utf8_lossy(&buf[..n])) > 0 {
                    self.seen = true;
                    let _ = std::fs::write(&self.record, b"1\n");
                }
            }
            _ => self.events = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_are_read_from_either_hierarchy() {
        assert_eq!(kills("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"), 1);
        assert_eq!(kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3);
        assert_eq!(kills("low 0\n"), 0);
    }

    #[test]
    fn a_kill_is_recorded_once_and_a_gone_file_ends_the_watch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let events = dir.path().join("memory.events");
        std::fs::write(&events, "oom 0\noom_kill 0\n").expect("write");
        let record = dir.path().join("oom");
        let mut w = OomWatch::open(Some(&events), record.clone());
        w.check();
        assert!(!record.exists());
        std::fs::write(&events, "oom 1\noom_kill 1\n").expect("write");
        w.check();
        assert!(record.exists());
        assert!(w.fd().is_some());
        let mut none = OomWatch::open(Some(&dir.path().join("missing")), record);
        assert!(none.fd().is_none());
        none.check();
    }
}
