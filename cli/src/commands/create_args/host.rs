//! What the flag conversion may read from the machine it runs on (environment
//! variables, files, the working directory), behind a trait so tests need no real host.

use std::io;
use std::path::{Path, PathBuf};

/// The host as `-e KEY`, `--env-host`, `--env-file`, `--label-file` and `-v ./dir:…` see it.
pub trait Host {
    /// One environment variable, `None` when unset.
    fn var(&self, key: &str) -> Option<String>;
    /// Every environment variable, in the host's order.
    fn vars(&self) -> Vec<(String, String)>;
    /// A whole text file (`--env-file`, `--label-file`).
    fn read_to_string(&self, path: &Path) -> io::Result<String>;
    /// The directory relative bind-mount sources are resolved against.
    fn current_dir(&self) -> io::Result<PathBuf>;
}

/// The real process environment and filesystem.
pub struct SystemHost;

impl Host for SystemHost {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var_os(key).map(|v| v.to_string_lossy().into_owned())
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect()
    }

    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn current_dir(&self) -> io::Result<PathBuf> {
        std::env::current_dir()
    }
}
