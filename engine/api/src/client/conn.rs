//! Opening a call: connect to the service (a unix socket, here or at the end of an
//! SSH tunnel), ask to upgrade `POST /berth/v1/call/{method}`, and hand back the raw
//! connection once the service has switched protocols.

use berth_types::{EngineError, ErrorKind};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// Where the service is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A unix socket on this machine.
    Unix(PathBuf),
    /// A unix socket on another, through SSH.
    Ssh(super::ssh::SshTarget),
}

impl Destination {
    /// `unix:///path/to.sock`.
    pub fn parse(url: &str) -> Result<Destination, String> {
        if let Some(path) = url.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "invalid URL {url:?}: unix:// needs an absolute path"
                ));
            }
            return Ok(Destination::Unix(PathBuf::from(path)));
        }
        if url.starts_with("ssh://") {
            return super::ssh::SshTarget::parse(url).map(Destination::Ssh);
        }
        Err(format!(
            "invalid URL {url:?}: use unix:///path/to/berth.sock or ssh://user@host[:port]/path/to/berth.sock"
        ))
    }

    /// The same destination, with this SSH identity file.
    pub fn with_identity(self, identity: Option<PathBuf>) -> Destination {
        match self {
            Destination::Ssh(mut t) if identity.is_some() => {
                t.identity = identity;
                Destination::Ssh(t)
            }
            other => other,
        }
    }

    pub fn url(&self) -> String {
        match self {
            Destination::Unix(p) => format!("unix://{}", p.display()),
            Destination::Ssh(t) => t.url(),
        }
    }
}

/// A connection error, naming where it was going.
pub fn unreachable(dest: &Destination, e: impl std::fmt::Display) -> EngineError {
    EngineError::new(
        ErrorKind::Storage,
        format!("cannot reach the Berth service at {}: {e}", dest.url()),
    )
}

/// The response head, up to its blank line (at most 64 KiB).
fn read_head(s: &mut UnixStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the answer's head is too long",
            ));
        }
        if s.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the service closed the connection",
            ));
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Asks the connected service to upgrade for `method`.
pub fn upgrade(
    dest: &Destination,
    mut s: UnixStream,
    method: &str,
) -> Result<UnixStream, EngineError> {
    write!(
        s,
        "POST /berth/v1/call/{method} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: berth\r\nContent-Length: 0\r\n\r\n"
    )
    .map_err(|e| unreachable(dest, e))?;
    let head = read_head(&mut s).map_err(|e| unreachable(dest, e))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "101" {
        let line = head.lines().next().unwrap_or("").to_string();
        return Err(unreachable(
            dest,
            format!("it answered {line:?} instead of switching to Berth's protocol (is it a Berth service?)"),
        ));
    }
    Ok(s)
}
