//! A UDP port published by the guest's containers, served on the host's loopback: each
//! client address is a flow, one vsock stream to the agent's forward port (`udp
//! PORT\n`, then datagrams framed both ways), ended after a minute without traffic; at
//! most 256 flows at once.

use berth_types::machine::{framing, FORWARD_PORT};
use std::collections::hash_map::{Entry, HashMap};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A flow without a datagram either way for this long is ended.
const IDLE: Duration = Duration::from_secs(60);
/// The most flows a port keeps at once (each holds a stream and a thread on both sides);
/// a datagram from a new client beyond them is dropped, as UDP may.
const MAX_FLOWS: usize = 256;

/// One client's stream to the guest.
struct Flow {
    to_guest: UnixStream,
    /// When a datagram last went either way.
    last: Arc<std::sync::Mutex<Instant>>,
    /// The guest ended the flow.
    ended: Arc<AtomicBool>,
}

impl Flow {
    /// Opens the flow and starts relaying the guest's answers to `client`.
    fn open(
        uds: &Path,
        port: u16,
        socket: &UdpSocket,
        client: SocketAddr,
    ) -> std::io::Result<Flow> {
        let mut to_guest = crate::vsock::connect(uds, FORWARD_PORT)?;
        to_guest.write_all(format!("udp {port}\n").as_bytes())?;
        let from_guest = to_guest.try_clone()?;
        let reply = socket.try_clone()?;
        let last = Arc::new(std::sync::Mutex::new(Instant::now()));
        let ended = Arc::new(AtomicBool::new(false));
        let (last2, ended2) = (last.clone(), ended.clone());
        std::thread::spawn(move || {
            while let Ok(Some(datagram)) = framing::read_datagram(&from_guest) {
                *last2.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                let _ = reply.send_to(&datagram, client);
            }
            ended2.store(true, Ordering::Relaxed);
        });
        Ok(Flow {
            to_guest,
            last,
            ended,
        })
    }

    fn idle(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
            || self
                .last
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed()
                > IDLE
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        let _ = self.to_guest.shutdown(Shutdown::Both);
    }
}

/// Serves the published UDP `port` on the host's loopback until `open` turns false.
pub fn serve(uds: PathBuf, port: u16, open: Arc<AtomicBool>) {
    let socket = match UdpSocket::bind(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(port, error = %e, "cannot forward the UDP port on the host");
            return;
        }
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(200)));
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut buf = vec![0u8; framing::MAX_DATAGRAM];
    while open.load(Ordering::Relaxed) {
        if let Ok((n, client)) = socket.recv_from(&mut buf) {
            // An empty datagram would read as the flow's end mark.
            if n > 0 {
                send(&uds, port, &socket, &mut flows, client, &buf[..n]);
            }
        }
        flows.retain(|_, f| !f.idle());
    }
}

/// Sends one client's datagram to the guest, on its flow (opened when it has none).
fn send(
    uds: &Path,
    port: u16,
    socket: &UdpSocket,
    flows: &mut HashMap<SocketAddr, Flow>,
    client: SocketAddr,
    datagram: &[u8],
) {
    let full = flows.len() >= MAX_FLOWS;
    let flow = match flows.entry(client) {
        Entry::Occupied(o) => o.into_mut(),
        Entry::Vacant(_) if full => return,
        Entry::Vacant(v) => match Flow::open(uds, port, socket, client) {
            Ok(f) => v.insert(f),
            Err(e) => {
                tracing::warn!(port, error = %e, "reaching the guest for a UDP flow");
                return;
            }
        },
    };
    *flow.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    if flow.to_guest.write_all(&framing::frame(datagram)).is_err() {
        flows.remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::AtomicUsize;

    /// A "guest" answering each flow's datagrams with `echo ` and the datagram.
    fn echo(mut reader: BufReader<UnixStream>, mut conn: UnixStream) {
        let mut line = String::new();
        reader.read_line(&mut line).expect("udp PORT");
        assert!(line.starts_with("udp "), "{line:?}");
        while let Ok(Some(d)) = framing::read_datagram(&mut reader) {
            let answer = [b"echo ".as_slice(), &d].concat();
            if conn.write_all(&framing::frame(&answer)).is_err() {
                return;
            }
        }
    }

    #[test]
    fn datagrams_go_to_the_guest_and_back_with_a_flow_per_client_up_to_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let flows = Arc::new(AtomicUsize::new(0));
        let uds = crate::vsock::stand_in::guest(dir.path(), flows.clone(), echo);
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        let open = Arc::new(AtomicBool::new(true));
        let (o, u) = (open.clone(), uds.clone());
        let server = std::thread::spawn(move || serve(u, port, o));
        let ask = |client: &UdpSocket, msg: &[u8]| -> Option<Vec<u8>> {
            client.send_to(msg, ("127.0.0.1", port)).ok()?;
            let mut buf = [0u8; 64];
            let n = client.recv(&mut buf).ok()?;
            Some(buf[..n].to_vec())
        };
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
        // The server binds its socket on a thread of its own: ask until it answers.
        client
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut answer = None;
        for _ in 0..100 {
            answer = ask(&client, b"one");
            if answer.is_some() {
                break;
            }
        }
        assert_eq!(answer.as_deref(), Some(&b"echo one"[..]));
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        assert_eq!(ask(&client, b"two").as_deref(), Some(&b"echo two"[..]));
        assert_eq!(flows.load(Ordering::SeqCst), 1, "one client, one flow");
        // Many more clients than the cap: the flows stop at it.
        let clients: Vec<UdpSocket> = (0..MAX_FLOWS + 20)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect();
        for c in &clients {
            c.send_to(b"x", ("127.0.0.1", port)).expect("send");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while flows.load(Ordering::SeqCst) < MAX_FLOWS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        // The datagrams past the cap are dropped, not queued for later.
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(flows.load(Ordering::SeqCst), MAX_FLOWS);
        open.store(false, Ordering::Relaxed);
        server.join().expect("the server ends");
    }
}
