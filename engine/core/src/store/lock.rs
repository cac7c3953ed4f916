//! File locks between concurrent `berth` processes (flock, released when the file
//! closes, so a killed process never leaves a lock held). Each lock names its scope:
//! `gc` (shared by pulls and loads, exclusive for garbage collection) and one per layer
//! being fetched, so two pulls never unpack the same layer at once.

use rustix::fs::{flock, FlockOperation};
use std::fs::File;
use std::io;
use std::path::Path;

/// A held lock; dropping it releases the lock.
pub struct FileLock {
    _file: File,
}

fn open(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

impl FileLock {
    pub fn exclusive(path: &Path) -> io::Result<FileLock> {
        let file = open(path)?;
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(FileLock { _file: file })
    }

    /// Locks an already open file (one this process just created).
    pub fn exclusive_file(file: File) -> io::Result<FileLock> {
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(FileLock { _file: file })
    }

    pub fn shared(path: &Path) -> io::Result<FileLock> {
        let file = open(path)?;
        flock(&file, FlockOperation::LockShared)?;
        Ok(FileLock { _file: file })
    }

    /// Takes the lock only if nobody holds it.
    pub fn try_exclusive(path: &Path) -> io::Result<Option<FileLock>> {
        let file = open(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_lock_excludes_until_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.lock");
        let held = FileLock::exclusive(&p).expect("lock");
        assert!(FileLock::try_exclusive(&p).expect("try").is_none());
        drop(held);
        assert!(FileLock::try_exclusive(&p).expect("try").is_some());
    }
}
