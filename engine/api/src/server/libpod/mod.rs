//! The Libpod API, under `/libpod/` (and `/vX.Y.Z/libpod/`): Podman's documents
//! (its inspect and list shapes, which the engine already speaks), its create bodies
//! and its answers, for containers, images, pods, volumes, networks, kube play and
//! generate, and system info. Endpoints whose Libpod form is Docker's (exec, attach,
//! archives, logs, top, pause…) fall through to the Docker routes.

pub mod spec;

use super::attach::container_error;
use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::container::{ListContainersRequest, RemoveContainersRequest};
use berth_types::image::{
    ListImagesRequest, PullPolicy, PullRequest, RegistryOptions, RemoveImagesRequest,
};
use berth_types::pod::{KubePlayRequest, RemovePodsRequest};
use berth_types::progress::NoProgress;
use berth_types::volume::VolumeRemoveRequest;
use berth_types::{Engine, EngineError};
use hyper::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// A libpod error body: Podman's `{"cause", "message", "response"}`.
fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    let message = message.into();
    let cause = message.rsplit(": ").next().unwrap_or("").to_string();
    reply::json(
        status,
        &json!({"cause": cause, "message": message, "response": status.as_u16()}),
    )
}

fn engine_error(e: &EngineError) -> Reply {
    let status = reply::engine_error(e).status();
    error(status, e.message.clone())
}

fn json_or<T: serde::Serialize>(r: Result<T, EngineError>) -> Reply {
    match r {
        Ok(v) => reply::ok_json(&serde_json::to_value(v).unwrap_or(Value::Null)),
        Err(e) => engine_error(&e),
    }
}

/// 204 when it exists, 404 when not.
fn exists(r: Result<bool, EngineError>) -> Reply {
    match r {
        Ok(true) => reply::empty(StatusCode::NO_CONTENT),
        Ok(false) => error(StatusCode::NOT_FOUND, "no such object"),
        Err(e) => engine_error(&e),
    }
}

fn body(req: &ApiRequest) -> Result<Value, Reply> {
    req.json_body()
        .map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

fn filters(req: &ApiRequest) -> Result<Vec<String>, Reply> {
    req.filters().map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

/// A list for the request's `filters` (400 when they are malformed).
fn listed<T: serde::Serialize>(
    req: &ApiRequest,
    list: impl FnOnce(Vec<String>) -> Result<T, EngineError>,
) -> Reply {
    match filters(req) {
        Ok(f) => json_or(list(f)),
        Err(r) => r,
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

fn create_container(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let request =
        tri!(spec::container(&tri!(body(req))).map_err(|e| error(StatusCode::BAD_REQUEST, e)));
    if !engine.image_exists(&request.image).unwrap_or(false) {
        return error(
            StatusCode::NOT_FOUND,
            format!("{}: image not known", request.image),
        );
    }
    match engine.create_container(&request, &NoProgress) {
        Ok(c) => reply::json(
            StatusCode::CREATED,
            &json!({"Id": c.id, "Warnings": c.warnings}),
        ),
        Err(e) => engine_error(&e),
    }
}

fn list_containers(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let filters = tri!(filters(req));
    json_or(engine.list_containers(&ListContainersRequest {
        all: req.flag("all"),
        filters,
        size: req.flag("size"),
    }))
}

fn remove_container(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let r = engine.remove_containers(&RemoveContainersRequest {
        names: vec![name.to_string()],
        force: req.flag("force"),
        volumes: req.flag("v"),
        timeout: req.param("timeout").and_then(|t| t.parse().ok()),
        ..Default::default()
    });
    match r.map(|mut v| v.pop()) {
        Ok(Some(Ok(id))) => reply::ok_json(&json!([{"Id": id, "Err": null}])),
        Ok(Some(Err(e))) | Err(e) => container_error(&e, name),
        Ok(None) => reply::ok_json(&json!([])),
    }
}

fn stop_container(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let timeout = req
        .param("timeout")
        .or_else(|| req.param("t"))
        .and_then(|t| t.parse().ok());
    let state = engine
        .inspect_container(name)
        .map(|d| d["State"]["Status"].as_str().unwrap_or("").to_string());
    match state {
        Err(e) => container_error(&e, name),
        Ok(s) if !matches!(s.as_str(), "running" | "paused" | "stopping") => {
            reply::empty(StatusCode::NOT_MODIFIED)
        }
        Ok(_) => match engine.stop_container(name, timeout) {
            Ok(_) => reply::empty(StatusCode::NO_CONTENT),
            Err(e) => container_error(&e, name),
        },
    }
}

/// `wait`: the exit code, as a bare JSON number.
fn wait_container(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let condition = match req.param("condition").unwrap_or("stopped") {
        "next-exit" | "not-running" => "stopped",
        c => c,
    };
    match engine.wait_container(name, condition) {
        Ok(code) => reply::ok_json(&json!(code)),
        Err(e) => container_error(&e, name),
    }
}

fn pull(engine: &Arc<dyn Engine>, req: &ApiRequest) -> Reply {
    let Some(reference) = req.param("reference").filter(|r| !r.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "reference is required");
    };
    let request = PullRequest {
        reference: reference.to_string(),
        platform: Default::default(),
        registry: super::registry::options(req),
        policy: match req.param("policy") {
            Some("missing") => PullPolicy::Missing,
            Some("newer") => PullPolicy::Newer,
            _ => PullPolicy::Always,
        },
    };
    let (reply, tx) = reply::stream(StatusCode::OK, "application/json");
    let engine = engine.clone();
    std::thread::spawn(move || {
        let send = |v: Value| {
            let _ = tx.send(bytes::Bytes::from(format!("{v}\n")));
        };
        send(json!({"stream": format!("Trying to pull {}...\n", request.reference)}));
        match engine.pull_image(&request, &NoProgress) {
            Ok(p) => send(json!({"images": [p.id], "id": p.id})),
            Err(e) => send(json!({"error": e.message})),
        }
    });
    reply
}

fn remove_image(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    match engine.remove_images(&RemoveImagesRequest {
        names: vec![name.to_string()],
        force: req.flag("force"),
        ..Default::default()
    }) {
        Ok(r) => reply::ok_json(&json!({
            "Untagged": r.untagged, "Deleted": r.deleted, "Errors": [], "ExitCode": 0,
        })),
        Err(e) => engine_error(&e),
    }
}

/// Pod actions answer with the pod's ID and the errors of its containers.
fn pod_action(r: Result<String, EngineError>) -> Reply {
    match r {
        Ok(id) => reply::ok_json(&json!({"Id": id, "Errs": []})),
        Err(e) => engine_error(&e),
    }
}

fn create_pod(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let request = tri!(spec::pod(&tri!(body(req))).map_err(|e| error(StatusCode::BAD_REQUEST, e)));
    match engine.create_pod(&request, &NoProgress) {
        Ok(c) => reply::json(StatusCode::CREATED, &json!({"Id": c.id})),
        Err(e) => engine_error(&e),
    }
}

fn remove_pod(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let r = engine.remove_pods(&RemovePodsRequest {
        names: vec![name.to_string()],
        force: req.flag("force"),
        timeout: req.param("timeout").and_then(|t| t.parse().ok()),
        ..Default::default()
    });
    match r.map(|mut v| v.pop()) {
        Ok(Some(Ok(id))) => reply::ok_json(&json!({"Id": id, "RemovedCtrs": {}, "Err": null})),
        Ok(Some(Err(e))) | Err(e) => engine_error(&e),
        Ok(None) => reply::ok_json(&json!({})),
    }
}

/// `inspect_pod` may answer with a list of one.
fn inspect_pod(engine: &dyn Engine, name: &str) -> Reply {
    match engine.inspect_pod(name) {
        Ok(Value::Array(mut docs)) if !docs.is_empty() => reply::ok_json(&docs.remove(0)),
        other => json_or(other),
    }
}

fn remove_volume(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    match engine.remove_volumes(&VolumeRemoveRequest {
        names: vec![name.to_string()],
        force: req.flag("force"),
        all: false,
    }) {
        Ok(_) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => engine_error(&e),
    }
}

fn play_kube(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let yaml = String::from_utf8_lossy(&req.body).into_owned();
    let request = KubePlayRequest {
        yaml,
        replace: req.flag("replace"),
        start: req.param("start") != Some("false"),
        networks: req.query.get("network").cloned().unwrap_or_default(),
        registry: RegistryOptions {
            tls_verify: req.param("tlsVerify").map(|v| v != "false" && v != "0"),
            ..Default::default()
        },
        ..Default::default()
    };
    match engine.play_kube(&request, &NoProgress) {
        Ok(r) => reply::ok_json(&json!({
            "Pods": r.pods.iter().map(|(id, ctrs)| json!({"ID": id, "Containers": ctrs, "InitContainers": [], "Logs": [], "ContainerErrors": []})).collect::<Vec<_>>(),
            "Volumes": r.volumes.iter().map(|v| json!({"Name": v})).collect::<Vec<_>>(),
            "Secrets": r.secrets.iter().map(|s| json!({"ID": s})).collect::<Vec<_>>(),
        })),
        Err(e) => engine_error(&e),
    }
}

fn down_kube(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    match engine.down_kube(&String::from_utf8_lossy(&req.body)) {
        Ok(r) => reply::ok_json(&json!({
            "StopReport": r.pods.iter().map(|p| json!({"Id": p})).collect::<Vec<_>>(),
            "RmReport": r.pods.iter().map(|p| json!({"Id": p})).collect::<Vec<_>>(),
            "Volumes": r.volumes.iter().map(|v| json!({"Name": v})).collect::<Vec<_>>(),
        })),
        Err(e) => engine_error(&e),
    }
}

fn generate_kube(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let names = req.query.get("names").cloned().unwrap_or_default();
    if names.is_empty() {
        return error(StatusCode::BAD_REQUEST, "names is required");
    }
    match engine.generate_kube(&names, req.flag("service")) {
        Ok(yaml) => reply::bytes(StatusCode::OK, "text/vnd.yaml", yaml.into_bytes()),
        Err(e) => engine_error(&e),
    }
}

/// The libpod routes (after `libpod/`); `None` sends the request on to Docker's.
pub fn route(shared: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let engine = shared.as_ref();
    let seg: Vec<&str> = req.segments.iter().skip(1).map(String::as_str).collect();
    let m = &req.method;
    let get = m == Method::GET;
    Some(match (m, seg.as_slice()) {
        (_, ["info"]) if get => json_or(engine.info()),
        (&Method::POST, ["containers", "create"]) => create_container(engine, req),
        (_, ["containers", "json"]) if get => list_containers(engine, req),
        (_, ["containers", name, "json"]) if get => match engine.inspect_container(name) {
            Ok(doc) => reply::ok_json(&doc),
            Err(e) => container_error(&e, name),
        },
        (_, ["containers", name, "exists"]) if get => exists(engine.container_exists(name)),
        (&Method::POST, ["containers", name, "stop"]) => stop_container(engine, req, name),
        (&Method::POST, ["containers", name, "wait"]) => wait_container(engine, req, name),
        (&Method::DELETE, ["containers", name]) => remove_container(engine, req, name),
        (_, ["images", "json"]) if get => listed(req, |filters| {
            engine.list_images(&ListImagesRequest {
                filters,
                ..Default::default()
            })
        }),
        (&Method::POST, ["images", "pull"]) => pull(shared, req),
        (_, ["images", "search"]) if get => super::registry::libpod_search(engine, req, error),
        (_, ["images", name @ .., "exists"]) if get && !name.is_empty() => {
            exists(engine.image_exists(&name.join("/")))
        }
        (_, ["images", name @ .., "json"]) if get && !name.is_empty() => {
            json_or(engine.inspect_image(&name.join("/")))
        }
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            remove_image(engine, req, &name.join("/"))
        }
        (&Method::POST, ["pods", "create"]) => create_pod(engine, req),
        (_, ["pods", "json"]) if get => listed(req, |f| engine.list_pods(&f)),
        (_, ["pods", name, "json"]) if get => inspect_pod(engine, name),
        (_, ["pods", name, "exists"]) if get => exists(engine.pod_exists(name)),
        (&Method::POST, ["pods", name, "start"]) => pod_action(engine.start_pod(name)),
        (&Method::POST, ["pods", name, "stop"]) => {
            pod_action(engine.stop_pod(name, req.param("t").and_then(|t| t.parse().ok())))
        }
        (&Method::POST, ["pods", name, "restart"]) => pod_action(engine.restart_pod(name)),
        (&Method::POST, ["pods", name, "kill"]) => {
            pod_action(engine.kill_pod(name, req.param("signal").unwrap_or("SIGKILL")))
        }
        (&Method::POST, ["pods", name, "pause"]) => pod_action(engine.pause_pod(name, false)),
        (&Method::POST, ["pods", name, "unpause"]) => pod_action(engine.pause_pod(name, true)),
        (&Method::DELETE, ["pods", name]) => remove_pod(engine, req, name),
        (&Method::POST, ["volumes", "create"]) => {
            let request = match body(req) {
                Ok(b) => spec::volume(&b),
                Err(r) => return Some(r),
            };
            match engine
                .create_volume(&request)
                .and_then(|n| engine.inspect_volume(&n))
            {
                Ok(v) => reply::json(
                    StatusCode::CREATED,
                    &serde_json::to_value(v).unwrap_or(Value::Null),
                ),
                Err(e) => engine_error(&e),
            }
        }
        (_, ["volumes", "json"]) if get => listed(req, |f| engine.list_volumes(&f)),
        (_, ["volumes", name, "json"]) if get => json_or(engine.inspect_volume(name)),
        (_, ["volumes", name, "exists"]) if get => exists(engine.volume_exists(name)),
        (&Method::DELETE, ["volumes", name]) => remove_volume(engine, req, name),
        (&Method::POST, ["networks", "create"]) => match body(req) {
            Ok(b) => json_or(engine.create_network(&spec::network_create(&b))),
            Err(r) => r,
        },
        (_, ["networks", "json"]) if get => listed(req, |f| engine.list_networks(&f)),
        (_, ["networks", name, "json"]) if get => json_or(engine.inspect_network(name)),
        (_, ["networks", name, "exists"]) if get => exists(engine.network_exists(name)),
        (&Method::DELETE, ["networks", name]) => {
            match engine.remove_network(name, req.flag("force")) {
                Ok(n) => reply::ok_json(&json!([{"Name": n}])),
                Err(e) => engine_error(&e),
            }
        }
        (&Method::POST, ["play", "kube"] | ["kube", "play"]) => play_kube(engine, req),
        (&Method::DELETE, ["play", "kube"] | ["kube", "play"]) => down_kube(engine, req),
        (_, ["generate", "kube"]) if get => generate_kube(engine, req),
        _ => return None,
    })
}
