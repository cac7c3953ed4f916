//! Podman's create bodies (`SpecGenerator` for containers, `PodSpecGenerator` for pods,
//! and the volume and network create bodies) as the engine's requests.

use crate::server::fields::{string_map, strings, text};
use berth_types::container::{
    ContainerCreateRequest, MountKind, MountSpec, Resources, RestartPolicy,
};
use berth_types::image::PullPolicy;
use berth_types::network::{NetworkAttachment, NetworkCreateRequest, PortMapping, SubnetRequest};
use berth_types::pod::PodCreateRequest;
use berth_types::volume::VolumeCreateRequest;
use serde_json::Value;

/// `portmappings`: `[{"container_port": 80, "host_port": 8080, "host_ip": "", "protocol": "tcp", "range": 1}]`.
fn ports(v: &Value) -> Result<Vec<PortMapping>, String> {
    let mut out = Vec::new();
    for p in v.as_array().into_iter().flatten() {
        let container_port = p["container_port"]
            .as_u64()
            .filter(|n| (1..=65535).contains(n))
            .ok_or_else(|| format!("invalid port mapping {p}: container_port must be 1-65535"))?;
        let host_port = p["host_port"].as_u64().unwrap_or(0);
        if host_port > 65535 {
            return Err(format!(
                "invalid port mapping {p}: host_port must be 0-65535"
            ));
        }
        out.push(PortMapping {
            host_ip: p["host_ip"].as_str().unwrap_or("").to_string(),
            container_port: container_port as u16,
            host_port: host_port as u16,
            protocol: p["protocol"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("tcp")
                .to_string(),
            range: p["range"].as_u64().unwrap_or(1).clamp(1, 65535) as u16,
        });
    }
    Ok(out)
}

/// `netns` and `networks` (and podman-py's `cni_networks`): the mode, and the named
/// networks to join with their aliases.
fn network(body: &Value) -> (String, Vec<NetworkAttachment>) {
    let mut attachments: Vec<NetworkAttachment> = body["networks"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, opts)| NetworkAttachment {
                    network: name.clone(),
                    aliases: strings(&opts["aliases"]),
                    ips: strings(&opts["static_ips"]),
                    mac: None,
                })
                .collect()
        })
        .unwrap_or_default();
    for name in strings(&body["cni_networks"]) {
        if !attachments.iter().any(|a| a.network == name) {
            attachments.push(NetworkAttachment {
                network: name,
                ..Default::default()
            });
        }
    }
    let mode = match body["netns"]["nsmode"].as_str().unwrap_or("") {
        "" | "bridge" | "default" | "private" => "bridge".to_string(),
        "host" => "host".into(),
        "none" => "none".into(),
        "slirp4netns" => "slirp4netns".into(),
        "pasta" => "pasta".into(),
        "container" => format!(
            "container:{}",
            body["netns"]["value"].as_str().unwrap_or("")
        ),
        "path" => format!("ns:{}", body["netns"]["value"].as_str().unwrap_or("")),
        other => other.to_string(),
    };
    (mode, attachments)
}

fn resources(v: &Value) -> Resources {
    let quota = v["cpu"]["quota"].as_i64().unwrap_or(0);
    let period = v["cpu"]["period"].as_u64().unwrap_or(100_000).max(1);
    Resources {
        memory: v["memory"]["limit"].as_i64().filter(|m| *m > 0),
        cpus: (quota > 0).then(|| quota as f64 / period as f64),
        pids_limit: v["pids"]["limit"].as_i64().filter(|p| *p > 0),
        ..Default::default()
    }
}

/// A `SpecGenerator` as the engine's create request.
pub fn container(body: &Value) -> Result<ContainerCreateRequest, String> {
    let image = text(&body["image"]).ok_or("the spec names no image")?;
    let mut mounts = Vec::new();
    for m in body["mounts"].as_array().into_iter().flatten() {
        let destination =
            text(&m["destination"]).ok_or_else(|| format!("mount {m} has no destination"))?;
        let kind = match m["type"].as_str().unwrap_or("bind") {
            "bind" => MountKind::Bind,
            "volume" => MountKind::Volume,
            "tmpfs" => MountKind::Tmpfs,
            other => return Err(format!("mount {m}: unsupported type {other:?}")),
        };
        mounts.push(MountSpec {
            kind,
            source: text(&m["source"]),
            destination,
            options: strings(&m["options"]),
        });
    }
    for v in body["volumes"].as_array().into_iter().flatten() {
        mounts.push(MountSpec {
            kind: MountKind::Volume,
            source: text(&v["Name"]),
            destination: text(&v["Dest"]).ok_or_else(|| format!("volume {v} has no Dest"))?,
            options: strings(&v["Options"]),
        });
    }
    if let Some(m) = mounts.iter().find(|m| !m.destination.starts_with('/')) {
        return Err(format!(
            "mount destination {:?} must be an absolute path",
            m.destination
        ));
    }
    let (network, networks) = network(body);
    let env = string_map(&body["env"])
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Ok(ContainerCreateRequest {
        image,
        name: text(&body["name"]),
        command: strings(&body["command"]),
        entrypoint: body["entrypoint"]
            .is_array()
            .then(|| strings(&body["entrypoint"])),
        env,
        workdir: text(&body["work_dir"]),
        user: text(&body["user"]),
        hostname: text(&body["hostname"]),
        labels: string_map(&body["labels"]),
        tty: body["terminal"].as_bool().unwrap_or(false),
        interactive: body["stdin"].as_bool().unwrap_or(false),
        remove: body["remove"].as_bool().unwrap_or(false),
        init: body["init"].as_bool().unwrap_or(false),
        read_only: body["read_only_filesystem"].as_bool().unwrap_or(false),
        privileged: body["privileged"].as_bool().unwrap_or(false),
        cap_add: strings(&body["cap_add"]),
        cap_drop: strings(&body["cap_drop"]),
        mounts,
        resources: resources(&body["resource_limits"]),
        restart: RestartPolicy {
            name: body["restart_policy"].as_str().unwrap_or("").to_string(),
            max_retries: body["restart_tries"].as_u64().unwrap_or(0) as u32,
        },
        stop_signal: body["stop_signal"]
            .as_i64()
            .map(|n| n.to_string())
            .or_else(|| text(&body["stop_signal"])),
        stop_timeout: body["stop_timeout"].as_u64().map(|t| t as u32),
        log_driver: "k8s-file".into(),
        pull: PullPolicy::Never,
        network,
        networks,
        ports: ports(&body["portmappings"])?,
        dns: strings(&body["dns_server"]),
        add_hosts: strings(&body["hostadd"]),
        pod: body["pod"].as_str().unwrap_or("").to_string(),
        ..Default::default()
    })
}

/// A `PodSpecGenerator` as the engine's pod request.
pub fn pod(body: &Value) -> Result<PodCreateRequest, String> {
    let (network, networks) = network(body);
    let mut req = PodCreateRequest {
        name: text(&body["name"]),
        infra: !body["no_infra"].as_bool().unwrap_or(false),
        labels: string_map(&body["labels"]),
        hostname: text(&body["hostname"]),
        ports: ports(&body["portmappings"])?,
        network,
        networks,
        dns: strings(&body["dns_server"]),
        add_hosts: strings(&body["hostadd"]),
        ..Default::default()
    };
    if let Some(share) = body["shared_namespaces"].as_array() {
        req.share = share
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
    }
    Ok(req)
}

pub fn volume(body: &Value) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: text(&body["Name"]).or_else(|| text(&body["name"])),
        driver: text(&body["Driver"]).or_else(|| text(&body["driver"])),
        labels: string_map(if body["Labels"].is_object() {
            &body["Labels"]
        } else {
            &body["labels"]
        }),
        options: string_map(if body["Options"].is_object() {
            &body["Options"]
        } else {
            &body["options"]
        }),
        ignore_if_exists: body["IgnoreIfExists"].as_bool().unwrap_or(false),
    }
}

pub fn network_create(body: &Value) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: text(&body["name"]),
        driver: text(&body["driver"]),
        subnets: body["subnets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(SubnetRequest {
                    subnet: text(&s["subnet"])?,
                    gateway: text(&s["gateway"]),
                    ip_range: None,
                })
            })
            .collect(),
        ipv6: body["ipv6_enabled"].as_bool().unwrap_or(false),
        internal: body["internal"].as_bool().unwrap_or(false),
        disable_dns: !body["dns_enabled"].as_bool().unwrap_or(true),
        labels: string_map(&body["labels"]),
        options: string_map(&body["options"]),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn podmans_spec_becomes_the_engines_request() {
        let body = json!({
            "image": "busybox", "name": "web", "command": ["sleep", "9"],
            "env": {"A": "b"}, "labels": {"k": "v"}, "terminal": true,
            "portmappings": [{"container_port": 80, "host_port": 8080, "protocol": "tcp"}],
            "volumes": [{"Name": "data", "Dest": "/data", "Options": []}],
            "mounts": [{"destination": "/srv", "source": "/tmp", "type": "bind", "options": ["ro"]}],
            "netns": {"nsmode": "bridge"}, "cni_networks": ["appnet"],
            "resource_limits": {"memory": {"limit": 67108864}, "cpu": {"quota": 50000, "period": 100000}},
            "restart_policy": "on-failure", "restart_tries": 2,
        });
        let r = super::container(&body).expect("request");
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.env, ["A=b"]);
        assert_eq!(
            (r.ports[0].host_port, r.ports[0].container_port),
            (8080, 80)
        );
        assert_eq!(r.mounts.len(), 2);
        assert_eq!(r.networks[0].network, "appnet");
        assert_eq!(r.resources.memory, Some(67_108_864));
        assert_eq!(r.resources.cpus, Some(0.5));
        assert_eq!(
            (r.restart.name.as_str(), r.restart.max_retries),
            ("on-failure", 2)
        );
        assert!(r.tty);
        assert!(super::container(&json!({})).is_err());
        let bad = json!({"image": "x", "portmappings": [{"container_port": 0}]});
        assert!(super::container(&bad).is_err());
        let bad = json!({"image": "x", "mounts": [{"destination": "rel", "type": "bind"}]});
        assert!(super::container(&bad).is_err());
    }
}
