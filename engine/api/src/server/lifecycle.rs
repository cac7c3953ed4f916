//! Docker API container lifecycle: create (Docker's config turned into the engine's
//! create request), start, stop, kill, restart, wait, remove and logs (Docker's
//! multiplexed framing), and image tag and remove.

use super::attach::container_error;
use super::fields::{strings, text};
use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::container::{
    ContainerCreateRequest, LogStream, LogsRequest, MountKind, MountSpec, RemoveContainersRequest,
    Resources, RestartPolicy,
};
use berth_types::image::{PullPolicy, RemoveImagesRequest};
use berth_types::network::PortMapping;
use berth_types::{Engine, ErrorKind};
use hyper::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// `-v SRC:DST[:OPTS]` as Docker's `Binds` lists them: a path source is a bind mount,
/// a name a volume.
fn bind(spec: &str) -> Result<MountSpec, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, options) = match parts.as_slice() {
        [dst] => (None, *dst, Vec::new()),
        [src, dst] => (Some(*src), *dst, Vec::new()),
        [src, dst, opts] => (
            Some(*src),
            *dst,
            opts.split(',').map(str::to_string).collect(),
        ),
        _ => {
            return Err(format!(
                "invalid bind {spec:?}: expected SOURCE:DESTINATION[:OPTIONS]"
            ))
        }
    };
    if !destination.starts_with('/') {
        return Err(format!(
            "invalid bind {spec:?}: the destination must be an absolute path"
        ));
    }
    let kind = match source {
        Some(s) if s.starts_with('/') => MountKind::Bind,
        _ => MountKind::Volume,
    };
    Ok(MountSpec {
        kind,
        source: source.map(str::to_string),
        destination: destination.to_string(),
        options,
    })
}

/// `PortBindings`: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`.
fn ports(v: &Value) -> Result<Vec<PortMapping>, String> {
    let mut out = Vec::new();
    let Some(map) = v.as_object() else {
        return Ok(out);
    };
    for (key, bindings) in map {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let container_port: u16 = port
            .parse()
            .map_err(|_| format!("invalid port {key:?} in PortBindings"))?;
        for b in bindings.as_array().into_iter().flatten() {
            let host_port = match b["HostPort"].as_str().unwrap_or("") {
                "" => 0,
                p => p
                    .parse()
                    .map_err(|_| format!("invalid host port {p:?} for {key}"))?,
            };
            out.push(PortMapping {
                host_ip: b["HostIp"].as_str().unwrap_or("").to_string(),
                container_port,
                host_port,
                protocol: proto.to_string(),
                range: 1,
            });
        }
    }
    Ok(out)
}

/// Docker's create body as the engine's request.
pub fn create_request(body: &Value, name: Option<&str>) -> Result<ContainerCreateRequest, String> {
    let host = &body["HostConfig"];
    let image = text(&body["Image"]).ok_or("the config names no Image")?;
    // A mode, or the name of a network to join (with its endpoint's aliases).
    let (network, networks) = match host["NetworkMode"].as_str().unwrap_or("") {
        "" | "default" | "bridge" => ("bridge".to_string(), Vec::new()),
        mode @ ("host" | "none" | "pasta" | "slirp4netns") => (mode.to_string(), Vec::new()),
        mode if mode.starts_with("container:") || mode.starts_with("ns:") => {
            (mode.to_string(), Vec::new())
        }
        name => {
            let endpoint = &body["NetworkingConfig"]["EndpointsConfig"][name];
            let attachment = berth_types::network::NetworkAttachment {
                network: name.to_string(),
                aliases: strings(&endpoint["Aliases"]),
                ips: text(&endpoint["IPAMConfig"]["IPv4Address"])
                    .into_iter()
                    .collect(),
                mac: None,
            };
            ("bridge".to_string(), vec![attachment])
        }
    };
    let mounts = strings(&host["Binds"])
        .iter()
        .map(|b| bind(b))
        .collect::<Result<Vec<_>, _>>()?;
    let restart = RestartPolicy {
        name: match host["RestartPolicy"]["Name"].as_str().unwrap_or("") {
            "" => String::new(),
            n => n.to_string(),
        },
        max_retries: host["RestartPolicy"]["MaximumRetryCount"]
            .as_u64()
            .unwrap_or(0) as u32,
    };
    let nano = host["NanoCpus"].as_i64().unwrap_or(0);
    Ok(ContainerCreateRequest {
        image,
        name: name
            .filter(|n| !n.is_empty())
            .map(|n| n.trim_start_matches('/').to_string()),
        command: strings(&body["Cmd"]),
        entrypoint: body["Entrypoint"]
            .is_array()
            .then(|| strings(&body["Entrypoint"])),
        env: strings(&body["Env"]),
        workdir: text(&body["WorkingDir"]),
        user: text(&body["User"]),
        hostname: text(&body["Hostname"]),
        labels: serde_json::from_value(body["Labels"].clone()).unwrap_or_default(),
        tty: body["Tty"].as_bool().unwrap_or(false),
        interactive: body["OpenStdin"].as_bool().unwrap_or(false),
        remove: host["AutoRemove"].as_bool().unwrap_or(false),
        init: host["Init"].as_bool().unwrap_or(false),
        read_only: host["ReadonlyRootfs"].as_bool().unwrap_or(false),
        privileged: host["Privileged"].as_bool().unwrap_or(false),
        cap_add: strings(&host["CapAdd"]),
        cap_drop: strings(&host["CapDrop"]),
        security_opt: strings(&host["SecurityOpt"]),
        mounts,
        resources: Resources {
            memory: host["Memory"].as_i64().filter(|m| *m > 0),
            cpus: (nano > 0).then(|| nano as f64 / 1e9),
            ..Default::default()
        },
        restart,
        stop_signal: text(&body["StopSignal"]),
        stop_timeout: body["StopTimeout"].as_u64().map(|t| t as u32),
        log_driver: "k8s-file".into(),
        pull: PullPolicy::Never,
        network,
        networks,
        ports: ports(&host["PortBindings"])?,
        dns: strings(&host["Dns"]),
        add_hosts: strings(&host["ExtraHosts"]),
        ..Default::default()
    })
}

fn create(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    let body = match req.json_body() {
        Ok(v) => v,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    let request = match create_request(&body, req.param("name")) {
        Ok(r) => r,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    if !engine.image_exists(&request.image).unwrap_or(false) {
        return reply::error(
            StatusCode::NOT_FOUND,
            format!("No such image: {}", request.image),
        );
    }
    match engine.create_container(&request, &berth_types::progress::NoProgress) {
        Ok(c) => reply::json(
            StatusCode::CREATED,
            &json!({"Id": c.id, "Warnings": c.warnings}),
        ),
        Err(e) => reply::engine_error(&e),
    }
}

fn state_of(engine: &dyn Engine, name: &str) -> Option<String> {
    engine
        .inspect_container(name)
        .ok()
        .and_then(|d| d["State"]["Status"].as_str().map(str::to_string))
}

fn stop(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    match state_of(engine, name).as_deref() {
        None => return reply::error(StatusCode::NOT_FOUND, format!("No such container: {name}")),
        Some("running" | "paused" | "stopping") => {}
        Some(_) => return reply::empty(StatusCode::NOT_MODIFIED),
    }
    let timeout = req.param("t").and_then(|t| t.parse().ok());
    match engine.stop_container(name, timeout) {
        Ok(_) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => container_error(&e, name),
    }
}

fn kill(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let signal = req.param("signal").unwrap_or("KILL");
    match engine.kill_container(name, signal) {
        Ok(_) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => container_error(&e, name),
    }
}

fn restart(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let timeout = req.param("t").and_then(|t| t.parse().ok());
    match engine.restart_container(name, timeout) {
        Ok(_) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => container_error(&e, name),
    }
}

/// `wait`: the headers at once (clients start the container after them), the exit
/// code when it comes (`condition=removed`: once the container is gone too).
fn wait(engine: &Arc<dyn Engine>, req: &ApiRequest, name: &str) -> Reply {
    if let Err(e) = engine.inspect_container(name) {
        return container_error(&e, name);
    }
    let (reply, tx) = reply::stream(StatusCode::OK, "application/json");
    let (engine, name) = (engine.clone(), name.to_string());
    let removed = req.param("condition") == Some("removed");
    std::thread::spawn(move || {
        let doc = match engine.wait_container(&name, "stopped") {
            Ok(code) => {
                if removed {
                    while engine.container_exists(&name).unwrap_or(false) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                }
                json!({"StatusCode": code, "Error": null})
            }
            Err(e) => json!({"StatusCode": -1, "Error": {"Message": e.message}}),
        };
        let mut bytes = serde_json::to_vec(&doc).unwrap_or_default();
        bytes.push(b'\n');
        let _ = tx.send(bytes::Bytes::from(bytes));
    });
    reply
}

fn remove(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let r = engine.remove_containers(&RemoveContainersRequest {
        names: vec![name.to_string()],
        force: req.flag("force"),
        volumes: req.flag("v"),
        // Docker kills a container it removes by force, with no grace period.
        timeout: Some(0),
        ..Default::default()
    });
    match r.map(|mut v| v.pop()) {
        Ok(Some(Ok(_))) => reply::empty(StatusCode::NO_CONTENT),
        Ok(Some(Err(e))) | Err(e) => container_error(&e, name),
        Ok(None) => reply::empty(StatusCode::NO_CONTENT),
    }
}

/// Docker's `since`/`until`: Unix seconds, maybe with a fraction; 0 means unset.
fn unix_nanos(v: Option<&str>) -> Option<i64> {
    let secs: f64 = v?.parse().ok()?;
    (secs > 0.0).then_some((secs * 1e9) as i64)
}

/// Logs in Docker's framing (a TTY container's raw), streamed as they are read and,
/// with `follow`, until the container stops or the client goes away.
fn logs(engine: &Arc<dyn Engine>, req: &ApiRequest, name: &str) -> Reply {
    let tty = engine
        .inspect_container(name)
        .map(|d| d["Config"]["Tty"].as_bool().unwrap_or(false));
    let tty = match tty {
        Ok(t) => t,
        Err(e) => return container_error(&e, name),
    };
    let (want_out, want_err) = (req.flag("stdout"), req.flag("stderr"));
    let request = LogsRequest {
        name: name.to_string(),
        follow: req.flag("follow"),
        tail: req.param("tail").and_then(|t| t.parse().ok()),
        since: unix_nanos(req.param("since")),
        until: unix_nanos(req.param("until")),
        timestamps: req.flag("timestamps"),
    };
    let (reply, tx) = reply::stream(StatusCode::OK, super::hijack::content_type(tty));
    let engine = engine.clone();
    std::thread::spawn(move || {
        let gone = tx.clone();
        let wanted = move || !gone.is_closed();
        let _ = engine.container_logs_while(
            &request,
            &mut |line| {
                let (wanted, stream) = match line.stream {
                    LogStream::Stdout => (want_out, super::hijack::STDOUT),
                    LogStream::Stderr => (want_err, super::hijack::STDERR),
                };
                if !wanted {
                    return !tx.is_closed();
                }
                let mut payload = Vec::new();
                if request.timestamps {
                    payload.extend_from_slice(line.time.as_bytes());
                    payload.push(b' ');
                }
                payload.extend_from_slice(&line.text);
                if !line.partial {
                    payload.push(b'\n');
                }
                if !tty {
                    payload = super::hijack::frame(stream, &payload);
                }
                tx.send(bytes::Bytes::from(payload)).is_ok()
            },
            &wanted,
        );
    });
    reply
}

fn tag(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let Some(repo) = req.param("repo").filter(|r| !r.is_empty()) else {
        return reply::error(StatusCode::BAD_REQUEST, "repo is required");
    };
    let target = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    };
    match engine.tag_image(name, &[target]) {
        Ok(()) => reply::empty(StatusCode::CREATED),
        Err(e) if e.kind == ErrorKind::NotFound => {
            reply::error(StatusCode::NOT_FOUND, format!("No such image: {name}"))
        }
        Err(e) => reply::engine_error(&e),
    }
}

fn remove_image(engine: &dyn Engine, req: &ApiRequest, name: &str) -> Reply {
    let r = engine.remove_images(&RemoveImagesRequest {
        names: vec![name.to_string()],
        force: req.flag("force"),
        ..Default::default()
    });
    match r {
        Ok(report) => {
            let mut items: Vec<Value> = report
                .untagged
                .iter()
                .map(|u| json!({"Untagged": u}))
                .collect();
            items.extend(report.deleted.iter().map(|d| json!({"Deleted": d})));
            reply::ok_json(&Value::Array(items))
        }
        Err(e) if e.kind == ErrorKind::NotFound => {
            reply::error(StatusCode::NOT_FOUND, format!("No such image: {name}"))
        }
        Err(e) => reply::engine_error(&e),
    }
}

/// The lifecycle routes; `None` when nothing matches.
pub fn route(shared: &Arc<dyn Engine>, req: &ApiRequest) -> Option<Reply> {
    use hyper::Method;
    let engine = shared.as_ref();
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    Some(match (&req.method, seg.as_slice()) {
        (&Method::POST, ["containers", "create"]) => create(engine, req),
        (&Method::POST, ["images", "create"]) => super::pull::create(shared, req),
        (&Method::POST, ["containers", name, "stop"]) => stop(engine, req, name),
        (&Method::POST, ["containers", name, "kill"]) => kill(engine, req, name),
        (&Method::POST, ["containers", name, "restart"]) => restart(engine, req, name),
        (&Method::POST, ["containers", name, "wait"]) => wait(shared, req, name),
        (&Method::DELETE, ["containers", name]) => remove(engine, req, name),
        (&Method::GET, ["containers", name, "logs"]) => logs(shared, req, name),
        (&Method::POST, ["images", name @ .., "tag"]) => tag(engine, req, &name.join("/")),
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            remove_image(engine, req, &name.join("/"))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dockers_create_body_becomes_the_engines_request() {
        let body = serde_json::json!({
            "Image": "busybox", "Cmd": ["sleep", "9"], "Env": ["A=b"], "Tty": true,
            "Labels": {"k": "v"},
            "HostConfig": {
                "Binds": ["/srv:/data:ro", "cache:/cache"],
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                "NetworkMode": "default", "Memory": 67108864, "NanoCpus": 500000000,
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "AutoRemove": true
            }
        });
        let r = super::create_request(&body, Some("/web")).expect("request");
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.command, ["sleep", "9"]);
        assert_eq!(r.entrypoint, None);
        assert_eq!(r.network, "bridge");
        assert_eq!(r.mounts[0].kind, berth_types::container::MountKind::Bind);
        assert_eq!(r.mounts[0].options, ["ro"]);
        assert_eq!(r.mounts[1].kind, berth_types::container::MountKind::Volume);
        assert_eq!(
            (r.ports[0].host_port, r.ports[0].container_port),
            (8080, 80)
        );
        assert_eq!(r.resources.memory, Some(67_108_864));
        assert_eq!(r.resources.cpus, Some(0.5));
        assert_eq!(r.restart.max_retries, 3);
        assert!(r.remove && r.tty);
        assert!(super::create_request(&serde_json::json!({}), None).is_err());
        let bad = serde_json::json!({"Image": "x", "HostConfig": {"Binds": ["a:relative"]}});
        assert!(super::create_request(&bad, None).is_err());
    }
}
