//! Address management: each running container leases one address per subnet of each
//! network it joins, the lowest free one in the lease range (never the network
//! address, the gateway or the broadcast). A static address (`--ip`) must lie in a
//! subnet and be free. Leases are rows with a unique (network, address) key, so
//! parallel starts never get the same address.

use super::store;
use super::subnet::parse_cidr;
use berth_types::network::Network;
use ipnet::IpNet;
use rusqlite::Connection;
use std::collections::HashSet;
use std::net::IpAddr;

fn bounds(net: &IpNet, lease: Option<&berth_types::network::LeaseRange>) -> (u128, u128) {
    let to_u128 = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    };
    let mut lo = to_u128(net.network()) + 1;
    let mut hi = match net {
        IpNet::V4(_) => to_u128(net.broadcast()) - 1,
        IpNet::V6(_) => to_u128(net.broadcast()),
    };
    if let Some(l) = lease {
        if let Some(s) = l.start_ip.as_ref().and_then(|s| s.parse().ok()) {
            lo = lo.max(to_u128(s));
        }
        if let Some(e) = l.end_ip.as_ref().and_then(|s| s.parse().ok()) {
            hi = hi.min(to_u128(e));
        }
    }
    (lo, hi)
}

fn from_u128(net: &IpNet, v: u128) -> IpAddr {
    match net {
        IpNet::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(v as u32)),
        IpNet::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(v)),
    }
}

/// Leases `container` one address in each subnet of `network` (the static ones it asked
/// for where given); returns them with their prefix lengths.
pub fn allocate(
    conn: &Connection,
    network: &Network,
    container: &str,
    static_ips: &[String],
) -> Result<Vec<(IpAddr, u8)>, String> {
    let mut out = Vec::new();
    for s in &network.subnets {
        let net = parse_cidr(&s.subnet)?;
        let gateway: Option<IpAddr> = s.gateway.as_ref().and_then(|g| g.parse().ok());
        let wanted = static_ips
            .iter()
            .filter_map(|ip| ip.parse::<IpAddr>().ok())
            .find(|ip| net.contains(ip));
        if let Some(ip) = wanted {
            if Some(ip) == gateway || ip == net.network() || ip == net.broadcast() {
                return Err(format!(
                    "requested ip address {ip} is reserved in network {}",
                    network.name
                ));
            }
            if !store::lease(conn, &network.name, &ip.to_string(), container)
                .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "IPAM error: requested ip address {ip} is already allocated to another container"
                ));
            }
            out.push((ip, net.prefix_len()));
            continue;
        }
        let taken: HashSet<String> = store::leased(conn, &network.name)
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        let (lo, hi) = bounds(&net, s.lease_range.as_ref());
        let mut got = None;
        let mut v = lo;
        while v <= hi {
            let ip = from_u128(&net, v);
            v += 1;
            if Some(ip) == gateway || taken.contains(&ip.to_string()) {
                continue;
            }
            if store::lease(conn, &network.name, &ip.to_string(), container)
                .map_err(|e| e.to_string())?
            {
                got = Some(ip);
                break;
            }
        }
        let ip = got.ok_or_else(|| {
            format!(
                "IPAM error: failed to find free IP in range: {} in network {}",
                s.subnet, network.name
            )
        })?;
        out.push((ip, net.prefix_len()));
    }
    for ip in static_ips {
        let parsed: IpAddr = ip
            .parse()
            .map_err(|_| format!("invalid IP address {ip:?}"))?;
        if !out.iter().any(|(a, _)| *a == parsed) {
            return Err(format!(
                "requested static ip {ip} not in any subnet on network {}",
                network.name
            ));
        }
    }
    Ok(out)
}
