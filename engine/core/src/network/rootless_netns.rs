//! A rootless user's bridge networks live in one network namespace of the user's own
//! (Podman's rootless netns), where netavark makes bridges, firewall rules and
//! aardvark-dns as it would on a host. slirp4netns joins it to the real host: traffic
//! leaves through its tap, and each published port is forwarded in by its API
//! (`add_hostfwd`), where netavark's rules take it to the container. The namespace and
//! its slirp4netns stay up while a container is on one of the user's networks, as
//! Podman keeps its rootless netns. Callers hold the host lock.

use super::host::HostNetworks;
use berth_types::network::PortMapping;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the namespace is bound.
pub fn path(host: &HostNetworks) -> PathBuf {
    host.run_dir.join("rootless-netns")
}

fn pid_file(host: &HostNetworks) -> PathBuf {
    host.run_dir.join("rootless-netns.pid")
}

fn api_socket(host: &HostNetworks) -> PathBuf {
    host.run_dir.join("rootless-netns.slirp")
}

/// Whether the namespace is there with its slirp4netns alive.
fn is_up(host: &HostNetworks) -> bool {
    let alive = std::fs::read_to_string(pid_file(host))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok());
    alive && crate::container::rootfs::is_mounted(&path(host))
}

/// Makes the namespace and starts its slirp4netns, unless they are up.
pub fn ensure(host: &HostNetworks) -> Result<PathBuf, String> {
    let ns = path(host);
    if is_up(host) {
        return Ok(ns);
    }
    super::pasta::stop(&pid_file(host));
    super::netns::create(&ns, None)
        .map_err(|e| format!("creating the rootless network namespace: {e}"))?;
    if let Err(e) = super::slirp::start(&ns, &[], &pid_file(host), &api_socket(host)) {
        let _ = super::netns::remove(&ns);
        return Err(format!("connecting the rootless network namespace: {e}"));
    }
    Ok(ns)
}

/// Stops slirp4netns and lets the namespace go, once no container uses it (`leases`
/// empty): what netavark made in it goes with it.
pub fn stop_if_unused(host: &HostNetworks) {
    let idle = host.leases().map(|l| l.is_empty()).unwrap_or(false);
    if idle && path(host).exists() {
        super::pasta::stop(&pid_file(host));
        let _ = std::fs::remove_file(api_socket(host));
        let _ = super::netns::remove(&path(host));
    }
}

/// Has `cmd` run inside the namespace (for netavark).
pub fn enter_for(cmd: &mut Command, ns: &Path) -> Result<(), String> {
    let fd = std::fs::File::open(ns).map_err(|e| {
        format!(
            "opening the rootless network namespace {}: {e}",
            ns.display()
        )
    })?;
    // SAFETY: between fork and exec the child only calls setns(2) on a descriptor it
    // inherited, which allocates nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&fd),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .map_err(std::io::Error::from)
        });
    }
    Ok(())
}

/// The mappings netavark gets inside the namespace: the address to bind is slirp4netns's
/// business on the host, so inside, a port is matched on any address.
pub fn inner_ports(ports: &[PortMapping]) -> Vec<PortMapping> {
    ports
        .iter()
        .map(|p| PortMapping {
            host_ip: String::new(),
            ..p.clone()
        })
        .collect()
}

/// Forwards `ports` from the host into the namespace; returns slirp4netns's IDs of them.
pub fn forward(host: &HostNetworks, ports: &[PortMapping]) -> Result<Vec<u64>, String> {
    // Into the namespace on the same port, where netavark's DNAT rule waits for it.
    let through: Vec<PortMapping> = ports
        .iter()
        .map(|p| PortMapping {
            container_port: p.host_port,
            ..p.clone()
        })
        .collect();
    let mut ids = Vec::new();
    for request in super::slirp::forward_requests(&through) {
        match super::slirp::api_call(&api_socket(host), &request) {
            Ok(reply) => ids.extend(reply["return"]["id"].as_u64()),
            Err(e) => {
                unforward(host, &ids);
                return Err(e);
            }
        }
    }
    Ok(ids)
}

/// Stops forwarding the ports of `ids`.
pub fn unforward(host: &HostNetworks, ids: &[u64]) {
    for id in ids {
        let request = serde_json::json!({"execute": "remove_hostfwd", "arguments": {"id": id}});
        if let Err(e) = super::slirp::api_call(&api_socket(host), &request) {
            tracing::debug!(id, error = %e, "removing a port forward");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_the_namespace_ports_match_any_address() {
        let p = PortMapping {
            host_ip: "127.0.0.1".into(),
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
            range: 1,
        };
        let inner = inner_ports(std::slice::from_ref(&p));
        assert_eq!(inner[0].host_ip, "");
        assert_eq!(inner[0].host_port, 8080);
        assert_eq!(p.host_ip, "127.0.0.1", "the host side keeps its address");
    }
}
