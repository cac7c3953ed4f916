//! Subnets: parsing what the user gave, picking a free one (`10.89.N.0/24`, as Podman
//! does) that overlaps neither another network nor a route of the host, and the
//! addresses a subnet leases.

use ipnet::{IpNet, Ipv4Net};
use std::net::{IpAddr, Ipv4Addr};

/// Parses a CIDR; the address must be the network's (`10.1.2.0/24`, not `10.1.2.3/24`).
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s
        .parse()
        .map_err(|_| format!("invalid subnet {s:?}: not an address in CIDR form"))?;
    if net.addr() != net.network() {
        return Err(format!(
            "invalid subnet {s:?}: the address is not the network's ({}/{})",
            net.network(),
            net.prefix_len()
        ));
    }
    if net.hosts().nth(1).is_none() {
        return Err(format!(
            "invalid subnet {s:?}: too small to hold containers"
        ));
    }
    Ok(net)
}

pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The IPv4 networks the host routes to (from /proc/net/route), the default route left out.
pub fn host_routes() -> Vec<IpNet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // /proc/net/route prints little-endian words.
            let addr = Ipv4Addr::from(u32::from_be(dest));
            let prefix = u32::from_be(mask).leading_ones() as u8;
            Ipv4Net::new(addr, prefix).ok().map(IpNet::V4)
        })
        .collect()
}

/// The first `10.89.N.0/24` clear of `used` (other networks' subnets and host routes).
pub fn free_subnet(used: &[IpNet]) -> Option<IpNet> {
    (0..=255u8)
        .map(|n| IpNet::V4(Ipv4Net::new(Ipv4Addr::new(10, 89, n, 0), 24).expect("valid /24")))
        .find(|c| !used.iter().any(|u| overlaps(c, u)))
}

/// The first address after the network's: the usual gateway (`.1`, `::1`).
pub fn first_host(net: &IpNet) -> IpAddr {
    match net.network() {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).saturating_add(1))),
        IpAddr::V6(a) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a).saturating_add(1))),
    }
}

/// The lease range of `--ip-range R`: R's first host to its last address, as Podman
/// writes it.
pub fn lease_range(range: &IpNet) -> (IpAddr, IpAddr) {
    (first_host(range), range.broadcast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_must_name_a_network() {
        assert!(parse_cidr("10.1.2.0/24").is_ok());
        assert!(parse_cidr("10.1.2.3/24").is_err());
        assert!(parse_cidr("10.1.2.0/33").is_err());
        assert!(parse_cidr("nonsense").is_err());
        assert!(parse_cidr("10.1.2.0/32").is_err());
        assert!(parse_cidr("fd00:1::/64").is_ok());
    }

    #[test]
    fn free_subnets_skip_what_is_used() {
        let used: Vec<IpNet> = ["10.89.0.0/24", "10.89.1.0/25", "10.88.0.0/16"]
            .iter()
            .map(|s| s.parse().expect("cidr"))
            .collect();
        assert_eq!(
            free_subnet(&used).map(|n| n.to_string()),
            Some("10.89.2.0/24".into())
        );
        let all: Vec<IpNet> = vec!["10.89.0.0/16".parse().expect("cidr")];
        assert_eq!(free_subnet(&all), None);
    }

    #[test]
    fn gateways_are_the_first_address_after_the_network() {
        let v4: IpNet = "10.1.2.0/24".parse().expect("cidr");
        let v6: IpNet = "fd00:beef::/64".parse().expect("cidr");
        assert_eq!(first_host(&v4).to_string(), "10.1.2.1");
        assert_eq!(first_host(&v6).to_string(), "fd00:beef::1");
    }

    #[test]
    fn lease_ranges_run_to_the_range_broadcast() {
        let r: IpNet = "10.99.0.128/25".parse().expect("cidr");
        let (a, b) = lease_range(&r);
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("10.99.0.129".into(), "10.99.0.255".into())
        );
    }
}
