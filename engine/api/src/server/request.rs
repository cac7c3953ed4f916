//! What a handler sees of an HTTP request: the method, the path with any `/vX.Y`
//! version prefix taken off and split into segments, the decoded query, the body.

use std::collections::BTreeMap;

pub struct ApiRequest {
    pub method: hyper::Method,
    /// Path segments after the version prefix (`["containers", "abc", "json"]`).
    pub segments: Vec<String>,
    pub query: BTreeMap<String, Vec<String>>,
    pub body: bytes::Bytes,
    /// The `X-Registry-Auth` header: base64url JSON credentials for pull, push, search.
    pub registry_auth: Option<String>,
    /// The connection's upgrade, for a handler that hijacks it (`attach`, `exec`).
    upgrade: std::sync::Mutex<Option<hyper::upgrade::OnUpgrade>>,
    /// The body as it arrives, for a route that streams it (an archive, an image
    /// tarball); `body` is empty then.
    reader: std::sync::Mutex<Option<Box<dyn std::io::Read + Send>>>,
}

impl ApiRequest {
    pub fn new(method: hyper::Method, path: &str, query: Option<&str>, body: bytes::Bytes) -> Self {
        let path = strip_version(path);
        ApiRequest {
            method,
            segments: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(percent_decode)
                .collect(),
            query: parse_query(query.unwrap_or("")),
            body,
            registry_auth: None,
            upgrade: Default::default(),
            reader: Default::default(),
        }
    }

    pub fn with_upgrade(self, upgrade: hyper::upgrade::OnUpgrade) -> Self {
        *self.upgrade.lock().unwrap_or_else(|p| p.into_inner()) = Some(upgrade);
        self
    }

    pub fn with_reader(self, reader: Box<dyn std::io::Read + Send>) -> Self {
        *self.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(reader);
        self
    }

    /// The connection's upgrade, if the client asked for one (once).
    pub fn take_upgrade(&self) -> Option<hyper::upgrade::OnUpgrade> {
        let asked = self
            .upgrade
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        asked
    }

    /// The streamed body (once); the whole body for a route that did not stream it.
    pub fn take_reader(&self) -> Box<dyn std::io::Read + Send> {
        let streamed = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
        streamed.unwrap_or_else(|| Box::new(std::io::Cursor::new(self.body.clone())))
    }

    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// A boolean query parameter as Docker reads them (`1`, `true`, `True`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("1" | "true" | "True" | "TRUE"))
    }

    /// Answers with `list` given the `filters` parameter, or 400 when it is malformed.
    pub fn with_filters(
        &self,
        list: impl FnOnce(Vec<String>) -> super::reply::Reply,
    ) -> super::reply::Reply {
        match self.filters() {
            Ok(f) => list(f),
            Err(e) => super::reply::error(hyper::StatusCode::BAD_REQUEST, e),
        }
    }

    /// The body as JSON (an empty body is an empty object).
    pub fn json_body(&self) -> Result<serde_json::Value, String> {
        if self.body.is_empty() {
            return Ok(serde_json::json!({}));
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("invalid JSON body: {e}"))
    }

    /// Docker's `filters` parameter (`{"key": ["v", …]}` or `{"key": {"v": true}}`)
    /// as the engine's `key=value` list.
    pub fn filters(&self) -> Result<Vec<String>, String> {
        let Some(raw) = self.param("filters").filter(|s| !s.is_empty()) else {
            return Ok(Vec::new());
        };
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| format!("invalid filters {raw:?}: {e}"))?;
        let map = value
            .as_object()
            .ok_or_else(|| format!("invalid filters {raw:?}: not an object"))?;
        let mut out = Vec::new();
        for (key, values) in map {
            match values {
                serde_json::Value::Array(list) => {
                    for v in list {
                        let v = v
                            .as_str()
                            .ok_or_else(|| format!("invalid filter {key}: not a string"))?;
                        out.push(format!("{key}={v}"));
                    }
                }
                serde_json::Value::Object(set) => {
                    for (v, on) in set {
                        if on.as_bool().unwrap_or(false) {
                            out.push(format!("{key}={v}"));
                        }
                    }
                }
                _ => return Err(format!("invalid filter {key}: expected a list of values")),
            }
        }
        Ok(out)
    }
}

/// `/v1.41/containers/json` → `/containers/json`.
fn strip_version(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let version = &rest[..end];
        if !version.is_empty()
            && version
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return &rest[end..];
        }
    }
    path
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `%2F` → `/` (a `+` stays: only query values turn it into a space).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_off_and_queries_decode() {
        let r = ApiRequest::new(
            hyper::Method::GET,
            "/v1.41/containers/json",
            Some("all=1&filters=%7B%22name%22%3A%5B%22web%22%5D%7D"),
            bytes::Bytes::new(),
        );
        assert_eq!(r.segments, ["containers", "json"]);
        assert!(r.flag("all"));
        assert_eq!(r.filters(), Ok(vec!["name=web".to_string()]));
        let r = ApiRequest::new(hyper::Method::GET, "/version", None, bytes::Bytes::new());
        assert_eq!(r.segments, ["version"]);
        let r = ApiRequest::new(
            hyper::Method::GET,
            "/vx/a",
            Some("filters={bad"),
            bytes::Bytes::new(),
        );
        assert_eq!(r.segments, ["vx", "a"]);
        assert!(r.filters().is_err());
    }
}
