//! One forwarded UDP flow in the guest: the host's datagrams (framed, see `framing`)
//! sent to the published port from a socket of the flow's own, and the answers framed
//! back, until the host ends the flow.
//!
//! The port is reached on the guest's own address rather than its loopback: the pasta
//! of Debian 12 loses the answers on its loopback path when the host port differs from
//! the container's, and its other path has no such fault.

use berth_types::machine::framing;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vsock::VsockStream;

/// The guest's address on its default route (the loopback when it has none).
fn own_address() -> IpAddr {
    let gateway = std::fs::read_to_string("/proc/net/route")
        .ok()
        .and_then(|t| {
            t.lines().skip(1).find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.get(1) == Some(&"00000000"))
                    .then(|| u32::from_str_radix(f.get(2)?, 16).ok())
                    .flatten()
            })
        })
        // The table holds the address in the kernel's (little-endian) byte order.
        .map(|g| Ipv4Addr::from(g.to_le_bytes()));
    gateway
        .and_then(|g| {
            // Connecting a datagram socket sends nothing; it only picks the source.
            let probe = UdpSocket::bind("0.0.0.0:0").ok()?;
            probe.connect((g, 9)).ok()?;
            Some(probe.local_addr().ok()?.ip())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Relays the flow on `conn` to the guest's UDP `port` until the host ends it.
pub fn forward(conn: VsockStream, port: u16) -> std::io::Result<()> {
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.connect(SocketAddr::new(own_address(), port))?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let done = Arc::new(AtomicBool::new(false));
    let (answers, mut to_host, done2) = (socket.try_clone()?, conn.try_clone()?, done.clone());
    let back = std::thread::spawn(move || {
        let mut buf = vec![0u8; framing::MAX_DATAGRAM];
        while !done2.load(Ordering::Relaxed) {
            match answers.recv(&mut buf) {
                // An empty datagram would read as the end mark.
                Ok(0) => {}
                Ok(n) => {
                    if to_host.write_all(&framing::frame(&buf[..n])).is_err() {
                        break;
                    }
                }
                // Nothing yet, or nothing listens (yet): the flow goes on.
                Err(_) => {}
            }
        }
    });
    let mut from_host = &conn;
    while let Some(datagram) = framing::read_datagram(&mut from_host)? {
        let _ = socket.send(&datagram);
    }
    done.store(true, Ordering::Relaxed);
    let _ = conn.shutdown(std::net::Shutdown::Both);
    let _ = back.join();
    Ok(())
}
