//! Staging directories: private, locked scratch space in the store's `tmp/` where
//! layers are unpacked and blobs compressed before they become visible. The lock
//! exists before the directory does, so another process's sweep never takes a live
//! one; dropping a `StagingDir` removes it; Ctrl-C or SIGTERM removes every staging
//! directory of this process before it exits (see [`install_interrupt_cleanup`]).

use crate::store::lock::FileLock;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Staging directories this process owns, for the interrupt handler.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A locked directory under `tmp/`, removed with its lock file when dropped.
pub struct StagingDir {
    dir: PathBuf,
    _lock: FileLock,
}

impl StagingDir {
    pub fn create(tmp: &Path) -> io::Result<StagingDir> {
        let (file, lock_path) = tempfile::Builder::new()
            .prefix("layer-")
            .suffix(".lock")
            .tempfile_in(tmp)?
            .keep()
            .map_err(|e| e.error)?;
        let lock = FileLock::exclusive_file(file)?;
        let dir = lock_path.with_extension("");
        std::fs::create_dir(&dir)?;
        live().push(dir.clone());
        Ok(StagingDir { dir, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        live().retain(|d| d != &self.dir);
        remove_staging(&self.dir);
    }
}

fn remove_staging(dir: &Path) {
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::warn!(path = %dir.display(), error = %e, "could not remove staging directory");
        }
    }
    let _ = std::fs::remove_file(dir.with_extension("lock"));
}

/// Removes sweepable debris: staging directories whose owner is gone (lock free).
pub fn sweep(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("deleted-") {
            let _ = std::fs::remove_dir_all(&path);
            continue;
        }
        if !name.starts_with("layer-") || name.ends_with(".lock") {
            continue;
        }
        let lock_path = path.with_extension("lock");
        if let Ok(Some(_held)) = FileLock::try_exclusive(&lock_path) {
            remove_staging(&path);
        }
    }
}

/// On SIGINT or SIGTERM, removes this process's staging directories, then exits with
/// 130 or 143 as a shell would report the signal. Called once by the binary.
pub fn install_interrupt_cleanup() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let dirs: Vec<PathBuf> = live().clone();
            for d in dirs {
                // Writers may still be adding files: try a few times.
                for _ in 0..3 {
                    remove_staging(&d);
                    if !d.exists() {
                        break;
                    }
                }
            }
            std::process::exit(128 + sig);
        }
    });
}
