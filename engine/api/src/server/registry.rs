//! What API clients say about registries: the `X-Registry-Auth` header (base64url JSON
//! credentials, sent with pull, push and search) and `tlsVerify`, as the engine's
//! registry options; and image search, in Docker's and Libpod's shapes.

use super::reply::{self, Reply};
use super::request::ApiRequest;
use base64::Engine as _;
use berth_types::image::{RegistryOptions, SearchRequest, SearchResult};
use berth_types::Engine;
use hyper::StatusCode;
use serde_json::{json, Value};

/// The credentials an `X-Registry-Auth` header carries, if it carries a user name.
/// Clients send base64url with or without padding; some send standard base64.
fn credentials(header: &str) -> Option<(String, String)> {
    let header = header.trim();
    let raw = [
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
    ]
    .iter()
    .find_map(|e| e.decode(header).ok())?;
    let doc: Value = serde_json::from_slice(&raw).ok()?;
    let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let username = field("username");
    (!username.is_empty()).then(|| (username, field("password")))
}

/// The registry options of a request: its `X-Registry-Auth` credentials and its
/// `tlsVerify` parameter (Libpod's).
pub fn options(req: &ApiRequest) -> RegistryOptions {
    RegistryOptions {
        tls_verify: req.param("tlsVerify").map(|v| v != "false" && v != "0"),
        credentials: req.registry_auth.as_deref().and_then(credentials),
        ..Default::default()
    }
}

/// The search a request asks for, or the reason it is malformed.
fn search_request(req: &ApiRequest, list_tags: bool) -> Result<SearchRequest, String> {
    let term = req
        .param("term")
        .filter(|t| !t.is_empty())
        .ok_or("term is required")?;
    let limit = match req.param("limit").filter(|l| !l.is_empty()) {
        Some(l) => l.parse().map_err(|_| format!("invalid limit {l:?}"))?,
        None => 0,
    };
    Ok(SearchRequest {
        term: term.to_string(),
        limit,
        filters: req.filters()?,
        list_tags,
        registry: options(req),
    })
}

fn run(
    engine: &dyn Engine,
    req: &ApiRequest,
    list_tags: bool,
    shape: impl Fn(&SearchResult) -> Value,
    error: impl Fn(StatusCode, String) -> Reply,
) -> Reply {
    let request = match search_request(req, list_tags) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match engine.search_images(&request) {
        Ok(results) => reply::ok_json(&Value::Array(results.iter().map(shape).collect())),
        Err(e) => error(reply::engine_error(&e).status(), e.message),
    }
}

/// `GET /images/search?term=&limit=&filters=`: Docker's result objects.
pub fn docker_search(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let shape = |r: &SearchResult| {
        json!({
            "name": r.name,
            "description": r.description,
            "star_count": r.stars,
            "is_official": r.official,
            "is_automated": r.automated,
        })
    };
    run(engine, req, false, shape, reply::error)
}

/// `GET /libpod/images/search?term=&limit=&filters=&listTags=&tlsVerify=`: Podman's.
pub fn libpod_search(
    engine: &dyn Engine,
    req: &ApiRequest,
    error: impl Fn(StatusCode, String) -> Reply,
) -> Reply {
    let ok = |b: bool| if b { "[OK]" } else { "" };
    let shape = |r: &SearchResult| {
        json!({
            "Index": r.index,
            "Name": r.name,
            "Description": r.description,
            "Stars": r.stars,
            "Official": ok(r.official),
            "Automated": ok(r.automated),
            "Tag": r.tag,
        })
    };
    run(engine, req, req.flag("listTags"), shape, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_header_decodes_in_every_alphabet() {
        let doc = br#"{"username":"u?>","password":"p~~","serveraddress":"r"}"#;
        for e in [
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD,
        ] {
            assert_eq!(
                credentials(&e.encode(doc)),
                Some(("u?>".to_string(), "p~~".to_string()))
            );
        }
        let anonymous = base64::engine::general_purpose::URL_SAFE.encode(b"{}");
        assert_eq!(credentials(&anonymous), None);
        assert_eq!(credentials("not base64 !"), None);
    }
}
