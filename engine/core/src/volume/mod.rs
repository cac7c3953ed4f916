//! Volumes: named directories under the store (`<root>/volumes/<name>/_data`, as
//! Podman lays them out) that containers mount and that outlive the containers.
//! The SQLite `volumes` table is the source of truth; a directory without a row is
//! left over from a crash and is cleared away, never shown.

pub mod chown;
pub mod copy;
mod dirs;
mod filter;
pub mod mount;
mod names;
pub mod ops;
mod options;
pub mod regex;
mod view;

use berth_types::{EngineError, ErrorKind};
use std::io;

/// What can go wrong with a volume; each variant names the volume (or the input) it is about.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("volume with name {0} already exists: volume already exists")]
    Exists(String),
    #[error("no volume with name {0:?} found: no such volume")]
    NotFound(String),
    #[error(
        "invalid volume name {0:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
    )]
    InvalidName(String),
    #[error("volume {name} is being used by the following container(s): {}: volume is being used", containers.join(", "))]
    InUse {
        name: String,
        containers: Vec<String>,
    },
    #[error("volume {name} uses volume plugin {driver} but it could not be retrieved: no volume plugin with name {driver} available: required plugin missing")]
    Driver { name: String, driver: String },
    /// A `-o` option the local driver does not know, or a malformed value.
    #[error("{0}")]
    Option(String),
    /// A `--filter` that is unknown or malformed.
    #[error("{0}")]
    Filter(String),
    #[error("{}", io_message(name, what, path))]
    Io {
        name: String,
        what: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("volume {name}: stored {what} are not valid JSON")]
    Corrupt {
        name: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("volume database")]
    Db(#[from] rusqlite::Error),
}

fn io_message(name: &str, what: &str, path: &str) -> String {
    if name.is_empty() {
        format!("{what} {path}")
    } else {
        format!("volume {name}: {what} {path}")
    }
}

impl VolumeError {
    fn io(name: &str, what: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        VolumeError::Io {
            name: name.to_string(),
            what,
            path: path.display().to_string(),
            source,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            VolumeError::NotFound(_) => ErrorKind::NotFound,
            VolumeError::Exists(_) | VolumeError::InUse { .. } => ErrorKind::Conflict,
            VolumeError::InvalidName(_)
            | VolumeError::Driver { .. }
            | VolumeError::Option(_)
            | VolumeError::Filter(_) => ErrorKind::InvalidArgument,
            VolumeError::Corrupt { .. } => ErrorKind::Corrupt,
            VolumeError::Io { .. } | VolumeError::Db(_) => ErrorKind::Storage,
        }
    }
}

impl From<VolumeError> for EngineError {
    fn from(e: VolumeError) -> EngineError {
        EngineError::from_chain(e.kind(), &e)
    }
}
