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

/// Whether the host port is free (nothing listening or bound there).
fn free(m: &PortMapping, port: u16) -> bool {
    match m.protocol.as_str() {
        "udp" => UdpSocket::bind(bind_addr(m, port)).is_ok(),
        _ => TcpListener::bind(bind_addr(m, port)).is_ok(),
    }
}

/// A free host port picked by the kernel.
fn any_free(m: &PortMapping) -> Option<u16> {
    let port = match m.protocol.as_str() {
        "udp" => UdpSocket::bind(bind_addr(m, 0))
            .ok()?
            .local_addr()
            .ok()?
            .port(),
        _ => TcpListener::bind(bind_addr(m, 0))
            .ok()?
            .local_addr()
            .ok()?
            .port(),
    };
    Some(port)
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
            m.host_port = any_free(&m).ok_or("no free host port")?;
        } else {
            for p in m.host_port..m.host_port.saturating_add(m.range) {
                if !free(&m, p) {
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
