//! `cp` through the API: `GET|HEAD /containers/{id}/archive?path=` (a tar of the
//! path, and its stat in the `X-Docker-Container-Path-Stat` header) and
//! `PUT /containers/{id}/archive?path=` (a tar unpacked into a directory, streamed).
//! The engine resolves every path inside the container's root.

use super::attach::container_error;
use super::reply::{self, Reply};
use super::request::ApiRequest;
use base64::Engine as _;
use berth_types::container::PathStat;
use berth_types::{Engine, ErrorKind};
use hyper::StatusCode;
use std::sync::Arc;

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// `st_mode` as Go's `os.FileMode`, which Docker clients decode.
pub fn go_file_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    m |= match mode & 0o170000 {
        0o040000 => 1 << 31,               // directory
        0o120000 => 1 << 27,               // symlink
        0o060000 => 1 << 26,               // block device
        0o020000 => (1 << 26) | (1 << 21), // character device
        0o010000 => 1 << 25,               // named pipe
        0o140000 => 1 << 24,               // socket
        _ => 0,
    };
    if mode & 0o4000 != 0 {
        m |= 1 << 23;
    }
    if mode & 0o2000 != 0 {
        m |= 1 << 22;
    }
    if mode & 0o1000 != 0 {
        m |= 1 << 20;
    }
    m
}

/// The header's value: the stat as JSON, base64-encoded.
fn stat_header(st: &PathStat) -> String {
    let mtime = chrono::DateTime::from_timestamp(st.mtime_secs, st.mtime_nanos)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let doc = serde_json::json!({
        "name": st.name,
        "size": st.size,
        "mode": go_file_mode(st.mode),
        "mtime": mtime,
        "linkTarget": "",
    });
    base64::engine::general_purpose::STANDARD.encode(doc.to_string())
}

fn path_param(req: &ApiRequest) -> Result<&str, Reply> {
    req.param("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| reply::error(StatusCode::BAD_REQUEST, "the path parameter is required"))
}

fn stat(engine: &dyn Engine, name: &str, path: &str) -> Result<PathStat, Reply> {
    match engine.container_path_stat(name, path) {
        Ok(Some(st)) => Ok(st),
        Ok(None) => Err(reply::error(
            StatusCode::NOT_FOUND,
            format!("Could not find the file {path} in container {name}"),
        )),
        Err(e) => Err(container_error(&e, name)),
    }
}

fn with_stat(mut r: Reply, st: &PathStat) -> Reply {
    if let Ok(v) = stat_header(st).parse() {
        r.headers_mut().insert(STAT_HEADER, v);
    }
    r
}

/// `HEAD` and `GET`.
fn get(engine: &Arc<dyn Engine>, req: &ApiRequest, name: &str, body: bool) -> Reply {
    let path = match path_param(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let st = match stat(engine.as_ref(), name, path) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !body {
        return with_stat(reply::empty(StatusCode::OK), &st);
    }
    let (r, mut out) = reply::bulk(StatusCode::OK, "application/x-tar");
    let (engine, name, path) = (engine.clone(), name.to_string(), path.to_string());
    std::thread::spawn(move || {
        if let Err(e) = engine.copy_from_container(&name, &path, &mut out) {
            tracing::debug!(error = %e.message, "archive ended early");
        }
    });
    with_stat(r, &st)
}

/// `PUT`: the tar body unpacked into directory `path`.
fn put(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let path = match path_param(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut input = req.take_reader();
    match engine.copy_to_container(name, path, &mut input) {
        Ok(()) => reply::empty(StatusCode::OK),
        Err(e)
            if e.kind == ErrorKind::NotFound && engine.container_exists(name).unwrap_or(false) =>
        {
            reply::error(StatusCode::NOT_FOUND, e.message)
        }
        Err(e) => container_error(&e, name),
    }
}

pub fn route(engine: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    Some(match (&req.method, seg.as_slice()) {
        (&Method::GET, ["containers", name, "archive"]) => get(engine, req, name, true),
        (&Method::HEAD, ["containers", name, "archive"]) => get(engine, req, name, false),
        (&Method::PUT, ["containers", name, "archive"]) => put(engine.as_ref(), req, name),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn modes_read_as_gos() {
        assert_eq!(super::go_file_mode(0o040755), (1 << 31) | 0o755);
        assert_eq!(super::go_file_mode(0o100644), 0o644);
        assert_eq!(super::go_file_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(super::go_file_mode(0o104755), (1 << 23) | 0o755);
    }
}
