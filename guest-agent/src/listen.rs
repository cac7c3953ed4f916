//! What the agent serves the host over vsock (the API service serves the API port
//! itself): published ports (`tcp PORT\n`, then relayed to the guest's loopback; `udp
//! PORT\n`, see `udp`), the clock (`now\n` reads the guest's, `time UNIX_NANOS\n` sets
//! it when it lags the host's) and power. Once all listen, the agent tells the host it
//! is ready on the host's ready port.

use berth_types::machine::{framing, CLOCK_PORT, CONTROL_PORT, FORWARD_PORT, READY_PORT};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use vsock::{VsockAddr, VsockListener, VsockStream, VMADDR_CID_ANY, VMADDR_CID_HOST};

/// A stream that can be split in two and closed, half or whole.
trait Duplex: Read + Write + Send + 'static {
    fn split(&self) -> std::io::Result<Box<dyn Duplex>>;
    fn close(&self, how: Shutdown);
}

impl Duplex for VsockStream {
    fn split(&self) -> std::io::Result<Box<dyn Duplex>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn close(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

impl Duplex for UnixStream {
    fn split(&self) -> std::io::Result<Box<dyn Duplex>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn close(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

impl Duplex for TcpStream {
    fn split(&self) -> std::io::Result<Box<dyn Duplex>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn close(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

/// Relays a host connection (`a`, host-to-guest bytes framed: see `framing`) to a
/// guest service (`b`): the host's end mark half-closes the service's side; the service
/// finishing its answer closes both whole.
fn relay(a: Box<dyn Duplex>, b: Box<dyn Duplex>) -> std::io::Result<()> {
    let (a_read, mut b_read) = (a.split()?, b.split()?);
    let (mut a_write, b_write) = (a, b);
    let up = std::thread::spawn(move || {
        let half = b_write.split();
        let _ = framing::receive(a_read, b_write);
        if let Ok(h) = half {
            h.close(Shutdown::Write);
        }
    });
    let _ = std::io::copy(&mut b_read, &mut a_write);
    a_write.close(Shutdown::Both);
    b_read.close(Shutdown::Both);
    let _ = up.join();
    Ok(())
}

fn listener(port: u32) -> std::io::Result<VsockListener> {
    VsockListener::bind(&VsockAddr::new(VMADDR_CID_ANY, port))
}

/// Accepts on `port`, handing each connection to `handle` on a thread of its own.
fn accept_loop(
    port: u32,
    handle: impl Fn(VsockStream) -> std::io::Result<()> + Send + Sync + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let l = listener(port)?;
    let handle = std::sync::Arc::new(handle);
    Ok(std::thread::spawn(move || {
        for conn in l.incoming() {
            match conn {
                Ok(c) => {
                    let h = handle.clone();
                    std::thread::spawn(move || {
                        if let Err(e) = h(c) {
                            crate::say(&format!("vsock port {port}: {e}"));
                        }
                    });
                }
                Err(e) => crate::say(&format!("vsock port {port}: accept: {e}")),
            }
        }
    }))
}

/// The first line of a connection, read byte by byte so nothing after it is consumed.
fn first_line(s: &mut VsockStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 256 {
        if s.read(&mut byte)? == 0 || byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn forward(mut conn: VsockStream) -> std::io::Result<()> {
    let line = first_line(&mut conn)?;
    if let Some(port) = line
        .strip_prefix("udp ")
        .and_then(|p| p.trim().parse().ok())
    {
        return crate::udp::forward(conn, port);
    }
    let port: u16 = line
        .strip_prefix("tcp ")
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad forward request {line:?}")))?;
    let target = TcpStream::connect(("127.0.0.1", port))?;
    relay(Box::new(conn), Box::new(target))
}

fn clock(mut conn: VsockStream) -> std::io::Result<()> {
    let line = first_line(&mut conn)?;
    if line.trim() == "now" {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
        let nanos = i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec);
        return conn.write_all(format!("time {nanos}\n").as_bytes());
    }
    let nanos: i64 = line
        .strip_prefix("time ")
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad clock request {line:?}")))?;
    let ts = rustix::time::Timespec {
        tv_sec: nanos.div_euclid(1_000_000_000),
        tv_nsec: nanos.rem_euclid(1_000_000_000),
    };
    match rustix::time::clock_settime(rustix::time::ClockId::Realtime, ts) {
        Ok(()) => conn.write_all(b"ok\n"),
        Err(e) => conn.write_all(format!("error {e}\n").as_bytes()),
    }
}

fn control(mut conn: VsockStream) -> std::io::Result<()> {
    let line = first_line(&mut conn)?;
    match line.trim() {
        "poweroff" => {
            conn.write_all(b"ok\n")?;
            crate::say("powering off at the host's request");
            std::process::Command::new("systemctl")
                .args(["poweroff", "--no-block"])
                .status()?;
            Ok(())
        }
        other => conn.write_all(format!("error unknown request {other:?}\n").as_bytes()),
    }
}

/// Whether the guest has a default route (its network is up: pulls can work).
fn routed() -> bool {
    std::fs::read_to_string("/proc/net/route")
        .map(|t| {
            t.lines()
                .skip(1)
                .any(|l| l.split_whitespace().nth(1) == Some("00000000"))
        })
        .unwrap_or(false)
}

/// Waits (a while at most) for the network, which DHCP brings up meanwhile.
fn wait_for_network() {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !routed() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !routed() {
        crate::say("no default route yet; ready without one");
    }
}

/// Tells the host the agent is ready (the host listens on its ready port while it boots).
fn signal_ready() {
    for _ in 0..50 {
        match VsockStream::connect(&VsockAddr::new(VMADDR_CID_HOST, READY_PORT)) {
            Ok(mut s) => {
                let _ = s.write_all(b"ready\n");
                crate::say("ready");
                return;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    crate::say("the host did not take the ready signal; serving anyway");
}

pub fn serve() -> anyhow::Result<()> {
    let forward_loop = accept_loop(FORWARD_PORT, forward)?;
    accept_loop(CLOCK_PORT, clock)?;
    accept_loop(CONTROL_PORT, control)?;
    wait_for_network();
    signal_ready();
    let _ = forward_loop.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_carries_both_ways_and_half_closes() {
        let (a, a_far) = UnixStream::pair().expect("pair");
        let (b, b_far) = UnixStream::pair().expect("pair");
        let t = std::thread::spawn(move || relay(Box::new(a), Box::new(b)));
        let (mut a_far, mut b_far) = (a_far, b_far);
        framing::send(&b"ping"[..], &mut a_far).expect("send");
        let mut got = String::new();
        b_far
            .read_to_string(&mut got)
            .expect("read to the half-close");
        assert_eq!(got, "ping");
        b_far.write_all(b"pong").expect("write");
        drop(b_far);
        let mut back = String::new();
        a_far.read_to_string(&mut back).expect("read");
        assert_eq!(back, "pong");
        t.join().expect("join").expect("relay");
    }
}
