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

/// Starts passing `body` on to the returned reader (on the server's runtime).
pub fn reader(mut body: Incoming) -> BodyReader {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(frame) = body.frame().await {
            let chunk = match frame {
                Ok(f) => match f.into_data() {
                    Ok(data) => Ok(data),
                    Err(_) => continue,
                },
                Err(e) => Err(io::Error::other(e)),
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    BodyReader {
        rx,
        current: Bytes::new(),
    }
}
