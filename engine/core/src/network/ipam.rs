//! Address management: each running container leases one address per subnet of each
//! network it joins, the lowest free one in the lease range (never the network
//! address, the gateway or the broadcast). A static address (`--ip`) must lie in a
//! subnet and be free. Leases live in the host's lease map, changed only under the
//! host network lock, so parallel starts (from any store) never get the same address.

use super::host::Leases;
use super::subnet::parse_cidr;
use berth_types::network::Network;
use ipnet::IpNet;
use std::net::IpAddr;

fn to_u128(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn bounds(net: &IpNet, lease: Option<&berth_types::network::LeaseRange>) -> (u128, u128) {
    let to_u128 = |ip: IpAddr| to_u128(&ip);
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
    leases: &mut Leases,
    network: &Network,
    container: &str,
    static_ips: &[String],
) -> Result<Vec<(IpAddr, u8)>, String> {
    allocate_after(leases, &mut LastIps::new(), network, container, static_ips)
}

/// The address last handed out in each subnet (by CIDR).
pub type LastIps = std::collections::BTreeMap<String, String>;

/// [`allocate`], handing out the free address after the last one given in each subnet
/// (wrapping round), as Podman does: an address just released is not reused at once,
/// so no neighbour still holds it in its ARP cache for another MAC address.
pub fn allocate_after(
    leases: &mut Leases,
    last_out: &mut LastIps,
    network: &Network,
    container: &str,
    static_ips: &[String],
) -> Result<Vec<(IpAddr, u8)>, String> {
    let mut out = Vec::new();
    // Worked on a copy: a failure leaves the leases as they were.
    let mut work = leases.clone();
    let mut work_last = last_out.clone();
    let last = &mut work_last;
    let taken = work.entry(network.name.clone()).or_default();
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
            if taken.get(&ip.to_string()).is_some_and(|c| c != container) {
                return Err(format!(
                    "IPAM error: requested ip address {ip} is already allocated to another container"
                ));
            }
            taken.insert(ip.to_string(), container.to_string());
            out.push((ip, net.prefix_len()));
            continue;
        }
        let (lo, hi) = bounds(&net, s.lease_range.as_ref());
        let after = last
            .get(&s.subnet)
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .filter(|ip| net.contains(ip))
            .map(|ip| to_u128(&ip))
            .filter(|v| (lo..=hi).contains(v));
        let start = after.map_or(lo, |v| if v >= hi { lo } else { v + 1 });
        let mut got = None;
        for v in (start..=hi).chain(lo..start) {
            let ip = from_u128(&net, v);
            if Some(ip) == gateway || taken.contains_key(&ip.to_string()) {
                continue;
            }
            taken.insert(ip.to_string(), container.to_string());
            last.insert(s.subnet.clone(), ip.to_string());
            got = Some(ip);
            break;
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
    *leases = work;
    *last_out = work_last;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_types::network::{LeaseRange, Subnet};

    fn net(subnet: &str, gateway: &str, range: Option<(&str, &str)>) -> Network {
        Network {
            name: "n".into(),
            subnets: vec![Subnet {
                subnet: subnet.into(),
                gateway: Some(gateway.into()),
                lease_range: range.map(|(a, b)| LeaseRange {
                    start_ip: Some(a.into()),
                    end_ip: Some(b.into()),
                }),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn addresses_go_lowest_first_skipping_the_gateway_and_taken_ones() {
        let n = net("10.9.0.0/29", "10.9.0.1", None);
        let mut leases = Leases::new();
        let a = allocate(&mut leases, &n, "a", &[]).expect("a");
        let b = allocate(&mut leases, &n, "b", &[]).expect("b");
        assert_eq!(a[0].0.to_string(), "10.9.0.2");
        assert_eq!(b[0].0.to_string(), "10.9.0.3");
        assert_eq!(a[0].1, 29);
        for c in ["c", "d", "e"] {
            allocate(&mut leases, &n, c, &[]).expect(c);
        }
        let full = allocate(&mut leases, &n, "g", &[]).expect_err("full");
        assert!(full.contains("failed to find free IP"), "{full}");
    }

    #[test]
    fn a_released_address_comes_back_only_after_the_others() {
        let n = net("10.9.0.0/29", "10.9.0.1", None);
        let (mut leases, mut last) = (Leases::new(), LastIps::new());
        let mut take = |leases: &mut Leases, c: &str| {
            allocate_after(leases, &mut last, &n, c, &[]).expect(c)[0]
                .0
                .to_string()
        };
        assert_eq!(take(&mut leases, "a"), "10.9.0.2");
        leases.get_mut("n").expect("n").retain(|_, c| c != "a");
        assert_eq!(take(&mut leases, "b"), "10.9.0.3", "not .2 again at once");
        assert_eq!(take(&mut leases, "c"), "10.9.0.4");
        assert_eq!(take(&mut leases, "d"), "10.9.0.5");
        assert_eq!(take(&mut leases, "e"), "10.9.0.6");
        assert_eq!(
            take(&mut leases, "f"),
            "10.9.0.2",
            "wraps round to the free one"
        );
    }

    #[test]
    fn static_addresses_must_be_free_and_inside() {
        let n = net(
            "10.9.0.0/24",
            "10.9.0.1",
            Some(("10.9.0.129", "10.9.0.255")),
        );
        let mut leases = Leases::new();
        let ip = allocate(&mut leases, &n, "a", &["10.9.0.7".into()]).expect("static");
        assert_eq!(ip[0].0.to_string(), "10.9.0.7");
        let taken = allocate(&mut leases, &n, "b", &["10.9.0.7".into()]).expect_err("taken");
        assert!(taken.contains("already allocated"), "{taken}");
        let outside = allocate(&mut leases, &n, "c", &["10.8.0.7".into()]).expect_err("outside");
        assert!(outside.contains("not in any subnet"), "{outside}");
        let gw = allocate(&mut leases, &n, "d", &["10.9.0.1".into()]).expect_err("gateway");
        assert!(gw.contains("reserved"), "{gw}");
        let ranged = allocate(&mut leases, &n, "e", &[]).expect("range");
        assert_eq!(ranged[0].0.to_string(), "10.9.0.129");
    }
}
