//! The network commands: create (a free subnet and `berthN` bridge unless given),
//! ls with filters, inspect, exists, rm (`-f` removes the containers using it), prune,
//! connect and disconnect (live on a running container, through netavark), reload.

use super::host::HostNetworks;
use super::store;
use super::subnet::{free_subnet, host_routes, lease_range, overlaps, parse_cidr};
use crate::engine::{storage, LocalEngine, StoreContext};
use berth_types::network::{LeaseRange, Network, NetworkAttachment, NetworkCreateRequest, Subnet};
use berth_types::{EngineError, ErrorKind, Result};
use ipnet::IpNet;
use rusqlite::Connection;
use std::collections::BTreeMap;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::invalid(msg)
}

fn io_err(e: std::io::Error) -> EngineError {
    EngineError::new(ErrorKind::Storage, format!("the host's networks: {e}"))
}

/// A network by name or ID.
pub fn lookup(name: &str) -> Result<Network> {
    HostNetworks::for_caller()
        .find(name)
        .map_err(io_err)?
        .ok_or_else(|| {
            EngineError::not_found(format!(
                "unable to find network with name or ID {name}: network not found"
            ))
        })
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn random_id() -> String {
    crate::container::names::new_id()
}

pub fn create(engine: &LocalEngine, req: &NetworkCreateRequest) -> Result<Network> {
    let _ = engine;
    let host = HostNetworks::for_caller();
    let _lock = host.lock().map_err(io_err)?;
    let driver = req.driver.clone().unwrap_or_else(|| "bridge".into());
    if driver != "bridge" {
        return Err(invalid(format!(
            "unsupported driver {driver}: only bridge networks are supported"
        )));
    }
    let existing = host.list().map_err(io_err)?;
    let name = match &req.name {
        Some(n) => {
            if !valid_name(n) {
                return Err(invalid(format!(
                    "network name {n} invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
                )));
            }
            if let Some(found) = existing.iter().find(|e| e.name == *n) {
                if req.ignore_if_exists {
                    return Ok(found.clone());
                }
                return Err(EngineError::new(
                    ErrorKind::Conflict,
                    format!("network name {n} already used: network already exists"),
                ));
            }
            n.clone()
        }
        None => (1..)
            .map(|i| format!("berth{i}"))
            .find(|n| !existing.iter().any(|e| e.name == *n))
            .unwrap_or_default(),
    };
    for key in req.options.keys() {
        if ![
            "mtu",
            "vlan",
            "isolate",
            "metric",
            "com.docker.network.bridge.name",
        ]
        .contains(&key.as_str())
        {
            return Err(invalid(format!("unsupported bridge network option {key}")));
        }
    }
    if let Some(mtu) = req.options.get("mtu") {
        if mtu.parse::<u32>().map_or(true, |m| m < 68) {
            return Err(invalid(format!(
                "invalid mtu {mtu:?}: a number of at least 68"
            )));
        }
    }
    let mut used: Vec<IpNet> = existing
        .iter()
        .flat_map(|e| e.subnets.iter())
        .filter_map(|s| s.subnet.parse().ok())
        .collect();
    let routes = host_routes();
    let mut subnets = Vec::new();
    for s in &req.subnets {
        let net = parse_cidr(&s.subnet).map_err(invalid)?;
        if let Some(other) = existing.iter().find(|e| {
            e.subnets
                .iter()
                .filter_map(|x| x.subnet.parse::<IpNet>().ok())
                .any(|x| overlaps(&x, &net))
        }) {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                format!(
                    "subnet {net} is already used on the host or by another config: network {} uses an overlapping subnet",
                    other.name
                ),
            ));
        }
        if let Some(route) = routes.iter().find(|r| overlaps(r, &net)) {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                format!("subnet {net} is already used on the host or by another config: the host routes {route}"),
            ));
        }
        let gateway = match &s.gateway {
            Some(g) => {
                let ip: std::net::IpAddr = g
                    .parse()
                    .map_err(|_| invalid(format!("invalid gateway {g:?}: not an IP address")))?;
                if !net.contains(&ip) || ip == net.network() || ip == net.broadcast() {
                    return Err(invalid(format!(
                        "gateway {g} is not a host address in subnet {net}"
                    )));
                }
                ip
            }
            None => super::subnet::first_host(&net),
        };
        let lease = match &s.ip_range {
            Some(r) => {
                let range: IpNet = r
                    .parse()
                    .map_err(|_| invalid(format!("invalid ip range {r:?}: not in CIDR form")))?;
                if !net.contains(&range.network()) || !net.contains(&range.broadcast()) {
                    return Err(invalid(format!("ip range {r} is not inside subnet {net}")));
                }
                let (start, end) = lease_range(&range);
                Some(LeaseRange {
                    start_ip: Some(start.to_string()),
                    end_ip: Some(end.to_string()),
                })
            }
            None => None,
        };
        used.push(net);
        subnets.push(Subnet {
            subnet: net.to_string(),
            gateway: Some(gateway.to_string()),
            lease_range: lease,
        });
    }
    if subnets.iter().all(|s| s.subnet.contains(':')) {
        let mut taken = used.clone();
        taken.extend(routes);
        let net = free_subnet(&taken).ok_or_else(|| {
            EngineError::new(
                ErrorKind::Conflict,
                "could not find a free subnet for the network",
            )
        })?;
        subnets.insert(
            0,
            Subnet {
                subnet: net.to_string(),
                gateway: Some(super::subnet::first_host(&net).to_string()),
                lease_range: None,
            },
        );
    }
    let ipv6 = req.ipv6 || subnets.iter().any(|s| s.subnet.contains(':'));
    if req.ipv6 && !subnets.iter().any(|s| s.subnet.contains(':')) {
        return Err(invalid("--ipv6 needs an IPv6 --subnet"));
    }
    let interface = match req
        .interface_name
        .clone()
        .or_else(|| req.options.get("com.docker.network.bridge.name").cloned())
    {
        Some(i) => {
            if existing.iter().any(|e| e.network_interface == i) {
                return Err(EngineError::new(
                    ErrorKind::Conflict,
                    format!("bridge name {i} already in use"),
                ));
            }
            i
        }
        None => (0..)
            .map(|i| format!("berth{i}"))
            .find(|i| {
                !existing.iter().any(|e| e.network_interface == *i)
                    && !std::path::Path::new("/sys/class/net").join(i).exists()
            })
            .unwrap_or_default(),
    };
    let mut options = req.options.clone();
    options.remove("com.docker.network.bridge.name");
    let network = Network {
        name,
        id: random_id(),
        driver,
        network_interface: interface,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        subnets,
        ipv6_enabled: ipv6,
        internal: req.internal,
        dns_enabled: !req.disable_dns,
        labels: req.labels.clone(),
        options,
        ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
    };
    host.write(&network).map_err(io_err)?;
    Ok(network)
}

/// `name=`, `id=`, `driver=`, `label=KEY[=VALUE]`, `label!=`; several values of one key
/// are alternatives, different keys must all hold (Podman's rules).
pub fn matches(n: &Network, filters: &[(String, String)]) -> bool {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    by_key.iter().all(|(k, values)| {
        let label = |v: &&str| match v.split_once('=') {
            Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
            None => n.labels.contains_key(*v),
        };
        match *k {
            "name" => values.iter().any(|v| regex_match(v, &n.name)),
            "id" => values.iter().any(|v| n.id.starts_with(v)),
            "driver" => values.iter().any(|v| n.driver == *v),
            "label" => values.iter().all(label),
            "label!" => !values.iter().any(label),
            _ => true,
        }
    })
}

fn regex_match(pattern: &str, s: &str) -> bool {
    crate::volume::regex::Regex::new(pattern).is_ok_and(|r| r.is_match(s))
}

pub fn parse_filters(filters: &[String]) -> Result<Vec<(String, String)>> {
    filters
        .iter()
        .map(|f| {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| invalid(format!("invalid filter {f:?}: it must be KEY=VALUE")))?;
            let known = [
                "name", "id", "driver", "label", "label!", "until", "dangling",
            ];
            if !known.contains(&k) {
                return Err(invalid(format!("invalid filter {k:?}")));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn list(engine: &LocalEngine, filters: &[String]) -> Result<Vec<Network>> {
    let _ = engine;
    let filters = parse_filters(filters)?;
    let mut all = HostNetworks::for_caller().list().map_err(io_err)?;
    all.retain(|n| matches(n, &filters));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

pub fn inspect(engine: &LocalEngine, name: &str) -> Result<Network> {
    let _ = engine;
    lookup(name)
}

pub fn exists(engine: &LocalEngine, name: &str) -> Result<bool> {
    let _ = engine;
    Ok(HostNetworks::for_caller()
        .find(name)
        .map_err(io_err)?
        .is_some())
}

pub fn remove(engine: &LocalEngine, name: &str, force: bool) -> Result<String> {
    let ctx = engine.ctx()?;
    let network = lookup(name)?;
    if network.name == super::DEFAULT_NETWORK {
        return Err(invalid(format!(
            "default network {} cannot be removed",
            network.name
        )));
    }
    let users = store::users(&ctx.db(), &network.name).map_err(storage)?;
    let elsewhere = running_elsewhere(&network.name, &users)?;
    if !elsewhere.is_empty() {
        return Err(EngineError::new(
            ErrorKind::Conflict,
            format!(
                "\"{}\" is used by running containers of another store ({}): network is being used",
                network.name,
                elsewhere.join(", ")
            ),
        ));
    }
    if !users.is_empty() {
        if !force {
            return Err(EngineError::new(
                ErrorKind::Conflict,
                format!(
                    "\"{}\" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used",
                    network.name
                ),
            ));
        }
        let req = berth_types::container::RemoveContainersRequest {
            names: users,
            force: true,
            timeout: Some(0),
            ..Default::default()
        };
        for r in crate::container::ops::remove(engine, &req)? {
            r?;
        }
    }
    let host = HostNetworks::for_caller();
    let _lock = host.lock().map_err(io_err)?;
    release_bridge(&host, &network)?;
    host.remove(&network.name).map_err(io_err)?;
    Ok(network.name)
}

pub fn prune(engine: &LocalEngine, filters: &[String]) -> Result<Vec<String>> {
    let parsed = parse_filters(filters)?;
    let ctx = engine.ctx()?;
    let host = HostNetworks::for_caller();
    let _lock = host.lock().map_err(io_err)?;
    let mut removed = Vec::new();
    for n in host.list().map_err(io_err)? {
        if n.name == super::DEFAULT_NETWORK || !matches(&n, &parsed) {
            continue;
        }
        let users = store::users(&ctx.db(), &n.name).map_err(storage)?;
        if !users.is_empty() || !leased(&host, &n.name)?.is_empty() {
            continue;
        }
        release_bridge(&host, &n)?;
        if host.remove(&n.name).map_err(io_err)? {
            removed.push(n.name);
        }
    }
    Ok(removed)
}

/// Takes down the bridge and firewall chains kept for `network` (see [`super::keeper`]).
fn release_bridge(host: &HostNetworks, network: &Network) -> Result<()> {
    super::keeper::release(network, host).map_err(|e| {
        EngineError::new(
            ErrorKind::Storage,
            format!("tearing down the bridge of network {}: {e}", network.name),
        )
    })
}

/// Takes down the default network's bridge unless a running container (of any store)
/// is on it: `system reset` leaves the host as it found it.
pub fn release_default_if_idle() -> Result<()> {
    let host = HostNetworks::for_caller();
    let _lock = host.lock().map_err(io_err)?;
    if !leased(&host, super::DEFAULT_NETWORK)?.is_empty() {
        return Ok(());
    }
    release_bridge(&host, &lookup(super::DEFAULT_NETWORK)?)
}

/// IDs of the running containers holding an address in `network` (from any store).
fn leased(host: &HostNetworks, network: &str) -> Result<Vec<String>> {
    let leases = host.leases().map_err(io_err)?;
    let mut ids: Vec<String> = leases
        .get(network)
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Running containers on `network` that are not among this store's `users`: another
/// store's, which a forced removal here cannot remove.
fn running_elsewhere(network: &str, users: &[String]) -> Result<Vec<String>> {
    let host = HostNetworks::for_caller();
    Ok(leased(&host, network)?
        .into_iter()
        .filter(|id| !users.contains(id))
        .map(|id| id[..id.len().min(12)].to_string())
        .collect())
}

/// An attachment's network: `bridge` and the unnamed one are the default network.
pub fn network_name(name: &str) -> &str {
    match name {
        "" | "bridge" => super::DEFAULT_NETWORK,
        n => n,
    }
}

/// Joins a (new) container to its networks at create: the named ones, or the default.
pub fn join_at_create(
    conn: &Connection,
    id: &str,
    attachments: &[NetworkAttachment],
) -> Result<()> {
    let default = [NetworkAttachment {
        network: super::DEFAULT_NETWORK.into(),
        ..Default::default()
    }];
    let list = if attachments.is_empty() {
        &default[..]
    } else {
        attachments
    };
    for a in list {
        let network = lookup(network_name(&a.network))?;
        store::join(
            conn,
            id,
            &network.name,
            &a.aliases,
            &a.ips,
            a.mac.as_deref().unwrap_or(""),
        )
        .map_err(storage)?;
    }
    Ok(())
}

/// `network connect`: records the membership; a running container gets the interface now.
pub fn connect(engine: &LocalEngine, container: &str, a: &NetworkAttachment) -> Result<()> {
    let ctx = engine.ctx()?;
    let row = crate::container::ops::lookup(ctx, container)?;
    let _lock = crate::container::ops::lock(ctx, &row.id)?;
    if row.config.network != "bridge" {
        return Err(invalid(format!(
            "container {} is not on a bridge network (network mode {}): cannot connect it to {}",
            row.name, row.config.network, a.network
        )));
    }
    let network = lookup(network_name(&a.network))?;
    let added = store::join(
        &ctx.db(),
        &row.id,
        &network.name,
        &a.aliases,
        &a.ips,
        a.mac.as_deref().unwrap_or(""),
    )
    .map_err(storage)?;
    if !added {
        return Err(EngineError::new(
            ErrorKind::Conflict,
            format!(
                "container {} is already connected to network {}",
                row.id, network.name
            ),
        ));
    }
    if row.state == crate::container::store::State::Running {
        if let Err(e) = live_change(ctx, &row) {
            let _ = store::leave(&ctx.db(), &row.id, &network.name);
            return Err(e);
        }
    }
    Ok(())
}

pub fn disconnect(
    engine: &LocalEngine,
    container: &str,
    network: &str,
    _force: bool,
) -> Result<()> {
    let ctx = engine.ctx()?;
    let row = crate::container::ops::lookup(ctx, container)?;
    let _lock = crate::container::ops::lock(ctx, &row.id)?;
    let network = lookup(network_name(network))?;
    let members = store::memberships(&ctx.db(), &row.id).map_err(storage)?;
    if !members.iter().any(|m| m.network == network.name) {
        return Err(invalid(format!(
            "container {} is not connected to network {}",
            row.id, network.name
        )));
    }
    store::leave(&ctx.db(), &row.id, &network.name).map_err(storage)?;
    if row.state == crate::container::store::State::Running {
        live_change(ctx, &row)?;
    }
    Ok(())
}

/// Applies a membership change to a running container: its network is set up anew in
/// the same namespace (addresses of the networks it stays in are kept).
fn live_change(ctx: &StoreContext, row: &crate::container::store::ContainerRow) -> Result<()> {
    let paths = crate::container::paths::ContainerPaths::new(&ctx.paths, &row.id);
    super::setup::reconnect(ctx, row, &paths.run)
        .map_err(|e| EngineError::new(ErrorKind::Storage, e))?;
    crate::container::rootfs::rewrite_network_files(row, &paths)
        .map_err(|e| EngineError::new(ErrorKind::Storage, e.to_string()))
}

/// `network reload`: sets the running containers' networks up again.
pub fn reload(engine: &LocalEngine, containers: &[String], all: bool) -> Result<Vec<String>> {
    let ctx = engine.ctx()?;
    let names: Vec<String> = if all {
        crate::container::store::list(&ctx.db())
            .map_err(storage)?
            .into_iter()
            .filter(|r| r.state == crate::container::store::State::Running)
            .map(|r| r.id)
            .collect()
    } else {
        containers.to_vec()
    };
    let mut done = Vec::new();
    for n in names {
        let row = crate::container::ops::lookup(ctx, &n)?;
        if row.state != crate::container::store::State::Running || row.config.network != "bridge" {
            continue;
        }
        let paths = crate::container::paths::ContainerPaths::new(&ctx.paths, &row.id);
        super::setup::reconnect(ctx, &row, &paths.run)
            .map_err(|e| EngineError::new(ErrorKind::Storage, e))?;
        done.push(row.id);
    }
    Ok(done)
}
