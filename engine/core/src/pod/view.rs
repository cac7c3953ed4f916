//! What front ends print about pods: the status Podman derives from the containers'
//! states, `pod ps` rows (with filters) and the `pod inspect` document.

use super::ops::{lookup, members};
use super::store::{self, PodRow};
use crate::container::store::{ContainerRow, State};
use crate::container::view::rfc3339;
use crate::engine::{storage, StoreContext};
use berth_types::pod::{PodContainer, PodSummary};
use berth_types::{EngineError, Result};
use serde_json::{json, Value};

/// Podman's pod status: `Created` with no containers or all created, `Running` when
/// all run, `Degraded` when some do, `Paused`/`Exited` when all are, else `Error`
/// (a mix without a running one: `Exited` when the rest are only created).
pub fn status<'a>(states: impl IntoIterator<Item = &'a State>) -> &'static str {
    let (mut total, mut running, mut paused, mut exited, mut created) = (0, 0, 0, 0, 0);
    for s in states {
        total += 1;
        match s {
            State::Running | State::Stopping => running += 1,
            State::Paused => paused += 1,
            State::Exited => exited += 1,
            State::Created => created += 1,
            State::Removing => {}
        }
    }
    match () {
        _ if total == 0 || created == total => "Created",
        _ if running == total => "Running",
        _ if running > 0 => "Degraded",
        _ if paused == total => "Paused",
        _ if exited + created == total => "Exited",
        _ => "Error",
    }
}

fn container_status(r: &ContainerRow) -> String {
    r.state.as_str().to_string()
}

pub fn summary(ctx: &StoreContext, pod: &PodRow) -> Result<PodSummary> {
    let rows = members(ctx, pod)?;
    let networks = match pod.config.network.as_str() {
        "bridge" if pod.config.networks.is_empty() => {
            vec![crate::network::DEFAULT_NETWORK.to_string()]
        }
        "bridge" => pod
            .config
            .networks
            .iter()
            .map(|a| a.network.clone())
            .collect(),
        _ => Vec::new(),
    };
    Ok(PodSummary {
        id: pod.id.clone(),
        name: pod.name.clone(),
        status: status(rows.iter().map(|r| &r.state)).into(),
        created: pod.created / 1_000_000_000,
        infra_id: pod.infra_id.clone(),
        labels: pod.config.labels.clone(),
        networks: if pod.infra_id.is_empty() {
            Vec::new()
        } else {
            networks
        },
        containers: rows
            .iter()
            .map(|r| PodContainer {
                id: r.id.clone(),
                names: r.name.clone(),
                status: container_status(r),
            })
            .collect(),
    })
}

/// `pod ps --filter`: `name`, `id`, `label`, `status`, `ctr-names`, `ctr-ids`,
/// `ctr-status`, `ctr-number`, `network` (Podman's keys).
fn matches(p: &PodSummary, key: &str, value: &str) -> Result<bool> {
    Ok(match key {
        "name" => p.name.contains(value),
        "id" => p.id.starts_with(value),
        "label" => match value.split_once('=') {
            Some((k, v)) => p.labels.get(k).is_some_and(|x| x == v),
            None => p.labels.contains_key(value),
        },
        "status" => p.status.eq_ignore_ascii_case(value),
        "ctr-names" => p.containers.iter().any(|c| c.names.contains(value)),
        "ctr-ids" => p.containers.iter().any(|c| c.id.starts_with(value)),
        "ctr-status" => p.containers.iter().any(|c| c.status == value),
        "ctr-number" => {
            let n: usize = value.parse().map_err(|_| {
                EngineError::invalid(format!("invalid filter ctr-number={value}: not a number"))
            })?;
            p.containers.len() == n
        }
        "network" => p.networks.iter().any(|n| n == value),
        other => {
            return Err(EngineError::invalid(format!(
                "invalid filter {other:?}: supported filters are name, id, label, status, ctr-names, ctr-ids, ctr-status, ctr-number, network"
            )))
        }
    })
}

pub fn list(ctx: &StoreContext, filters: &[String]) -> Result<Vec<PodSummary>> {
    let mut out = Vec::new();
    let parsed: Vec<(&str, &str)> = filters
        .iter()
        .map(|f| {
            f.split_once('=').ok_or_else(|| {
                EngineError::invalid(format!("invalid filter {f:?}: expected key=value"))
            })
        })
        .collect::<Result<_>>()?;
    let pods = store::list(&ctx.db()).map_err(storage)?;
    for pod in pods {
        let s = summary(ctx, &pod)?;
        // Filters of one key are alternatives; different keys must all hold (as Podman).
        let mut keep = true;
        let mut keys: Vec<&str> = parsed.iter().map(|(k, _)| *k).collect();
        keys.dedup();
        for key in keys {
            let mut any = false;
            for (_, v) in parsed.iter().filter(|(k, _)| *k == key) {
                any |= matches(&s, key, v)?;
            }
            keep &= any;
        }
        if keep {
            out.push(s);
        }
    }
    out.reverse();
    Ok(out)
}

/// Podman's `pod inspect` document.
pub fn inspect(ctx: &StoreContext, name: &str) -> Result<Value> {
    let pod = lookup(ctx, name)?;
    let s = summary(ctx, &pod)?;
    let c = &pod.config;
    let shared: Vec<&String> = if pod.infra_id.is_empty() {
        Vec::new()
    } else {
        c.share.iter().collect()
    };
    let ports: serde_json::Map<String, Value> = c
        .ports
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p.container_port, p.protocol),
                json!([{"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}]),
            )
        })
        .collect();
    let infra_config = (!pod.infra_id.is_empty()).then(|| {
        json!({
            "PortBindings": ports,
            "HostNetwork": c.network == "host",
            "StaticIP": "",
            "StaticMAC": "",
            "NoManageResolvConf": false,
            "DNSServer": c.dns,
            "DNSSearch": c.dns_search,
            "DNSOption": c.dns_options,
            "NoManageHosts": c.no_hosts,
            "HostAdd": c.add_hosts,
            "Networks": s.networks,
            "NetworkOptions": null,
            "pid_ns": if c.share.iter().any(|x| x == "pid") { "pod" } else { "private" },
            "userns": if c.userns.is_empty() { "host" } else { c.userns.as_str() },
        })
    });
    let cpu_quota = c
        .resources
        .cpus
        .map(|cpus| (cpus * 100_000.0).round() as i64);
    Ok(json!({
        "Id": pod.id,
        "Name": pod.name,
        "Created": rfc3339(pod.created),
        "CreateCommand": c.create_command,
        "ExitPolicy": c.exit_policy,
        "State": s.status,
        "Hostname": c.hostname.clone().unwrap_or_else(|| pod.name.clone()),
        "Labels": c.labels,
        "CreateCgroup": true,
        "CreateInfra": !pod.infra_id.is_empty(),
        "InfraContainerID": pod.infra_id,
        "InfraConfig": infra_config,
        "SharedNamespaces": shared,
        "NumContainers": s.containers.len(),
        "Containers": s.containers.iter().map(|x| json!({"Id": x.id, "Name": x.names, "State": x.status})).collect::<Vec<_>>(),
        "CPUPeriod": cpu_quota.map(|_| 100_000),
        "CPUQuota": cpu_quota,
        "MemoryLimit": c.resources.memory.unwrap_or(0),
    }))
}

#[cfg(test)]
mod tests {
    use super::status;
    use crate::container::store::State::*;

    #[test]
    fn pod_status_follows_podmans_rules() {
        assert_eq!(status(&[]), "Created");
        assert_eq!(status(&[Created, Created]), "Created");
        assert_eq!(status(&[Running, Running]), "Running");
        assert_eq!(status(&[Exited, Running]), "Degraded");
        assert_eq!(status(&[Paused, Paused]), "Paused");
        assert_eq!(status(&[Exited, Exited]), "Exited");
        assert_eq!(status(&[Exited, Created]), "Exited");
        assert_eq!(status(&[Paused, Exited]), "Error");
    }
}
