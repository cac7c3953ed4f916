//! Responses as Docker's API sends them: JSON bodies, `{"message": …}` errors with
//! Docker's status codes, and the headers every answer carries.

use berth_types::{EngineError, ErrorKind};
use bytes::Bytes;
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The newest Docker Engine API version served, and the oldest.
pub const API_VERSION: &str = "1.41";
pub const MIN_API_VERSION: &str = "1.24";

pub type Reply = Response<Body>;

/// A response body: whole, or chunks sent later from another thread (a stream).
pub enum Body {
    Whole(Option<Bytes>),
    Stream(tokio::sync::mpsc::UnboundedReceiver<Bytes>),
    /// A stream whose sender waits while the client is behind (bulk data).
    Bounded(tokio::sync::mpsc::Receiver<Bytes>),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Whole(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
            Body::Bounded(rx) => rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Whole(None))
    }

    /// Exact for a whole body, so it goes with a Content-Length.
    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Whole(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Stream(_) | Body::Bounded(_) => http_body::SizeHint::default(),
        }
    }
}

/// A response whose body is what is sent on the returned channel until it is dropped.
/// Sending never blocks, so any thread (an engine call's own runtime included) may.
pub fn stream(
    status: StatusCode,
    content_type: &str,
) -> (Reply, tokio::sync::mpsc::UnboundedSender<Bytes>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut r = with_headers(status, content_type, Bytes::new());
    *r.body_mut() = Body::Stream(rx);
    (r, tx)
}

/// A response whose body is what is written to the returned writer, from a plain
/// thread, which waits while the client is behind; the body ends when it is dropped.
pub fn bulk(status: StatusCode, content_type: &str) -> (Reply, BulkWriter) {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut r = with_headers(status, content_type, Bytes::new());
    *r.body_mut() = Body::Bounded(rx);
    (
        r,
        BulkWriter {
            tx,
            buf: Vec::new(),
        },
    )
}

/// Writes a bulk body in 64 KiB chunks.
pub struct BulkWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

const BULK_CHUNK: usize = 64 * 1024;

impl std::io::Write for BulkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BULK_CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl Drop for BulkWriter {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

fn with_headers(status: StatusCode, content_type: &str, body: Bytes) -> Reply {
    let mut r = Response::new(Body::Whole(Some(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        "Content-Type",
        content_type.parse().expect("a valid header value"),
    );
    h.insert(
        "Api-Version",
        API_VERSION.parse().expect("a valid header value"),
    );
    h.insert(
        "Docker-Experimental",
        "false".parse().expect("a valid header value"),
    );
    h.insert("Ostype", "linux".parse().expect("a valid header value"));
    h.insert(
        "Server",
        concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")
            .parse()
            .expect("a valid header value"),
    );
    r
}

/// `101 UPGRADED`: the connection turns into the raw session stream.
pub fn upgrade(content_type: &str) -> Reply {
    let mut r = with_headers(StatusCode::SWITCHING_PROTOCOLS, content_type, Bytes::new());
    *r.body_mut() = Body::Whole(None);
    let h = r.headers_mut();
    h.insert(
        "Connection",
        "Upgrade".parse().expect("a valid header value"),
    );
    h.insert("Upgrade", "tcp".parse().expect("a valid header value"));
    r
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    with_headers(status, "application/json", Bytes::from(body))
}

pub fn ok_json(value: &serde_json::Value) -> Reply {
    json(StatusCode::OK, value)
}

pub fn text(status: StatusCode, body: &'static str) -> Reply {
    with_headers(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

pub fn bytes(status: StatusCode, content_type: &str, body: Vec<u8>) -> Reply {
    with_headers(status, content_type, Bytes::from(body))
}

pub fn empty(status: StatusCode) -> Reply {
    with_headers(status, "text/plain; charset=utf-8", Bytes::new())
}

pub fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    json(status, &serde_json::json!({ "message": message.into() }))
}

/// An engine error as Docker reports it: 404 for what does not exist, 409 for a
/// conflict or a wrong state, 400 for bad input, 500 otherwise.
pub fn engine_error(e: &EngineError) -> Reply {
    let status = match e.kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict | ErrorKind::BadState => StatusCode::CONFLICT,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.message.clone())
}
