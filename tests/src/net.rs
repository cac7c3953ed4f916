//! Loopback helpers for tests of published ports: a free port, a plain HTTP GET, and
//! one datagram's round trip to the `udp-echo` test image's server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

/// A 127.0.0.1 port nothing listens on (the kernel's pick, released again).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// `GET path` over HTTP/1.0 to `addr`; the whole response, or `None` when it fails.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Sends `msg` in one datagram to 127.0.0.1:`port`; the answer, or `None` when none
/// comes within half a second.
pub fn udp_ask(port: u16, msg: &str) -> Option<String> {
    let s = UdpSocket::bind("127.0.0.1:0").ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.send_to(msg.as_bytes(), ("127.0.0.1", port)).ok()?;
    let mut buf = [0u8; 2048];
    let n = s.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Asks loopback `port` (a published `udp-echo`) until it echoes; fails the test after
/// `limit`.
pub fn udp_echoes(port: u16, limit: Duration) {
    let answer = crate::containers::wait_for(&format!("an echo on udp port {port}"), limit, || {
        udp_ask(port, "ping")
    });
    assert_eq!(answer, "echo ping");
}
