//! Published ports: `-p` mappings made concrete when the container starts (a host
//! port of 0 gets a free one, `-P` publishes the image's EXPOSEd ports), and checked
//! against the host so a port another program holds fails the start clearly.

use berth_types::network::PortMapping;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

fn bind_addr(m: &PortMapping, port: u16) -> SocketAddr {
    let ip: IpAddr = m
        .host_ip
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, port)
}

/// Binds the mapping's address and `port` (0: any) for a moment; the port bound, or
/// `None` when something else holds it.
fn try_bind(m: &PortMapping, port: u16) -> Option<u16> {
    let addr = bind_addr(m, port);
    let bound = match m.protocol.as_str() {
        "udp" => UdpSocket::bind(addr).ok()?.local_addr().ok()?,
        _ => TcpListener::bind(addr).ok()?.local_addr().ok()?,
    };
    Some(bound.port())
}

/// The mappings to hand netavark: explicit ones (host port 0 → a free port) plus,
/// with `publish_all`, each exposed port (`80/tcp`) on a free host port.
pub fn resolve(
    requested: &[PortMapping],
    publish_all: bool,
    exposed: &[String],
) -> Result<Vec<PortMapping>, String> {
    let mut out: Vec<PortMapping> = Vec::new();
    let mut wanted = requested.to_vec();
    if publish_all {
        for e in exposed {
            let (port, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if !wanted
                .iter()
                .any(|m| m.container_port == port && m.protocol == proto)
            {
                wanted.push(PortMapping {
                    host_ip: String::new(),
                    container_port: port,
                    host_port: 0,
                    protocol: proto.to_string(),
                    range: 1,
                });
            }
        }
    }
    for mut m in wanted {
        m.range = m.range.max(1);
        if m.host_port == 0 {
            if m.range > 1 {
                return Err("a port range needs its host ports given".into());
            }
            m.host_port = try_bind(&m, 0).ok_or("no free host port")?;
        } else {
            for p in m.host_port..m.host_port.saturating_add(m.range) {
                if try_bind(&m, p).is_none() {
                    let ip = if m.host_ip.is_empty() {
                        "0.0.0.0"
                    } else {
                        &m.host_ip
                    };
                    return Err(format!(
                        "cannot listen on the {} port {ip}:{p}: bind: address already in use",
                        m.protocol
                    ));
                }
            }
        }
        out.push(m);
    }
    Ok(out)
}
