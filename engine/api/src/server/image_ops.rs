//! Docker's image endpoints beyond list, pull, tag and remove: inspect, history,
//! push, get (save as a docker-archive tarball), load (a tarball streamed in),
//! prune, and `/auth` (a registry login).

use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::image::{ArchiveFormat, ImageInspect, PruneImagesRequest, SaveRequest};
use berth_types::{Engine, ErrorKind};
use hyper::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

fn no_such_image(name: &str) -> Reply {
    reply::error(StatusCode::NOT_FOUND, format!("No such image: {name}"))
}

fn image_error(e: &berth_types::EngineError, name: &str) -> Reply {
    if e.kind == ErrorKind::NotFound {
        return no_such_image(name);
    }
    reply::engine_error(e)
}

fn sha(id: &str) -> String {
    format!("sha256:{}", id.trim_start_matches("sha256:"))
}

/// The image as Docker's inspect shows it.
fn inspect_doc(i: &ImageInspect) -> Value {
    let c = &i.config;
    json!({
        "Id": sha(&i.id),
        "RepoTags": i.repo_tags,
        "RepoDigests": i.repo_digests,
        "Parent": i.parent,
        "Comment": i.comment,
        "Created": i.created,
        "Container": "",
        "DockerVersion": i.version,
        "Author": i.author,
        "Config": {
            "User": c.user.clone().unwrap_or_default(),
            "ExposedPorts": c.exposed_ports,
            "Env": c.env,
            "Cmd": c.cmd,
            "Entrypoint": c.entrypoint,
            "Volumes": c.volumes,
            "WorkingDir": c.working_dir.clone().unwrap_or_default(),
            "Labels": c.labels,
            "StopSignal": c.stop_signal,
        },
        "Architecture": i.architecture,
        "Variant": i.variant,
        "Os": i.os,
        "Size": i.size,
        "VirtualSize": i.virtual_size,
        "GraphDriver": i.graph_driver,
        "RootFS": i.root_fs,
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    })
}

fn inspect(engine: &dyn Engine, name: &str) -> Reply {
    match engine.inspect_image(name) {
        Ok(i) => reply::ok_json(&inspect_doc(&i)),
        Err(e) => image_error(&e, name),
    }
}

fn history(engine: &dyn Engine, name: &str) -> Reply {
    match engine.image_history(name) {
        Ok(rows) => reply::ok_json(&Value::Array(
            rows.iter()
                .map(|r| {
                    let created = r
                        .created
                        .as_deref()
                        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                        .map_or(0, |t| t.timestamp());
                    json!({
                        "Id": if r.id.starts_with('<') { r.id.clone() } else { sha(&r.id) },
                        "Created": created,
                        "CreatedBy": r.created_by,
                        "Tags": r.tags,
                        "Size": r.size,
                        "Comment": r.comment,
                    })
                })
                .collect(),
        )),
        Err(e) => image_error(&e, name),
    }
}

/// `GET /images/{name}/get` and `GET /images/get?names=…`.
fn get(engine: &Arc<dyn Engine>, names: Vec<String>) -> Reply {
    if names.is_empty() {
        return reply::error(StatusCode::BAD_REQUEST, "no image names given");
    }
    for n in &names {
        if !engine.image_exists(n).unwrap_or(false) {
            return no_such_image(n);
        }
    }
    let (reply, mut out) = reply::bulk(StatusCode::OK, "application/x-tar");
    let engine = engine.clone();
    std::thread::spawn(move || {
        let req = SaveRequest {
            names,
            format: ArchiveFormat::DockerArchive,
        };
        if let Err(e) = engine.save_images(&req, &mut out) {
            tracing::debug!(error = %e.message, "save ended early");
        }
    });
    reply
}

/// `POST /images/load`: the tarball is the body.
fn load(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let mut input = req.take_reader();
    match engine.load_images(&mut input) {
        Ok(names) => {
            let text: String = names
                .iter()
                .map(|n| format!("Loaded image: {n}\n"))
                .collect();
            reply::ok_json(&json!({ "stream": text }))
        }
        Err(e) => reply::engine_error(&e),
    }
}

fn prune(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let filters = match req.filters() {
        Ok(f) => f,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    // Docker prunes dangling images unless `dangling=false` asks for all unused ones.
    let all = filters
        .iter()
        .any(|f| f == "dangling=false" || f == "dangling=0");
    let filters = filters
        .into_iter()
        .filter(|f| !f.starts_with("dangling="))
        .collect();
    match engine.prune_images(&PruneImagesRequest { all, filters }) {
        Ok(ids) => reply::ok_json(&json!({
            "ImagesDeleted": ids.iter().map(|i| json!({"Deleted": sha(i)})).collect::<Vec<_>>(),
            "SpaceReclaimed": 0,
        })),
        Err(e) => reply::engine_error(&e),
    }
}

/// `POST /auth`: checks the credentials against the registry (and keeps them).
fn auth(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let body = match req.json_body() {
        Ok(v) => v,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    let field = |k: &str| body[k].as_str().unwrap_or("").to_string();
    let registry = field("serveraddress")
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    if registry.is_empty() || field("username").is_empty() {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "serveraddress and username are required",
        );
    }
    let login = berth_types::image::LoginRequest {
        registry,
        username: field("username"),
        password: field("password"),
        options: Default::default(),
    };
    match engine.login(&login) {
        Ok(()) => reply::ok_json(&json!({"Status": "Login Succeeded", "IdentityToken": ""})),
        Err(e) if e.kind == ErrorKind::Unauthorized => {
            reply::error(StatusCode::UNAUTHORIZED, e.message)
        }
        Err(e) => reply::engine_error(&e),
    }
}

pub fn route(shared: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let engine = shared.as_ref();
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    Some(match (&req.method, seg.as_slice()) {
        (&Method::GET, ["images", "get"]) => {
            get(shared, req.query.get("names").cloned().unwrap_or_default())
        }
        (&Method::POST, ["images", "load"]) => load(engine, req),
        (&Method::POST, ["auth"]) => auth(engine, req),
        (&Method::POST, ["images", "prune"]) => prune(engine, req),
        (&Method::GET, ["images", "search"]) => super::registry::docker_search(engine, req),
        (&Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            inspect(engine, &name.join("/"))
        }
        (&Method::GET, ["images", name @ .., "history"]) if !name.is_empty() => {
            history(engine, &name.join("/"))
        }
        (&Method::GET, ["images", name @ .., "get"]) if !name.is_empty() => {
            get(shared, vec![name.join("/")])
        }
        (&Method::POST, ["images", name @ .., "push"]) if !name.is_empty() => {
            super::pull::push(shared, req, &name.join("/"))
        }
        _ => return None,
    })
}
