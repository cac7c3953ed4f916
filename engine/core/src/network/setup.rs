//! A container's network while it runs: at start, its own namespace, an address in
//! each network it joined, netavark's setup (bridge, veth, routes, firewall, published
//! ports, DNS names), and the record of it all in RUN/network.json; at its end (or when
//! it is removed, or found dead), the same undone, every step safe to repeat.

use super::host::HostNetworks;
use super::netavark::{self, Joined};
use super::{ipam, netns, ports, store};
use crate::engine::StoreContext;
use berth_types::container::ContainerCreateRequest;
use berth_types::network::PortMapping;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One interface of the running container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interface {
    pub network: String,
    pub interface: String,
    pub ips: Vec<(IpAddr, u8)>,
    pub gateway: Option<IpAddr>,
    pub mac: String,
    pub dns: bool,
    pub aliases: Vec<String>,
}

/// What was set up, kept in the run directory until torn down.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetState {
    pub netns: PathBuf,
    /// What netavark was given (teardown takes the same).
    pub options: Value,
    pub interfaces: Vec<Interface>,
    pub ports: Vec<PortMapping>,
    /// Rootless: slirp4netns's IDs of the port forwards into the rootless namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<u64>,
}

fn state_file(run_dir: &Path) -> PathBuf {
    run_dir.join("network.json")
}

fn write_state(run_dir: &Path, state: &NetState) -> Result<(), String> {
    let bytes = serde_json::to_vec(state).map_err(|e| e.to_string())?;
    crate::store::fsutil::write_atomic(&state_file(run_dir), &bytes, 0o600)
        .map_err(|e| e.to_string())
}

pub fn read_state(run_dir: &Path) -> Option<NetState> {
    let bytes = std::fs::read(state_file(run_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Sets up the network of container `id`, which joined its networks at create.
pub fn setup(
    ctx: &StoreContext,
    id: &str,
    name: &str,
    hostname: &str,
    req: &ContainerCreateRequest,
    exposed: &[String],
    run_dir: &Path,
) -> Result<NetState, String> {
    let members = store::memberships(&ctx.db(), id).map_err(|e| e.to_string())?;
    let host = HostNetworks::for_caller();
    let _lock = host
        .lock()
        .map_err(|e| format!("locking the host's networks: {e}"))?;
    let mut leases = host.leases().map_err(|e| e.to_string())?;
    let mut last = host.last_ips().unwrap_or_default();
    let result = (|| {
        let mut joined = Vec::new();
        for m in members {
            let network = host
                .find(&m.network)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("network {} not found", m.network))?;
            let ips = ipam::allocate_after(&mut leases, &mut last, &network, id, &m.static_ips)?;
            joined.push(Joined {
                network,
                membership: m,
                ips,
            });
        }
        host.save_leases(&leases).map_err(|e| e.to_string())?;
        let _ = host.save_last_ips(&last);
        let ports = ports::resolve(&req.ports, req.publish_all, exposed)?;
        let rootless = crate::rootless::active();
        if rootless {
            super::rootless_netns::ensure(&host)?;
        }
        let netns_path = netns::path_for(&ctx.paths.runroot, id);
        netns::create(&netns_path, owner(req)?.as_ref()).map_err(|e| e.to_string())?;
        let inner_ports = if rootless {
            super::rootless_netns::inner_ports(&ports)
        } else {
            ports.clone()
        };
        let options = netavark::options(id, name, hostname, &joined, &inner_ports, &[]);
        let status = match netavark::setup(&host.run_dir, &netns_path, &options) {
            Ok(s) => s,
            Err(e) => {
                let _ = netns::remove(&netns_path);
                return Err(e);
            }
        };
        let mut forwards = Vec::new();
        if rootless {
            match super::rootless_netns::forward(&host, &ports) {
                Ok(ids) => forwards = ids,
                Err(e) => {
                    let _ = netavark::teardown(&host.run_dir, &netns_path, &options);
                    let _ = netns::remove(&netns_path);
                    return Err(e);
                }
            }
        } else {
            for j in &joined {
                super::keeper::ensure(&j.network);
            }
        }
        let interfaces = joined.iter().map(|j| interface(j, &status)).collect();
        let state = NetState {
            netns: netns_path,
            options,
            interfaces,
            ports,
            forwards,
        };
        write_state(run_dir, &state)?;
        Ok(state)
    })();
    if result.is_err() {
        let _ = host.release(id, None);
        if crate::rootless::active() {
            super::rootless_netns::stop_if_unused(&host);
        }
    }
    result
}

/// The user namespace of the container's own that is to own its network namespace.
fn owner(
    req: &ContainerCreateRequest,
) -> Result<Option<crate::container::idmap::IdMappings>, String> {
    crate::container::idmap::for_request(req)
}

/// The interface netavark made for `j`, from its status.
fn interface(j: &Joined, status: &Value) -> Interface {
    let iface = &status[&j.network.name]["interfaces"][&j.membership.interface_name];
    Interface {
        network: j.network.name.clone(),
        interface: j.membership.interface_name.clone(),
        ips: j.ips.clone(),
        gateway: j
            .network
            .subnets
            .first()
            .and_then(|s| s.gateway.as_ref())
            .and_then(|g| g.parse().ok()),
        mac: iface["mac_address"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        dns: j.network.dns_enabled,
        aliases: j.membership.aliases.clone(),
    }
}

/// Sets up a container's user-mode network (`pasta`, or `slirp4netns` where pasta is
/// missing or that is asked for) in a namespace of its own.
pub fn setup_user_mode(
    ctx: &StoreContext,
    id: &str,
    req: &ContainerCreateRequest,
    exposed: &[String],
    run_dir: &Path,
) -> Result<NetState, String> {
    let ports = ports::resolve(&req.ports, req.publish_all, exposed)?;
    let netns_path = netns::path_for(&ctx.paths.runroot, id);
    netns::create(&netns_path, owner(req)?.as_ref()).map_err(|e| e.to_string())?;
    let tool = req.network.as_str();
    let started = if tool == "slirp4netns" {
        super::slirp::start(
            &netns_path,
            &ports,
            &helper_pid_file(run_dir),
            &slirp_socket(&netns_path),
        )
    } else {
        super::pasta::start(&netns_path, &ports, &helper_pid_file(run_dir))
    };
    if let Err(e) = started {
        let _ = netns::remove(&netns_path);
        return Err(e);
    }
    let state = NetState {
        netns: netns_path,
        options: serde_json::json!({ tool: true }),
        interfaces: Vec::new(),
        ports,
        forwards: Vec::new(),
    };
    write_state(run_dir, &state)?;
    Ok(state)
}

/// A rootless container's default network: pasta, or slirp4netns where only it is
/// installed (Podman 4's order is the other way round; pasta is faster).
pub fn user_mode_default() -> &'static str {
    choose_user_mode(|tool| super::netavark::helper(tool).is_ok())
}

fn choose_user_mode(installed: impl Fn(&str) -> bool) -> &'static str {
    if !installed("pasta") && installed("slirp4netns") {
        "slirp4netns"
    } else {
        "pasta"
    }
}

/// The user-mode helper's pid file (the name predates slirp4netns).
fn helper_pid_file(run_dir: &Path) -> PathBuf {
    run_dir.join("pasta.pid")
}

/// slirp4netns's API socket, beside the namespace file (a short path, as sockets need).
fn slirp_socket(netns: &Path) -> PathBuf {
    let mut name = netns.as_os_str().to_owned();
    name.push(".slirp");
    PathBuf::from(name)
}

/// Undoes `setup` (nothing to do when it was not set up).
pub fn teardown(id: &str, run_dir: &Path) -> Result<(), String> {
    let host = HostNetworks::for_caller();
    let Some(state) = read_state(run_dir) else {
        return Ok(());
    };
    if state.options["pasta"] == true || state.options["slirp4netns"] == true {
        super::pasta::stop(&helper_pid_file(run_dir));
        let _ = std::fs::remove_file(slirp_socket(&state.netns));
        let _ = netns::remove(&state.netns);
        let _ = std::fs::remove_file(state_file(run_dir));
        return Ok(());
    }
    let _lock = host
        .lock()
        .map_err(|e| format!("locking the host's networks: {e}"))?;
    // Another process (`rm -f` and the monitor's exit command race) may have torn it
    // down while this one waited for the lock.
    let Some(state) = read_state(run_dir) else {
        return Ok(());
    };
    super::rootless_netns::unforward(&host, &state.forwards);
    let torn = netavark::teardown(&host.run_dir, &state.netns, &state.options);
    let _ = netns::remove(&state.netns);
    let _ = host.release(id, None);
    let _ = std::fs::remove_file(state_file(run_dir));
    if crate::rootless::active() {
        super::rootless_netns::stop_if_unused(&host);
    }
    torn
}

/// Brings a running container's interfaces in line with its memberships (`network
/// connect`/`disconnect`, `network reload`): networks left are torn down, new ones set
/// up in the same namespace; with nothing changed, all are set up again (reload).
pub fn reconnect(
    ctx: &StoreContext,
    row: &crate::container::store::ContainerRow,
    run_dir: &Path,
) -> Result<(), String> {
    let mut state = read_state(run_dir).ok_or("the container has no network set up")?;
    let members = store::memberships(&ctx.db(), &row.id).map_err(|e| e.to_string())?;
    let host = HostNetworks::for_caller();
    let _lock = host
        .lock()
        .map_err(|e| format!("locking the host's networks: {e}"))?;
    let single = |options: &Value, name: &str| -> Value {
        let mut o = options.clone();
        for key in ["networks", "network_info"] {
            if let Some(m) = o[key].as_object_mut() {
                m.retain(|k, _| k == name);
            }
        }
        o["port_mappings"] = Value::Array(Vec::new());
        o
    };
    let gone: Vec<String> = state
        .interfaces
        .iter()
        .filter(|i| !members.iter().any(|m| m.network == i.network))
        .map(|i| i.network.clone())
        .collect();
    for name in &gone {
        netavark::teardown(&host.run_dir, &state.netns, &single(&state.options, name))?;
        let _ = host.release(&row.id, Some(name));
        state.interfaces.retain(|i| i.network != *name);
        for key in ["networks", "network_info"] {
            if let Some(m) = state.options[key].as_object_mut() {
                m.remove(name);
            }
        }
    }
    let new: Vec<_> = members
        .into_iter()
        .filter(|m| !state.interfaces.iter().any(|i| i.network == m.network))
        .collect();
    if gone.is_empty() && new.is_empty() {
        // reload: down and up again in the same namespace, with the same addresses
        // (the options name them), so the firewall rules are all there again.
        let _ = netavark::teardown(&host.run_dir, &state.netns, &state.options);
        netavark::setup(&host.run_dir, &state.netns, &state.options)?;
    }
    for m in new {
        let network = host
            .find(&m.network)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("network {} not found", m.network))?;
        let mut leases = host.leases().map_err(|e| e.to_string())?;
        let mut last = host.last_ips().unwrap_or_default();
        let ips = ipam::allocate_after(&mut leases, &mut last, &network, &row.id, &m.static_ips)?;
        host.save_leases(&leases).map_err(|e| e.to_string())?;
        let _ = host.save_last_ips(&last);
        let joined = Joined {
            network: network.clone(),
            membership: m.clone(),
            ips,
        };
        let hostname = row
            .config
            .hostname
            .clone()
            .unwrap_or_else(|| row.id[..12].to_string());
        let opts = netavark::options(
            &row.id,
            &row.name,
            &hostname,
            std::slice::from_ref(&joined),
            &[],
            &[],
        );
        let status = match netavark::setup(&host.run_dir, &state.netns, &opts) {
            Ok(s) => s,
            Err(e) => {
                let _ = host.release(&row.id, Some(&network.name));
                return Err(e);
            }
        };
        for key in ["networks", "network_info"] {
            if let (Some(dst), Some(src)) =
                (state.options[key].as_object_mut(), opts[key].as_object())
            {
                dst.extend(src.clone());
            }
        }
        super::keeper::ensure(&joined.network);
        state.interfaces.push(interface(&joined, &status));
    }
    write_state(run_dir, &state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasta_is_the_default_and_slirp4netns_stands_in_for_it() {
        assert_eq!(choose_user_mode(|_| true), "pasta");
        assert_eq!(choose_user_mode(|t| t == "slirp4netns"), "slirp4netns");
        // Neither: pasta, whose start then says what to install.
        assert_eq!(choose_user_mode(|_| false), "pasta");
    }
}
