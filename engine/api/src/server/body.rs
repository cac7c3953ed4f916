//! Request bodies: read whole (JSON, up to [`MAX_BODY`]), or handed to a blocking
//! reader as they arrive, for the routes that take archives and image tarballs.

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::io::{self, Read};

/// The largest request body read whole (a JSON request; archives stream).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Whether the route takes its body as a stream: `PUT /containers/{id}/archive`,
/// `POST /images/load`, `POST /images/create?fromSrc=-` (an import).
pub fn streams(method: &hyper::Method, segments: &[String], from_src: bool) -> bool {
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let seg = match seg.as_slice() {
        ["libpod", rest @ ..] => rest,
        all => all,
    };
    matches!(
        (method, seg),
        (&hyper::Method::PUT, ["containers", _, "archive"])
            | (&hyper::Method::POST, ["images", "load"])
    ) || (method == hyper::Method::POST && seg == ["images", "create"] && from_src)
}

/// A body read from a plain thread as the client sends it.
pub struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !self.current.has_remaining() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let n = buf.len().min(self.current.remaining());
        self.current.copy_to_slice(&mut buf[..n]);
        Ok(n)
    }
}

/// How much of a streamed body its route left unread is still read, and dropped: the
/// bytes after a tar's end, a chunked body's last chunk. The request then ends cleanly
/// and its connection stays usable, and a client still sending is not cut off
/// mid-write (it would see a broken pipe, not the answer). Past this, the connection
/// is closed instead.
const DRAIN_LIMIT: usize = 256 * 1024;

/// Starts passing `body` on to the returned reader (on the server's runtime).
pub fn reader(mut body: Incoming) -> BodyReader {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        // Bytes dropped since the reader went away; None while it reads.
        let mut dropped: Option<usize> = None;
        while let Some(frame) = body.frame().await {
            let chunk = match frame {
                Ok(f) => match f.into_data() {
                    Ok(data) => Ok(data),
                    Err(_) => continue,
                },
                Err(e) => Err(io::Error::other(e)),
            };
            if let Some(n) = dropped.as_mut() {
                match chunk {
                    Ok(data) if *n + data.len() <= DRAIN_LIMIT => *n += data.len(),
                    _ => return,
                }
                continue;
            }
            let failed = chunk.is_err();
            match tx.send(chunk).await {
                Ok(()) if failed => return,
                Ok(()) => {}
                Err(tokio::sync::mpsc::error::SendError(Ok(data))) if data.len() <= DRAIN_LIMIT => {
                    dropped = Some(data.len())
                }
                Err(_) => return,
            }
        }
    });
    BodyReader {
        rx,
        current: Bytes::new(),
    }
}
