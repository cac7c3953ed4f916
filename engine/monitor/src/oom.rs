//! Watches a cgroup v2 `memory.events` for the kernel's OOM kills while the container
//! runs, as its record may vanish with the cgroup (systemd removes a scope as soon as
//! it is empty, before the engine could read it). The file is polled for the kernel's
//! change notification (`POLLPRI`); a kill seen is kept in the run directory's `oom`
//! file, which outlives the cgroup.
//!
//! A process killed in its first instant can take its cgroup with it before the
//! monitor reads the file. The parent's `memory.events` counts its children's kills
//! too and stays: when the container's own record is gone, its init died of SIGKILL
//! and the parent's count rose meanwhile, the kill is taken as the container's. (It is
//! wrong only if another container under the same parent was OOM-killed meanwhile and
//! this one was SIGKILLed otherwise, in its first instant.)

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The open `memory.events` of a running container, and where a kill is recorded.
pub struct OomWatch {
    events: Option<File>,
    /// The parent cgroup's `memory.events` and its count when the watch began, kept
    /// only where the container's own file was there to open.
    parent: Option<(File, u64)>,
    record: PathBuf,
    seen: bool,
}

fn read_kills(f: &File) -> Option<u64> {
    let mut buf = [0u8; 512];
    match f.read_at(&mut buf, 0) {
        Ok(n) if n > 0 => Some(kills(&String::from_utf8_lossy(&buf[..n]))),
        _ => None,
    }
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
        let own = events.and_then(|p| File::open(p).ok());
        let parent = events
            .filter(|_| own.is_some())
            .and_then(|p| Some(p.parent()?.parent()?.join("memory.events")))
            .and_then(|p| File::open(p).ok())
            .and_then(|f| read_kills(&f).map(|n| (f, n)));
        OomWatch {
            events: own,
            parent,
            record,
            seen: false,
        }
    }

    /// The look at the container's exit: its own record, else (it is gone) the
    /// parent's, for an init that died of SIGKILL (see the module's comment).
    pub fn last_look(&mut self, sigkilled: bool) {
        self.check();
        if self.seen || self.events.is_some() || !sigkilled {
            return;
        }
        if let Some((f, before)) = &self.parent {
            if read_kills(f).is_some_and(|now| now > *before) {
                self.record_kill();
            }
        }
    }

    fn record_kill(&mut self) {
        self.seen = true;
        let _ = std::fs::write(&self.record, b"1\n");
    }

    /// The descriptor to poll for `POLLPRI`, while the cgroup lives.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.events.as_ref().map(|f| f.as_fd())
    }

    /// Reads the count again; records a kill once. A cgroup gone (the read fails) ends
    /// the watch.
    pub fn check(&mut self) {
        let Some(f) = &self.events else { return };
        match read_kills(f) {
            Some(n) => {
                if !self.seen && n > 0 {
                    self.record_kill();
                }
            }
            None => self.events = None,
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

    #[test]
    fn a_cgroup_gone_with_its_kill_is_read_from_the_parents_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let parent = dir.path().join("memory.events");
        let scope = dir.path().join("berth-x.scope");
        std::fs::create_dir(&scope).expect("mkdir");
        let events = scope.join("memory.events");
        let record = dir.path().join("oom");
        let watch = |parent_kills: u32| {
            std::fs::write(&parent, format!("oom_kill {parent_kills}\n")).expect("write");
            std::fs::write(&events, "oom_kill 0\n").expect("write");
            let _ = std::fs::remove_file(&record);
            OomWatch::open(Some(&events), record.clone())
        };
        // The scope vanished (its file unreadable), init died of SIGKILL, the parent
        // counted a kill meanwhile: recorded.
        let mut w = watch(2);
        std::fs::write(&parent, "oom_kill 3\n").expect("write");
        w.events = None;
        w.last_look(true);
        assert!(record.exists());
        // No kill counted meanwhile, or another death, or the record still there and
        // saying no kill: not recorded.
        for (kills_after, sigkilled, gone) in [(2, true, true), (3, false, true), (3, true, false)]
        {
            let mut w = watch(2);
            std::fs::write(&parent, format!("oom_kill {kills_after}\n")).expect("write");
            if gone {
                w.events = None;
            }
            w.last_look(sigkilled);
            assert!(!record.exists(), "{kills_after} {sigkilled} {gone}");
        }
        // A container that never had a cgroup of its own (rootless) reads no parent.
        std::fs::write(&parent, "oom_kill 2\n").expect("write");
        let mut w = OomWatch::open(Some(&scope.join("none/memory.events")), record.clone());
        std::fs::write(&parent, "oom_kill 5\n").expect("write");
        w.last_look(true);
        assert!(!record.exists());
    }
}
