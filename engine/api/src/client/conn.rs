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
        Err(format!(
            "invalid URL {url:?}: use unix:///path/to/berth.sock"
        ))
    }

    pub fn url(&self) -> String {
        match self {
            Destination::Unix(p) => format!("unix://{}", p.display()),
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

/// Connects and upgrades for `method`.
pub fn open(dest: &Destination, method: &str) -> Result<UnixStream, EngineError> {
    let Destination::Unix(path) = dest;
    let mut s = UnixStream::connect(path).map_err(|e| unreachable(dest, e))?;
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
