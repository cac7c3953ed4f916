//! What front ends print about containers: `ps` summaries (with Podman's status
//! strings) and the `inspect` document in Podman's shape.

use super::ops::lookup;
use super::paths::ContainerPaths;
use super::reconcile::refreshed;
use super::store::{self, ContainerRow, State};
use crate::engine::{storage, StoreContext};
use berth_types::container::*;
use berth_types::{EngineError, Result};
use serde_json::{json, Value};

fn secs(nanos: i64) -> i64 {
    nanos / 1_000_000_000
}

/// Inspect's `PidMode`/`IpcMode`/`UTSMode`: `private` for a namespace of its own.
fn ns_mode(mode: &str) -> &str {
    if mode.is_empty() {
        "private"
    } else {
        mode
    }
}

pub fn rfc3339(nanos: i64) -> String {
    if nanos == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    chrono::DateTime::from_timestamp(secs(nanos), (nanos % 1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

/// The command a container runs, for `ps` and inspect (entrypoint + cmd, as resolved).
fn command(ctx: &StoreContext, row: &ContainerRow) -> Vec<String> {
    let image = super::prepare::image_config(ctx, row)
        .ok()
        .and_then(|c| c.config)
        .unwrap_or_default();
    let entrypoint = row
        .config
        .entrypoint
        .clone()
        .unwrap_or_else(|| image.entrypoint.clone().unwrap_or_default());
    let cmd = if !row.config.command.is_empty() {
        row.config.command.clone()
    } else if row.config.entrypoint.is_some() {
        Vec::new()
    } else {
        image.cmd.clone().unwrap_or_default()
    };
    entrypoint.into_iter().chain(cmd).collect()
}

pub fn summary(ctx: &StoreContext, row: &ContainerRow) -> ContainerSummary {
    let status = match row.state {
        State::Running => "running",
        State::Paused => "paused",
        State::Exited => "exited",
        State::Created => "created",
        State::Stopping => "stopping",
        State::Removing => "removing",
    };
    ContainerSummary {
        id: row.id.clone(),
        names: vec![row.name.clone()],
        image: row.image_name.clone(),
        image_id: row.image_id.clone(),
        command: command(ctx, row),
        created: secs(row.created),
        created_at: rfc3339(row.created),
        state: status.into(),
        status: status.into(),
        exit_code: row.exit_code,
        exited: row.state == State::Exited,
        exited_at: secs(row.finished_at),
        started_at: secs(row.started_at),
        pid: row.pid,
        labels: row.config.labels.clone(),
        mounts: row
            .config
            .mounts
            .iter()
            .map(|m| m.destination.clone())
            .collect(),
        auto_remove: row.config.remove,
        size: None,
        health: row
            .config
            .health
            .as_ref()
            .map(|_| super::health::read(ctx, &row.id).0)
            .filter(|s| !s.is_empty()),
        ports: if row.state == State::Running
            && (!row.config.ports.is_empty() || row.config.publish_all)
        {
            crate::network::setup::read_state(&ContainerPaths::new(&ctx.paths, &row.id).run)
                .map(|s| s.ports)
                .unwrap_or_else(|| row.config.ports.clone())
        } else {
            row.config.ports.clone()
        },
        networks: match row.config.network.as_str() {
            "bridge" if row.config.networks.is_empty() => {
                vec![crate::network::DEFAULT_NETWORK.to_string()]
            }
            "bridge" => row
                .config
                .networks
                .iter()
                .map(|a| crate::network::ops::network_name(&a.network).to_string())
                .collect(),
            _ => Vec::new(),
        },
    }
}

/// Bytes used by the container's writable layer.
pub fn upper_size(ctx: &StoreContext, id: &str) -> u64 {
    fn walk(p: &std::path::Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(p) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path()),
                Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
                Err(_) => 0,
            })
            .sum()
    }
    walk(&ContainerPaths::new(&ctx.paths, id).upper())
}

pub fn list(ctx: &StoreContext, req: &ListContainersRequest) -> Result<Vec<ContainerSummary>> {
    let rows = store::list(&ctx.db()).map_err(storage)?;
    let mut out = Vec::new();
    for row in rows {
        let row = refreshed(ctx, row);
        if !req.all
            && row.state != State::Running
            && row.state != State::Paused
            && req.filters.is_empty()
        {
            continue;
        }
        let mut s = summary(ctx, &row);
        if !filters_match(&s, &req.filters)? {
            continue;
        }
        if req.size {
            s.size = Some(upper_size(ctx, &row.id));
        }
        out.push(s);
    }
    Ok(out)
}

/// Podman's rule: filters with the same key match if any of their values does;
/// different keys must all match.
fn filters_match(s: &ContainerSummary, filters: &[String]) -> Result<bool> {
    let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for f in filters {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            EngineError::invalid(format!("invalid filter {f:?}: expected key=value"))
        })?;
        by_key.entry(k).or_default().push(v);
    }
    for (k, values) in by_key {
        let mut any = false;
        for v in values {
            let ok = match k {
                "id" => s.id.starts_with(v),
                "name" => {
                    let re = crate::volume::regex::Regex::new(v).map_err(|e| EngineError::invalid(format!("invalid name filter {v:?}: {e}")))?;
                    s.names.iter().any(|n| re.is_match(n))
                }
                "status" => s.state == v || (v == "stopped" && s.state == "exited"),
                "exited" => s.exited && v.parse::<i32>().ok() == Some(s.exit_code),
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => s.labels.get(lk).is_some_and(|x| x == lv),
                    None => s.labels.contains_key(v),
                },
                "ancestor" => {
                    s.image == v || s.image_id.starts_with(v) || s.image.ends_with(&format!("/{v}")) || s.image.contains(&format!("/{v}:"))
                }
                other => {
                    return Err(EngineError::invalid(format!(
                        "invalid filter {other:?}: supported filters are id, name, status, exited, label, ancestor"
                    )))
                }
            };
            any |= ok;
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

fn health_doc(ctx: &StoreContext, row: &ContainerRow) -> Value {
    if row.config.health.is_none() {
        return Value::Null;
    }
    let (status, failing, log) = super::health::read(ctx, &row.id);
    json!({ "Status": status, "FailingStreak": failing, "Log": log })
}

pub fn inspect(ctx: &StoreContext, name: &str) -> Result<Value> {
    let row = lookup(ctx, name)?;
    let paths = ContainerPaths::new(&ctx.paths, &row.id);
    let image = super::prepare::image_config(ctx, &row)
        .ok()
        .and_then(|c| c.config)
        .unwrap_or_default();
    let cmd = command(ctx, &row);
    let c = &row.config;
    let running = row.state == State::Running;
    // Volumes (named, anonymous, and those for image VOLUMEs) by destination.
    let volumes = crate::store::db::container_volumes(&ctx.db(), &row.id).unwrap_or_default();
    let volume_dir = |name: &str| {
        ctx.paths
            .volumes()
            .join(name)
            .join("_data")
            .display()
            .to_string()
    };
    let mut mounts: Vec<Value> = c
        .mounts
        .iter()
        .map(|m| {
            let rw = !m.options.iter().any(|o| o == "ro");
            match m.kind {
                MountKind::Volume => {
                    let name = volumes.iter().find(|(d, _)| *d == m.destination).map(|(_, n)| n.clone()).unwrap_or_default();
                    json!({"Type": "volume", "Name": name, "Source": volume_dir(&name), "Destination": m.destination,
                           "Driver": "local", "Mode": "", "Options": ["nosuid", "nodev", "rbind"], "RW": rw, "Propagation": "rprivate"})
                }
                MountKind::Bind => json!({"Type": "bind", "Source": m.source.clone().unwrap_or_default(), "Destination": m.destination,
                                          "Driver": "", "Mode": "", "Options": ["rbind"], "RW": rw, "Propagation": "rprivate"}),
                MountKind::Tmpfs => json!({"Type": "tmpfs", "Source": "tmpfs", "Destination": m.destination,
                                           "Driver": "", "Mode": "", "Options": m.options, "RW": rw, "Propagation": ""}),
            }
        })
        .collect();
    for (dest, name) in &volumes {
        if !c.mounts.iter().any(|m| &m.destination == dest) {
            mounts.push(json!({"Type": "volume", "Name": name, "Source": volume_dir(name), "Destination": dest,
                               "Driver": "local", "Mode": "", "Options": ["nosuid", "nodev", "rbind"], "RW": true, "Propagation": "rprivate"}));
        }
    }
    let mut env: Vec<String> = image.env.clone().unwrap_or_default();
    env.extend(c.env.iter().cloned());
    Ok(json!({
        "Id": row.id,
        "Created": rfc3339(row.created),
        "Path": cmd.first().cloned().unwrap_or_default(),
        "Args": cmd.iter().skip(1).cloned().collect::<Vec<_>>(),
        "State": {
            "OciVersion": "1.0.2",
            "Status": row.state.as_str(),
            "Running": running,
            "Paused": row.state == State::Paused,
            "Restarting": false,
            "OOMKilled": row.oom_killed,
            "Dead": false,
            "Pid": if running { row.pid } else { 0 },
            "ConmonPid": if running { row.monitor_pid } else { 0 },
            "ExitCode": row.exit_code,
            "Error": row.error,
            "StartedAt": rfc3339(row.started_at),
            "FinishedAt": rfc3339(row.finished_at),
            "Health": health_doc(ctx, &row),
        },
        "Image": row.image_id,
        "ImageName": row.image_name,
        "Rootfs": "",
        "Pod": c.pod,
        "ResolvConfPath": paths.bundle().join("resolv.conf"),
        "HostnamePath": paths.bundle().join("hostname"),
        "HostsPath": paths.bundle().join("hosts"),
        "StaticDir": paths.bundle(),
        "OCIConfigPath": paths.config_json(),
        "OCIRuntime": row.runtime,
        "ConmonPidFile": paths.run.join("monitor.pid"),
        "PidFile": paths.run_dir().pid_file(),
        "Name": row.name,
        "RestartCount": row.restart_count,
        "Driver": "overlay",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "GraphDriver": { "Name": "overlay", "Data": {
            "UpperDir": paths.upper(), "WorkDir": paths.work(), "MergedDir": paths.merged(),
        }},
        "Mounts": mounts,
        "Dependencies": [],
        "NetworkSettings": network_settings(ctx, &row, &paths, running),
        "Namespace": "",
        "IsInfra": false,
        "Config": {
            "Hostname": c.hostname.clone().unwrap_or_else(|| row.id[..12].to_string()),
            "Domainname": "",
            "User": c.user.clone().or(image.user.clone()).unwrap_or_default(),
            "AttachStdin": c.interactive,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": c.tty,
            "OpenStdin": c.interactive,
            "StdinOnce": false,
            "Env": env,
            "Cmd": if c.command.is_empty() { image.cmd.clone().unwrap_or_default() } else { c.command.clone() },
            "Image": row.image_name,
            "Volumes": null,
            "WorkingDir": c.workdir.clone().or(image.working_dir.clone()).unwrap_or_else(|| "/".into()),
            "Entrypoint": c.entrypoint.clone().unwrap_or_else(|| image.entrypoint.clone().unwrap_or_default()),
            "OnBuild": null,
            "Labels": c.labels,
            "Annotations": c.annotations,
            "StopSignal": c.stop_signal.clone().or(image.stop_signal.clone()).unwrap_or_else(|| "SIGTERM".into()),
            "CreateCommand": c.create_command,
            "Umask": "0022",
            "Timeout": c.timeout.unwrap_or(0),
            "StopTimeout": c.stop_timeout.unwrap_or(10),
        },
        "HostConfig": {
            "Binds": c.mounts.iter().filter(|m| m.kind != MountKind::Tmpfs).map(|m| {
                let mut s = format!("{}:{}", m.source.clone().unwrap_or_default(), m.destination);
                if !m.options.is_empty() { s.push(':'); s.push_str(&m.options.join(",")); }
                s
            }).collect::<Vec<_>>(),
            "CgroupManager": super::cgroup::CgroupManager::from_recorded(&c.cgroup_manager).as_str(),
            "LogConfig": { "Type": if c.log_driver.is_empty() { "k8s-file" } else { c.log_driver.as_str() }, "Config": c.log_opts, "Path": paths.log() },
            "NetworkMode": c.network,
            "PidMode": ns_mode(&c.pid),
            "IpcMode": ns_mode(&c.ipc),
            "UTSMode": ns_mode(&c.uts),
            "CgroupMode": match c.cgroupns.as_str() {
                "" if super::cgroup::unified() => "private",
                "" => "host",
                mode => mode,
            },
            "RestartPolicy": { "Name": if c.restart.name.is_empty() { "no" } else { c.restart.name.as_str() }, "MaximumRetryCount": c.restart.max_retries },
            "AutoRemove": c.remove,
            "CapAdd": c.cap_add,
            "CapDrop": c.cap_drop,
            "GroupAdd": c.group_add,
            "Privileged": c.privileged,
            "ReadonlyRootfs": c.read_only,
            "SecurityOpt": c.security_opt,
            "Runtime": "oci",
            "UsernsMode": userns_mode(c),
            "IDMappings": (!c.uidmap.is_empty() || !c.gidmap.is_empty()).then(|| json!({
                "UidMap": if c.uidmap.is_empty() { &c.gidmap } else { &c.uidmap },
                "GidMap": if c.gidmap.is_empty() { &c.uidmap } else { &c.gidmap },
            })),
            "Memory": c.resources.memory.unwrap_or(0),
            "MemorySwap": c.resources.memory_swap.unwrap_or(0),
            "NanoCpus": c.resources.cpus.map(|x| (x * 1e9) as i64).unwrap_or(0),
            "CpuShares": c.resources.cpu_shares.unwrap_or(0),
            "CpusetCpus": c.resources.cpuset_cpus.clone().unwrap_or_default(),
            "PidsLimit": c.resources.pids_limit.unwrap_or(0),
            "Ulimits": c.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
            "Sysctls": c.sysctls,
            "ShmSize": c.shm_size.unwrap_or(65536000),
            "Init": c.init,
        },
    }))
}

/// `HostConfig.UsernsMode` as Podman shows it: the mode given, `private` for maps.
fn userns_mode(c: &berth_types::container::ContainerCreateRequest) -> String {
    let mode = c.userns.split(':').next().unwrap_or_default();
    match mode {
        "" | "host" if !c.uidmap.is_empty() || !c.gidmap.is_empty() => "private".into(),
        "host" => String::new(),
        m => m.into(),
    }
}

/// Inspect's NetworkSettings, as Podman fills it: the addresses per network while the
/// container runs (the default network's also at the top level), and its ports.
fn network_settings(
    ctx: &StoreContext,
    row: &ContainerRow,
    paths: &ContainerPaths,
    running: bool,
) -> Value {
    let state = running
        .then(|| crate::network::setup::read_state(&paths.run))
        .flatten();
    let ports_list = state
        .as_ref()
        .map(|s| s.ports.clone())
        .unwrap_or_else(|| row.config.ports.clone());
    let mut ports = serde_json::Map::new();
    for m in &ports_list {
        for i in 0..m.range.max(1) {
            let key = format!("{}/{}", m.container_port + i, m.protocol);
            let host_port = if m.host_port == 0 {
                String::new()
            } else {
                (m.host_port + i).to_string()
            };
            let entry = json!({"HostIp": m.host_ip, "HostPort": host_port});
            match ports.get_mut(&key).and_then(|v| v.as_array_mut()) {
                Some(list) => list.push(entry),
                None => {
                    ports.insert(key, json!([entry]));
                }
            }
        }
    }
    let mut out = json!({
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": "", "Bridge": "", "SandboxID": "", "HairpinMode": false,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SandboxKey": state.as_ref().map(|s| s.netns.display().to_string()).unwrap_or_default(),
    });
    if row.config.network != "bridge" {
        return out;
    }
    let members = crate::network::store::memberships(&ctx.db(), &row.id).unwrap_or_default();
    let mut networks = serde_json::Map::new();
    for m in members {
        let iface = state
            .as_ref()
            .and_then(|s| s.interfaces.iter().find(|i| i.network == m.network));
        let v4 = iface.and_then(|i| i.ips.iter().find(|(ip, _)| ip.is_ipv4()));
        let v6 = iface.and_then(|i| i.ips.iter().find(|(ip, _)| ip.is_ipv6()));
        let mut aliases = m.aliases.clone();
        aliases.push(row.id[..12].to_string());
        let doc = json!({
            "EndpointID": "",
            "Gateway": iface.and_then(|i| i.gateway).map(|g| g.to_string()).unwrap_or_default(),
            "IPAddress": v4.map(|(ip, _)| ip.to_string()).unwrap_or_default(),
            "IPPrefixLen": v4.map(|(_, p)| *p).unwrap_or(0),
            "IPv6Gateway": "",
            "GlobalIPv6Address": v6.map(|(ip, _)| ip.to_string()).unwrap_or_default(),
            "GlobalIPv6PrefixLen": v6.map(|(_, p)| *p).unwrap_or(0),
            "MacAddress": iface.map(|i| i.mac.clone()).unwrap_or_default(),
            "NetworkID": m.network,
            "DriverOpts": null,
            "IPAMConfig": null,
            "Links": null,
            "Aliases": aliases,
        });
        if m.network == crate::network::DEFAULT_NETWORK {
            for key in [
                "Gateway",
                "IPAddress",
                "IPPrefixLen",
                "GlobalIPv6Address",
                "GlobalIPv6PrefixLen",
                "MacAddress",
            ] {
                out[key] = doc[key].clone();
            }
        }
        networks.insert(m.network.clone(), doc);
    }
    out["Networks"] = Value::Object(networks);
    out
}
