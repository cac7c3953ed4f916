//! Responses as Docker's API sends them: JSON bodies, `{"message": …}` errors with
//! Docker's status codes, and the headers every answer carries.

use berth_types::{EngineError, ErrorKind};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// The newest Docker Engine API version served, and the oldest.
pub const API_VERSION: &str = "1.41";
pub const MIN_API_VERSION: &str = "1.24";

pub type Reply = Response<Full<Bytes>>;

fn with_headers(status: StatusCode, content_type: &str, body: Bytes) -> Reply {
    let mut r = Response::new(Full::new(body));
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
