//! Docker Engine API handlers: the shapes the docker CLI, docker-py and compose read,
//! made from the engine's answers.

use super::reply::{self, Reply, API_VERSION, MIN_API_VERSION};
use super::request::ApiRequest;
use berth_types::container::{ContainerSummary, ListContainersRequest};
use berth_types::image::ListImagesRequest;
use berth_types::Engine;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

/// Docker's human durations (`Less than a second`, `2 minutes`, `About an hour`…).
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        172_800..=1_209_599 => format!("{} days", s / 86_400),
        1_209_600..=5_183_999 => format!("{} weeks", s / 604_800),
        5_184_000..=63_071_999 => format!("{} months", s / 2_592_000),
        _ => format!("{} years", s / 31_536_000),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `Up 5 seconds`, `Exited (0) 2 minutes ago`, `Created`, as `docker ps` shows them.
fn status(c: &ContainerSummary) -> String {
    match c.state.as_str() {
        "running" => format!("Up {}", human_duration(now() - c.started_at)),
        "paused" => format!("Up {} (Paused)", human_duration(now() - c.started_at)),
        "exited" => format!(
            "Exited ({}) {} ago",
            c.exit_code,
            human_duration(now() - c.exited_at)
        ),
        "created" => "Created".into(),
        other => other.to_string(),
    }
}

fn container_json(c: &ContainerSummary) -> Value {
    json!({
        "Id": c.id,
        "Names": c.names.iter().map(|n| format!("/{n}")).collect::<Vec<_>>(),
        "Image": c.image,
        "ImageID": format!("sha256:{}", c.image_id.trim_start_matches("sha256:")),
        "Command": c.command.join(" "),
        "Created": c.created,
        "Ports": c.ports.iter().map(|p| json!({
            "IP": if p.host_ip.is_empty() { "0.0.0.0" } else { p.host_ip.as_str() },
            "PrivatePort": p.container_port,
            "PublicPort": p.host_port,
            "Type": p.protocol,
        })).collect::<Vec<_>>(),
        "Labels": c.labels,
        "State": c.state,
        "Status": status(c),
        "HostConfig": {"NetworkMode": c.networks.first().cloned().unwrap_or_else(|| "default".into())},
        "NetworkSettings": {"Networks": c.networks.iter().map(|n| (n.clone(), json!({}))).collect::<serde_json::Map<_, _>>()},
        "Mounts": c.mounts.iter().map(|m| json!({"Destination": m})).collect::<Vec<_>>(),
    })
}

fn version(engine: &dyn Engine) -> Reply {
    let v = match engine.version() {
        Ok(v) => v,
        Err(e) => return reply::engine_error(&e),
    };
    let (os, arch) = v.os_arch.split_once('/').unwrap_or(("linux", "amd64"));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    reply::ok_json(&json!({
        "Platform": {"Name": "Berth Engine"},
        "Components": [{
            "Name": "Engine",
            "Version": v.version,
            "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "GitCommit": v.git_commit, "GoVersion": v.rust_version, "Os": os, "Arch": arch, "KernelVersion": kernel, "Experimental": "false", "BuildTime": v.built_time},
        }],
        "Version": v.version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": v.git_commit,
        "GoVersion": v.rust_version,
        "Os": os,
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": v.built_time,
    }))
}

fn info(engine: &dyn Engine) -> Reply {
    let containers = engine
        .list_containers(&ListContainersRequest {
            all: true,
            ..Default::default()
        })
        .unwrap_or_default();
    let count = |state: &str| containers.iter().filter(|c| c.state == state).count();
    let images = engine
        .list_images(&ListImagesRequest::default())
        .map(|i| i.len())
        .unwrap_or(0);
    let info = match engine.info() {
        Ok(i) => serde_json::to_value(i).unwrap_or(Value::Null),
        Err(e) => return reply::engine_error(&e),
    };
    let host = &info["host"];
    reply::ok_json(&json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": count("running"),
        "ContainersPaused": count("paused"),
        "ContainersStopped": containers.len() - count("running") - count("paused"),
        "Images": images,
        "Driver": "overlay",
        "Name": host["hostname"],
        "OperatingSystem": host["distribution"]["distribution"],
        "OSType": "linux",
        "Architecture": host["arch"],
        "KernelVersion": host["kernel"],
        "NCPU": host["cpus"],
        "MemTotal": host["memTotal"],
        "CgroupDriver": host["cgroupManager"],
        "CgroupVersion": host["cgroupVersion"].as_str().map(|v| v.trim_start_matches('v')).unwrap_or("1"),
        "DockerRootDir": info["store"]["graphRoot"],
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": {"runc": {"path": "runc"}, "crun": {"path": "crun"}},
        "DefaultRuntime": host["ociRuntime"]["name"],
        "SecurityOptions": ["name=seccomp,profile=default"],
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["k8s-file", "json-file", "none"]},
        "Warnings": [],
    }))
}

fn containers_json(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    req.with_filters(|filters| {
        let list = engine.list_containers(&ListContainersRequest {
            all: req.flag("all"),
            filters,
            size: req.flag("size"),
        });
        match list {
            Ok(list) => reply::ok_json(&Value::Array(list.iter().map(container_json).collect())),
            Err(e) => reply::engine_error(&e),
        }
    })
}

/// An image as Docker lists it; `containers` is how many use it (-1: not counted).
fn image_json(i: &berth_types::image::ImageSummary, containers: i64) -> Value {
    json!({
        "Id": format!("sha256:{}", i.id.trim_start_matches("sha256:")),
        "ParentId": i.parent_id,
        "RepoTags": i.repo_tags,
        "RepoDigests": i.repo_digests,
        "Created": i.created,
        "Size": i.size,
        "SharedSize": if containers < 0 { -1 } else { 0 },
        "VirtualSize": i.virtual_size,
        "Labels": i.labels.clone().unwrap_or_default(),
        "Containers": containers,
    })
}

fn images_json(engine: &dyn Engine, req: &ApiRequest) -> Reply {
    req.with_filters(|filters| {
        match engine.list_images(&ListImagesRequest {
            filters,
            ..Default::default()
        }) {
            Ok(list) => reply::ok_json(&Value::Array(
                list.iter().map(|i| image_json(i, -1)).collect(),
            )),
            Err(e) => reply::engine_error(&e),
        }
    })
}

fn container_inspect(engine: &dyn Engine, name: &str) -> Reply {
    match engine.inspect_container(name) {
        Ok(mut doc) => {
            // Docker names start with a slash.
            if let Some(n) = doc["Name"].as_str().map(|n| format!("/{n}")) {
                doc["Name"] = json!(n);
            }
            // The log is read back through the API as Docker's json-file log is:
            // clients that only read logs of that driver (docker-py's run) must see it.
            if doc["HostConfig"]["LogConfig"]["Type"] == "k8s-file" {
                doc["HostConfig"]["LogConfig"]["Type"] = json!("json-file");
            }
            reply::ok_json(&doc)
        }
        Err(e) if e.kind == berth_types::ErrorKind::NotFound => {
            reply::error(StatusCode::NOT_FOUND, format!("No such container: {name}"))
        }
        Err(e) => reply::engine_error(&e),
    }
}

/// `GET /system/df`: images, containers and volumes with their sizes and use.
fn disk_usage(engine: &dyn Engine) -> Reply {
    let images = match engine.list_images(&ListImagesRequest::default()) {
        Ok(l) => l,
        Err(e) => return reply::engine_error(&e),
    };
    let containers = match engine.list_containers(&ListContainersRequest {
        all: true,
        size: true,
        ..Default::default()
    }) {
        Ok(l) => l,
        Err(e) => return reply::engine_error(&e),
    };
    let volumes = match engine.list_volumes(&[]) {
        Ok(l) => l,
        Err(e) => return reply::engine_error(&e),
    };
    let layers: u64 = images.iter().map(|i| i.size).sum();
    let using = |id: &str| containers.iter().filter(|c| c.image_id == id).count();
    reply::ok_json(&json!({
        "LayersSize": layers,
        "Images": images.iter().map(|i| image_json(i, using(&i.id) as i64)).collect::<Vec<_>>(),
        "Containers": containers.iter().map(|c| {
            let mut doc = container_json(c);
            doc["SizeRw"] = json!(c.size.unwrap_or(0));
            doc["SizeRootFs"] = json!(0);
            doc
        }).collect::<Vec<_>>(),
        "Volumes": volumes.iter().map(|v| json!({
            "Name": v.name,
            "Driver": v.driver,
            "Mountpoint": v.mountpoint,
            "CreatedAt": v.created_at,
            "Labels": v.labels,
            "Scope": v.scope,
            "Options": v.options,
            "UsageData": {"Size": -1, "RefCount": v.mount_count},
        })).collect::<Vec<_>>(),
        "BuildCache": [],
    }))
}

/// The Docker API's routes; `None` when nothing matches.
pub fn route(engine: &dyn Engine, req: &ApiRequest) -> Option<Reply> {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    Some(match (&req.method, seg.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => reply::text(StatusCode::OK, "OK"),
        (_, ["version"]) if get => version(engine),
        (_, ["info"]) if get => info(engine),
        (_, ["containers", "json"]) if get => containers_json(engine, req),
        (_, ["containers", name, "json"]) if get => container_inspect(engine, name),
        (_, ["images", "json"]) if get => images_json(engine, req),
        (_, ["system", "df"]) if get => disk_usage(engine),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_dockers() {
        use super::human_duration as h;
        assert_eq!(h(0), "Less than a second");
        assert_eq!(h(5), "5 seconds");
        assert_eq!(h(90), "About a minute");
        assert_eq!(h(600), "10 minutes");
        assert_eq!(h(4000), "About an hour");
        assert_eq!(h(3 * 86_400), "3 days");
    }
}
