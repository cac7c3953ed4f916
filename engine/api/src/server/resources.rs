//! Docker API volumes and networks: list, create, inspect, remove, prune, and a
//! container's network connect and disconnect, in Docker's shapes.

use super::fields::{string_map, text};
use super::reply::{self, Reply};
use super::request::ApiRequest;
use berth_types::network::{Network, NetworkAttachment, NetworkCreateRequest, SubnetRequest};
use berth_types::volume::{VolumeCreateRequest, VolumeInspect, VolumeRemoveRequest};
use berth_types::{Engine, ErrorKind};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

fn volume_json(v: &VolumeInspect) -> Value {
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": v.mountpoint,
        "CreatedAt": v.created_at,
        "Labels": v.labels,
        "Scope": "local",
        "Options": v.options,
    })
}

fn network_json(n: &Network) -> Value {
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": n.subnets.iter().map(|s| json!({"Subnet": s.subnet, "Gateway": s.gateway})).collect::<Vec<_>>(),
        },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "Containers": {},
        "Options": n.options,
        "Labels": n.labels,
    })
}

fn not_found(e: &berth_types::EngineError, what: &str, name: &str) -> Reply {
    if e.kind == ErrorKind::NotFound {
        return reply::error(StatusCode::NOT_FOUND, format!("{what} {name} not found"));
    }
    reply::engine_error(e)
}

fn volumes(engine: &dyn Engine, req: &ApiRequest, seg: &[&str]) -> Option<Reply> {
    Some(match (&req.method, seg) {
        (&Method::GET, []) => req.with_filters(|filters| match engine.list_volumes(&filters) {
            Ok(list) => reply::ok_json(&json!({
                "Volumes": list.iter().map(volume_json).collect::<Vec<_>>(),
                "Warnings": [],
            })),
            Err(e) => reply::engine_error(&e),
        }),
        (&Method::POST, ["create"]) => {
            let b = match req.json_body() {
                Ok(b) => b,
                Err(e) => return Some(reply::error(StatusCode::BAD_REQUEST, e)),
            };
            let request = VolumeCreateRequest {
                name: text(&b["Name"]),
                driver: text(&b["Driver"]),
                labels: string_map(&b["Labels"]),
                options: string_map(&b["DriverOpts"]),
                ignore_if_exists: false,
            };
            match engine
                .create_volume(&request)
                .and_then(|n| engine.inspect_volume(&n))
            {
                Ok(v) => reply::json(StatusCode::CREATED, &volume_json(&v)),
                Err(e) => reply::engine_error(&e),
            }
        }
        (&Method::POST, ["prune"]) => match engine.prune_volumes(&[]) {
            Ok(names) => reply::ok_json(&json!({"VolumesDeleted": names, "SpaceReclaimed": 0})),
            Err(e) => reply::engine_error(&e),
        },
        (&Method::GET, [name]) => match engine.inspect_volume(name) {
            Ok(v) => reply::ok_json(&volume_json(&v)),
            Err(e) => not_found(&e, "volume", name),
        },
        (&Method::DELETE, [name]) => {
            let request = VolumeRemoveRequest {
                names: vec![name.to_string()],
                force: req.flag("force"),
                all: false,
            };
            match engine.remove_volumes(&request) {
                Ok(_) => reply::empty(StatusCode::NO_CONTENT),
                Err(e) => not_found(&e, "volume", name),
            }
        }
        _ => return None,
    })
}

fn networks(engine: &dyn Engine, req: &ApiRequest, seg: &[&str]) -> Option<Reply> {
    Some(match (&req.method, seg) {
        (&Method::GET, []) => req.with_filters(|filters| match engine.list_networks(&filters) {
            Ok(list) => reply::ok_json(&Value::Array(list.iter().map(network_json).collect())),
            Err(e) => reply::engine_error(&e),
        }),
        (&Method::POST, ["create"]) => {
            let b = match req.json_body() {
                Ok(b) => b,
                Err(e) => return Some(reply::error(StatusCode::BAD_REQUEST, e)),
            };
            let subnets = b["IPAM"]["Config"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    Some(SubnetRequest {
                        subnet: c["Subnet"].as_str()?.to_string(),
                        gateway: c["Gateway"].as_str().map(str::to_string),
                        ip_range: c["IPRange"].as_str().map(str::to_string),
                    })
                })
                .collect();
            let request = NetworkCreateRequest {
                name: text(&b["Name"]),
                driver: text(&b["Driver"]),
                subnets,
                ipv6: b["EnableIPv6"].as_bool().unwrap_or(false),
                internal: b["Internal"].as_bool().unwrap_or(false),
                labels: string_map(&b["Labels"]),
                options: string_map(&b["Options"]),
                ..Default::default()
            };
            match engine.create_network(&request) {
                Ok(n) => reply::json(StatusCode::CREATED, &json!({"Id": n.id, "Warning": ""})),
                Err(e) => reply::engine_error(&e),
            }
        }
        (&Method::POST, ["prune"]) => match engine.prune_networks(&[]) {
            Ok(names) => reply::ok_json(&json!({"NetworksDeleted": names})),
            Err(e) => reply::engine_error(&e),
        },
        (&Method::GET, [name]) => match engine.inspect_network(name) {
            Ok(n) => reply::ok_json(&network_json(&n)),
            Err(e) => not_found(&e, "network", name),
        },
        (&Method::DELETE, [name]) => match engine.remove_network(name, false) {
            Ok(_) => reply::empty(StatusCode::NO_CONTENT),
            Err(e) => not_found(&e, "network", name),
        },
        (&Method::POST, [name, action @ ("connect" | "disconnect")]) => {
            let b = match req.json_body() {
                Ok(b) => b,
                Err(e) => return Some(reply::error(StatusCode::BAD_REQUEST, e)),
            };
            let Some(container) = b["Container"].as_str() else {
                return Some(reply::error(
                    StatusCode::BAD_REQUEST,
                    "Container is required",
                ));
            };
            let done = if *action == "connect" {
                let endpoint = &b["EndpointConfig"];
                let attachment = NetworkAttachment {
                    network: name.to_string(),
                    aliases: endpoint["Aliases"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    ips: endpoint["IPAMConfig"]["IPv4Address"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(|s| vec![s.to_string()])
                        .unwrap_or_default(),
                    mac: None,
                };
                engine.connect_network(container, &attachment)
            } else {
                engine.disconnect_network(container, name, b["Force"].as_bool().unwrap_or(false))
            };
            match done {
                Ok(()) => reply::empty(StatusCode::OK),
                Err(e) => reply::engine_error(&e),
            }
        }
        _ => return None,
    })
}

/// The volume and network routes; `None` when nothing matches.
pub fn route(engine: &dyn Engine, req: &ApiRequest) -> Option<Reply> {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match seg.split_first() {
        Some((&"volumes", rest)) => volumes(engine, req, rest),
        Some((&"networks", rest)) => networks(engine, req, rest),
        _ => None,
    }
}
