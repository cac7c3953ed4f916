//! A bridge network keeps its bridge and firewall chains while it exists, as Docker
//! keeps docker0: netavark removes them with the last container on the bridge and
//! makes them again for the next one (dozens of iptables calls each way), unless some
//! other port is on the bridge. So the first container on a bridge adds a keeper port,
//! a persistent tap device that stays down (no traffic crosses it); `network rm` and
//! `network prune` remove it and let netavark tear the rest down.
//! Callers hold the host network lock.

use super::host::HostNetworks;
use super::netavark;
use berth_types::network::Network;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

/// The keeper's name for `bridge`: `bk` and a digest of the bridge name, within the
/// kernel's 15 characters and never a name netavark gives.
pub fn name(bridge: &str) -> String {
    let digest = Sha256::digest(bridge.as_bytes());
    format!("bk-{}", &hex::encode(digest)[..12])
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip: {e}: install the iproute2 package"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Puts a keeper on `network`'s bridge once netavark has made it. Cheap when there is
/// one already (a stat). A failure only costs speed: netavark then tears the bridge
/// down with its last container, as it would without Berth.
pub fn ensure(network: &Network) {
    if network.driver != "bridge" || network.network_interface.is_empty() {
        return;
    }
    let bridge = network.network_interface.as_str();
    let keeper = name(bridge);
    if link_exists(&keeper) || !link_exists(bridge) {
        return;
    }
    // The bridge's MTU is the smallest of its ports': the keeper takes the bridge's.
    let mtu = std::fs::read_to_string(Path::new("/sys/class/net").join(bridge).join("mtu"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "1500".into());
    let made = ip(&["tuntap", "add", "dev", &keeper, "mode", "tap"])
        .and_then(|()| ip(&["link", "set", "dev", &keeper, "mtu", &mtu, "master", bridge]));
    if let Err(e) = made {
        tracing::debug!(bridge, error = %e, "no keeper port on the bridge");
        let _ = ip(&["link", "del", "dev", &keeper]);
    }
}

/// Removes `network`'s keeper and, if there was one, has netavark tear the bridge and
/// its firewall chains down: it does so when a container leaves an otherwise empty
/// bridge, so a stand-in joins the network in a namespace of its own and leaves again.
pub fn release(network: &Network, host: &HostNetworks) -> Result<(), String> {
    if network.network_interface.is_empty() {
        return Ok(());
    }
    let keeper = name(&network.network_interface);
    if !link_exists(&keeper) {
        return Ok(());
    }
    ip(&["link", "del", "dev", &keeper])?;
    let id = hex::encode(Sha256::digest(format!("teardown {}", network.name)));
    let mut leases = super::host::Leases::new();
    let ips = super::ipam::allocate(&mut leases, network, &id, &[])?;
    let joined = netavark::Joined {
        network: network.clone(),
        membership: super::store::Membership {
            network: network.name.clone(),
            interface_name: "eth0".into(),
            ..Default::default()
        },
        ips,
    };
    let options = netavark::options(&id, &id[..12], &id[..12], &[joined], &[], &[]);
    let netns = super::netns::path_for(&host.run_dir, &id);
    super::netns::create(&netns, None).map_err(|e| e.to_string())?;
    let result = netavark::setup(&host.run_dir, &netns, &options)
        .and_then(|_| netavark::teardown(&host.run_dir, &netns, &options));
    let _ = super::netns::remove(&netns);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeper_names_fit_the_kernel_and_differ_per_bridge() {
        let a = name("berth0");
        let b = name("berth1");
        assert!(a.len() <= 15, "{a}");
        assert!(a.starts_with("bk-"));
        assert_ne!(a, b);
        assert_eq!(a, name("berth0"));
    }
}
