//! The network flags of run/create: `--network` (a network name, several, with
//! `:ip=…,alias=…,mac=…` options, or `bridge`, `none`, `host`, `container:ID`,
//! `ns:PATH`), `--ip`, `--mac-address`, `--network-alias`, `-p`, `-P`, `--dns*`,
//! `--add-host` and `--no-hosts`, as Podman reads them.

use super::{invalid, ArgError};
use berth_types::network::{NetworkAttachment, PortMapping};
use std::net::IpAddr;

/// What the flags ask for.
#[derive(Debug, Default, PartialEq)]
pub struct NetworkFlags {
    pub mode: String,
    pub networks: Vec<NetworkAttachment>,
    pub ports: Vec<PortMapping>,
}

/// The raw flag values.
pub struct Input<'a> {
    pub network: &'a [String],
    pub ip: Option<&'a str>,
    pub mac: Option<&'a str>,
    pub aliases: &'a [String],
    pub publish: &'a [String],
    pub publish_all: bool,
}

fn valid_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `NAME[:opt=v,opt=v]` of `--network`.
fn attachment(spec: &str) -> Result<NetworkAttachment, ArgError> {
    let (name, opts) = spec.split_once(':').unwrap_or((spec, ""));
    let mut a = NetworkAttachment {
        network: name.to_string(),
        ..Default::default()
    };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = opt
            .split_once('=')
            .ok_or_else(|| invalid("--network", spec, "options must be KEY=VALUE"))?;
        match k {
            "alias" => a.aliases.push(v.to_string()),
            "ip" | "ip6" => {
                v.parse::<IpAddr>()
                    .map_err(|_| invalid("--network", spec, format!("{v} is not an IP address")))?;
                a.ips.push(v.to_string());
            }
            "mac" => {
                if !valid_mac(v) {
                    return Err(invalid(
                        "--network",
                        spec,
                        format!("{v} is not a MAC address"),
                    ));
                }
                a.mac = Some(v.to_string());
            }
            "interface_name" => {}
            _ => return Err(invalid("--network", spec, format!("unknown option {k}"))),
        }
    }
    Ok(a)
}

pub fn network_flags(i: &Input<'_>) -> Result<NetworkFlags, ArgError> {
    // `a,b` joins two networks; `a:ip=…,alias=…` is one network with options.
    let specs: Vec<&str> = i
        .network
        .iter()
        .flat_map(|n| {
            if n.contains(':') && !n.starts_with("container:") && !n.starts_with("ns:") {
                vec![n.as_str()]
            } else {
                n.split(',').collect()
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    let special = |s: &str| {
        matches!(s, "none" | "host" | "private" | "slirp4netns" | "pasta")
            || s.starts_with("container:")
            || s.starts_with("ns:")
    };
    let mut out = NetworkFlags {
        mode: "bridge".into(),
        ..Default::default()
    };
    match specs.as_slice() {
        [] => {}
        [one] if special(one) => {
            out.mode = match *one {
                "private" => "bridge".into(),
                m => m.to_string(),
            };
            if let Some(path) = one.strip_prefix("ns:") {
                if !path.starts_with('/') {
                    return Err(invalid("--network", one, "ns: needs an absolute path"));
                }
            }
        }
        many => {
            if let Some(s) = many.iter().find(|s| special(s)) {
                return Err(invalid(
                    "--network",
                    s,
                    "none, host, container: and ns: cannot be combined with other networks",
                ));
            }
            for s in many {
                // `bridge` is the default network, as in Podman.
                if !s.starts_with("bridge:") && *s != "bridge" {
                    out.networks.push(attachment(s)?);
                } else {
                    let mut a = attachment(s)?;
                    a.network = String::new();
                    out.networks.push(a);
                }
            }
        }
    }
    if out.mode == "bridge" {
        if out.networks.is_empty() {
            out.networks.push(NetworkAttachment::default());
        }
        let several = out.networks.len() > 1;
        let first = &mut out.networks[0];
        if let Some(ip) = i.ip {
            if several {
                return Err(invalid("--ip", ip, "needs exactly one network"));
            }
            ip.parse::<IpAddr>()
                .map_err(|_| invalid("--ip", ip, "not an IP address"))?;
            first.ips.push(ip.to_string());
        }
        if let Some(mac) = i.mac {
            if !valid_mac(mac) {
                return Err(invalid("--mac-address", mac, "not a MAC address"));
            }
            first.mac = Some(mac.to_string());
        }
        first.aliases.extend(i.aliases.iter().cloned());
        // An unnamed attachment is the default network, resolved by the engine.
        if out.networks.iter().all(|a| a.network.is_empty())
            && out.networks.len() == 1
            && first_is_plain(&out.networks[0])
        {
            out.networks.clear();
        }
        for p in i.publish {
            out.ports.extend(publish(p)?);
        }
    } else {
        for (flag, given) in [
            ("--ip", i.ip.is_some()),
            ("--mac-address", i.mac.is_some()),
            ("--network-alias", !i.aliases.is_empty()),
        ] {
            if given {
                return Err(ArgError::Conflict(format!(
                    "{flag} can only be used with bridge networks, not with --network {}",
                    out.mode
                )));
            }
        }
        if matches!(out.mode.as_str(), "pasta" | "slirp4netns") {
            // The user-mode helpers forward published ports themselves.
            for p in i.publish {
                out.ports.extend(publish(p)?);
            }
        } else if !i.publish.is_empty() && out.mode != "host" {
            return Err(ArgError::Conflict(format!(
                "-p/--publish needs a bridge network, not --network {}",
                out.mode
            )));
        }
        let _ = i.publish_all;
    }
    Ok(out)
}

fn first_is_plain(a: &NetworkAttachment) -> bool {
    a.aliases.is_empty() && a.ips.is_empty() && a.mac.is_none()
}

fn port_range(s: &str, flag_value: &str) -> Result<(u16, u16), ArgError> {
    let bad = || {
        invalid(
            "-p, --publish",
            flag_value,
            "ports are numbers from 1 to 65535",
        )
    };
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a, b - a + 1))
}

/// `-p [[IP:][HOSTPORT]:]CTRPORT[/PROTO]`, with `N-M` ranges and `[v6]` addresses.
pub fn publish(value: &str) -> Result<Vec<PortMapping>, ArgError> {
    let (spec, proto) = value.rsplit_once('/').unwrap_or((value, "tcp"));
    let protos: Vec<&str> = proto.split(',').collect();
    for p in &protos {
        if !["tcp", "udp", "sctp"].contains(p) {
            return Err(invalid(
                "-p, --publish",
                value,
                "the protocol must be tcp, udp or sctp",
            ));
        }
    }
    let (host_ip, rest) = if let Some(r) = spec.strip_prefix('[') {
        let (ip, rest) = r
            .split_once(']')
            .ok_or_else(|| invalid("-p, --publish", value, "an unclosed [ in the address"))?;
        (ip.to_string(), rest.trim_start_matches(':'))
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), spec),
            3 => (parts[0].to_string(), &spec[parts[0].len() + 1..]),
            _ => return Err(invalid("-p, --publish", value, "too many colons")),
        }
    };
    if !host_ip.is_empty() {
        host_ip.parse::<IpAddr>().map_err(|_| {
            invalid(
                "-p, --publish",
                value,
                format!("{host_ip} is not an IP address"),
            )
        })?;
    }
    let (host, ctr) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    let (ctr_port, ctr_n) = port_range(ctr, value)?;
    let (host_port, host_n) = if host.is_empty() {
        (0, ctr_n)
    } else {
        port_range(host, value)?
    };
    if host_n != ctr_n {
        return Err(invalid(
            "-p, --publish",
            value,
            "the host and container port ranges differ in length",
        ));
    }
    if host_port == 0 && ctr_n > 1 {
        return Err(invalid(
            "-p, --publish",
            value,
            "a container port range needs host ports",
        ));
    }
    Ok(protos
        .into_iter()
        .map(|p| PortMapping {
            host_ip: host_ip.clone(),
            container_port: ctr_port,
            host_port,
            protocol: p.to_string(),
            range: ctr_n,
        })
        .collect())
}

/// `--add-host NAME:IP` (several names may share one IP: `a;b:IP` is not Podman's).
pub fn add_hosts(values: &[String], no_hosts: bool) -> Result<Vec<String>, ArgError> {
    if no_hosts && !values.is_empty() {
        return Err(ArgError::Conflict(
            "--no-hosts and --add-host cannot be set together".into(),
        ));
    }
    values
        .iter()
        .map(|v| {
            let (name, ip) = v
                .split_once(':')
                .ok_or_else(|| invalid("--add-host", v, "it must be HOST:IP"))?;
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            if name.is_empty() || ip.parse::<IpAddr>().is_err() {
                return Err(invalid("--add-host", v, "it must be HOST:IP"));
            }
            Ok(format!("{name}:{ip}"))
        })
        .collect()
}

/// `--dns` servers must be addresses (`none` drops them all).
pub fn dns_servers(values: &[String]) -> Result<Vec<String>, ArgError> {
    for v in values {
        if v != "none" && v.parse::<IpAddr>().is_err() {
            return Err(invalid("--dns", v, "not an IP address"));
        }
    }
    Ok(values.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &str) -> Vec<(String, u16, u16, String, u16)> {
        publish(v)
            .expect("valid")
            .into_iter()
            .map(|m| {
                (
                    m.host_ip,
                    m.host_port,
                    m.container_port,
                    m.protocol,
                    m.range,
                )
            })
            .collect()
    }

    #[test]
    fn publish_reads_podmans_forms() {
        assert_eq!(p("80"), [("".into(), 0, 80, "tcp".into(), 1)]);
        assert_eq!(p("8080:80"), [("".into(), 8080, 80, "tcp".into(), 1)]);
        assert_eq!(
            p("127.0.0.1:8080:80/udp"),
            [("127.0.0.1".into(), 8080, 80, "udp".into(), 1)]
        );
        assert_eq!(
            p("127.0.0.1::80"),
            [("127.0.0.1".into(), 0, 80, "tcp".into(), 1)]
        );
        assert_eq!(
            p("[::1]:8080:80"),
            [("::1".into(), 8080, 80, "tcp".into(), 1)]
        );
        assert_eq!(
            p("9000-9002:80-82"),
            [("".into(), 9000, 80, "tcp".into(), 3)]
        );
        for bad in [
            "0",
            "70000",
            "a:80",
            "1:2:3:4",
            "80/icmp",
            "9000-9001:80-82",
            "nope:80:80",
        ] {
            assert!(publish(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn network_specs_and_their_options() {
        let net = |n: &[&str]| {
            let n: Vec<String> = n.iter().map(|s| s.to_string()).collect();
            network_flags(&Input {
                network: &n,
                ip: None,
                mac: None,
                aliases: &[],
                publish: &[],
                publish_all: false,
            })
        };
        assert_eq!(net(&[]).expect("ok").mode, "bridge");
        assert!(net(&[]).expect("ok").networks.is_empty());
        assert_eq!(net(&["none"]).expect("ok").mode, "none");
        assert_eq!(net(&["container:abc"]).expect("ok").mode, "container:abc");
        let two = net(&["a:ip=10.1.0.5,alias=web", "b"]).expect("ok");
        assert_eq!(net(&["a,b"]).expect("ok").networks.len(), 2);
        assert_eq!(two.networks.len(), 2);
        assert_eq!(two.networks[0].ips, ["10.1.0.5"]);
        assert_eq!(two.networks[0].aliases, ["web"]);
        assert!(net(&["a,none"]).is_err());
        assert!(net(&["a:ip=x"]).is_err());
        assert!(net(&["ns:relative"]).is_err());
    }
}
