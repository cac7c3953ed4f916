//! The one error type that crosses the `Engine` boundary: a kind a front end can map
//! to an exit code or HTTP status, and a message that already names what failed.

use serde::{Deserialize, Serialize};

/// What kind of failure an engine call met; front ends map it to exit codes and HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The named object (image, tag, layer) does not exist.
    NotFound,
    /// The request itself is malformed (bad reference, bad flag value).
    InvalidArgument,
    /// The request clashes with existing state (an image in use, a name taken).
    Conflict,
    /// A registry refused the credentials (401/403).
    Unauthorized,
    /// A registry could not be reached or answered with something unusable.
    Registry,
    /// Content failed verification (digest mismatch, truncated or malformed data).
    Corrupt,
    /// The local store failed (I/O, database, disk full).
    Storage,
    /// The operation was interrupted by the user.
    Interrupted,
    /// The request asks for something this build of Berth does not do.
    Unsupported,
    /// The container's command does not exist (exit 127, as Podman).
    CommandNotFound,
    /// The container's command exists but cannot be run (exit 126, as Podman).
    CommandNotExecutable,
    /// The object is in a state that does not allow the operation (a running
    /// container removed without force: exit 2 for `rm`, as Podman).
    BadState,
}

/// An engine failure: its kind, plus a one-line message naming what failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// Builds an error whose message is `err` followed by each of its sources, joined by ": ".
    pub fn from_chain(kind: ErrorKind, err: &dyn std::error::Error) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Self::new(kind, message)
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("pulling busybox")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn from_chain_joins_every_source_once() {
        let err = Outer(std::io::Error::other("connection refused"));
        let e = EngineError::from_chain(ErrorKind::Registry, &err);
        assert_eq!(e.message, "pulling busybox: connection refused");
        assert_eq!(e.kind, ErrorKind::Registry);
    }
}
