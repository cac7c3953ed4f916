//! The host side of a running machine, run as its own process (`berth machine
//! __forward NAME`) for as long as the VM lives: the host's API socket (0600), each
//! connection relayed to the API port the guest's service serves (on streams opened
//! ahead); the containers' published TCP and UDP ports (see `udp_forward`), followed
//! through the guest's events and served on the host's loopback; and the guest's
//! clock, set from the host's after the host slept or whenever it strays.

use crate::procs;
use crate::qemu::Qemu;
use berth_types::machine::{framing, API_PORT, CLOCK_PORT, FORWARD_PORT};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the forwarder needs to know of its machine.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The hybrid vsock socket.
    pub uds: PathBuf,
    /// The host's API socket to serve.
    pub api_socket: PathBuf,
    /// QEMU's pid file: the forwarder ends when QEMU does.
    pub qemu_pid: PathBuf,
}

impl Forward {
    pub fn for_run_dir(run: &Path) -> Forward {
        Forward {
            uds: run.join("vsock.sock"),
            api_socket: run.join("api.sock"),
            qemu_pid: Qemu::pid_file(run),
        }
    }
}

/// Relays a host connection (`a`) to the guest (`b`): the host's bytes go framed, its
/// half-close as the end mark (see `framing`); the guest ending closes both whole.
fn relay<A, B>(a: A, b: B)
where
    A: Read + Write + Send + 'static + TryCloneShutdown,
    B: Read + Write + Send + 'static + TryCloneShutdown,
{
    let (Ok(a_read), Ok(mut b_read)) = (a.try_clone_box(), b.try_clone_box()) else {
        return;
    };
    let (mut a_write, b_write) = (a, b);
    let up = std::thread::spawn(move || {
        let _ = framing::send(a_read, b_write);
    });
    let _ = std::io::copy(&mut b_read, &mut a_write);
    a_write.shut(Shutdown::Both);
    b_read.shut(Shutdown::Both);
    let _ = up.join();
}

/// Streams that can be cloned and shut down.
pub trait TryCloneShutdown: Sized {
    fn try_clone_box(&self) -> std::io::Result<Self>;
    fn shut(&self, how: Shutdown);
}

impl TryCloneShutdown for UnixStream {
    fn try_clone_box(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn shut(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

impl TryCloneShutdown for TcpStream {
    fn try_clone_box(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn shut(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

/// How many streams to the guest's API port are kept open ahead.
const SPARES: usize = 2;
/// How many idle streams are kept at most (those given back after a session beyond
/// this are closed).
const MOST_IDLE: usize = 8;

/// Idle streams to the guest's API port: opened ahead, so that a host connection does
/// not wait for a vsock handshake (a round trip through the guest) before its request
/// goes, and given back after each session that ended cleanly, so that most host
/// connections cost the guest no vsock connection at all.
struct Spares {
    uds: PathBuf,
    streams: Mutex<Vec<UnixStream>>,
    taken: Condvar,
}

impl Spares {
    fn new(uds: PathBuf) -> Arc<Spares> {
        let spares = Arc::new(Spares {
            uds,
            streams: Mutex::default(),
            taken: Condvar::new(),
        });
        let filler = spares.clone();
        std::thread::spawn(move || filler.keep_filled());
        spares
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<UnixStream>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A stream to the guest's API: the idle one last given back, else a new one.
    fn take(&self) -> std::io::Result<UnixStream> {
        loop {
            let spare = self.idle().pop();
            self.taken.notify_one();
            match spare {
                Some(s) if open(&s) => return Ok(s),
                // The service closed it meanwhile (restarted, say).
                Some(_) => continue,
                None => return crate::vsock::connect(&self.uds, API_PORT),
            }
        }
    }

    /// A stream whose session ended cleanly, ready for the next.
    fn give_back(&self, s: UnixStream) {
        let mut idle = self.idle();
        if idle.len() < MOST_IDLE {
            idle.push(s);
        }
    }

    fn keep_filled(&self) {
        loop {
            {
                let mut streams = self.idle();
                while streams.len() >= SPARES {
                    streams = self.taken.wait(streams).unwrap_or_else(|p| p.into_inner());
                }
            }
            match crate::vsock::connect(&self.uds, API_PORT) {
                Ok(s) => self.idle().insert(0, s),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

/// Whether an idle stream is still open (nothing to read yet, and no end).
fn open(s: &UnixStream) -> bool {
    use rustix::net::RecvFlags;
    let mut byte = [0u8; 1];
    matches!(
        rustix::net::recv(s, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT),
        Err(rustix::io::Errno::AGAIN)
    )
}

/// Relays one host connection as a session on a stream to the guest's API (see
/// `API_PORT`): the client's bytes framed up, ending with its half-close; the guest's
/// unframed down, its end mark closing the client. A stream whose session both ends
/// marked goes to `reuse` before the client sees its end (so that a client calling
/// again at once finds it idle); after anything else it is closed.
fn api_session(client: UnixStream, guest: UnixStream, reuse: impl FnOnce(UnixStream)) {
    let (Ok(client_read), Ok(guest_write)) = (client.try_clone(), guest.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || framing::send(client_read, guest_write).is_ok());
    let down = framing::receive(&guest, &client);
    // The guest is done: the reading up there ends too, with the host's end mark.
    let _ = client.shutdown(Shutdown::Read);
    let up = up.join().unwrap_or(false);
    if matches!(down, Ok(true)) && up {
        reuse(guest);
    } else {
        let _ = guest.shutdown(Shutdown::Both);
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn serve_api(f: Forward) -> std::io::Result<()> {
    let _ = std::fs::remove_file(&f.api_socket);
    let listener = UnixListener::bind(&f.api_socket)?;
    std::fs::set_permissions(&f.api_socket, std::fs::Permissions::from_mode(0o600))?;
    let spares = Spares::new(f.uds.clone());
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let spares = spares.clone();
        std::thread::spawn(move || match spares.take() {
            Ok(guest) => api_session(conn, guest, |g| spares.give_back(g)),
            Err(e) => tracing::warn!(error = %e, "reaching the guest's API"),
        });
    }
    Ok(())
}

/// One GET through the guest's API, on a session of a stream of its own; the body.
fn api_get(uds: &Path, path: &str) -> std::io::Result<String> {
    let mut s = crate::vsock::connect(uds, API_PORT)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n");
    s.write_all(&framing::frame(request.as_bytes()))?;
    let mut answer = Vec::new();
    framing::receive(&s, &mut answer)?;
    Ok(http_body(&answer))
}

/// The body of a whole HTTP answer (sized by its `Content-Length`).
fn http_body(answer: &[u8]) -> String {
    let Some(head_end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return String::new();
    };
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let body = &answer[head_end + 4..];
    let body = &body[..length.unwrap_or(0).min(body.len())];
    String::from_utf8_lossy(body).into_owned()
}

/// A published port's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Proto {
    Tcp,
    Udp,
}

/// The host ports the guest's containers publish, on TCP and UDP.
fn published(uds: &Path) -> std::io::Result<Vec<(Proto, u16)>> {
    let body = api_get(uds, "/v1.41/containers/json")?;
    let list: serde_json::Value = serde_json::from_str(&body).map_err(std::io::Error::other)?;
    let mut ports: Vec<(Proto, u16)> = list
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["Ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| {
            let proto = match p["Type"].as_str() {
                Some("tcp") => Proto::Tcp,
                Some("udp") => Proto::Udp,
                _ => return None,
            };
            let port = p["PublicPort"]
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())?;
            Some((proto, port))
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// Serves one published TCP port on the host's loopback until `open` turns false.
fn serve_tcp_port(uds: PathBuf, port: u16, open: Arc<AtomicBool>) {
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(port, error = %e, "cannot forward the port on the host");
            return;
        }
    };
    let _ = listener.set_nonblocking(true);
    while open.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let uds = uds.clone();
                std::thread::spawn(move || {
                    let Ok(mut guest) = crate::vsock::connect(&uds, FORWARD_PORT) else {
                        return;
                    };
                    if guest.write_all(format!("tcp {port}\n").as_bytes()).is_ok() {
                        relay(conn, guest);
                    }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The ports served on the host, each with the flag that keeps its server going.
type Served = BTreeMap<(Proto, u16), Arc<AtomicBool>>;

/// Keeps the host's listeners in step with the guest's published ports: re-read after
/// every container event, and every few seconds in any case.
fn follow_ports(f: Forward) {
    let open: Arc<Mutex<Served>> = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let uds = f.uds.clone();
    std::thread::spawn(move || loop {
        if let Ok(mut s) = crate::vsock::connect(&uds, API_PORT) {
            let req = "GET /v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D HTTP/1.1\r\nHost: berth\r\n\r\n";
            if s.write_all(&framing::frame(req.as_bytes())).is_ok() {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || tx.send(()).is_err() {
                        break;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    });
    loop {
        if let Ok(ports) = published(&f.uds) {
            let mut map = open.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|key, flag| {
                let keep = ports.contains(key);
                if !keep {
                    flag.store(false, Ordering::Relaxed);
                }
                keep
            });
            for (proto, port) in ports {
                map.entry((proto, port)).or_insert_with(|| {
                    let flag = Arc::new(AtomicBool::new(true));
                    let (uds, f2) = (f.uds.clone(), flag.clone());
                    match proto {
                        Proto::Tcp => std::thread::spawn(move || serve_tcp_port(uds, port, f2)),
                        Proto::Udp => {
                            std::thread::spawn(move || crate::udp_forward::serve(uds, port, f2))
                        }
                    };
                    flag
                });
            }
        }
        let _ = rx.recv_timeout(Duration::from_secs(3));
        // Several events come at once: take them all before reading the list again.
        while rx.try_recv().is_ok() {}
    }
}

/// Suspended time so far: CLOCK_BOOTTIME counts it, CLOCK_MONOTONIC does not.
fn slept() -> Duration {
    use rustix::time::{clock_gettime, ClockId};
    let to = |t: rustix::time::Timespec| Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
    to(clock_gettime(ClockId::Boottime)).saturating_sub(to(clock_gettime(ClockId::Monotonic)))
}

/// How often the guest's clock is compared with the host's.
const CLOCK_CHECK_EVERY: Duration = Duration::from_secs(10);
/// How far the guest's clock may stray before it is set again.
const CLOCK_TOLERANCE_NANOS: i128 = 500_000_000;

fn host_nanos() -> std::io::Result<i128> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(std::io::Error::other)?;
    Ok(since.as_nanos() as i128)
}

/// Sends one request to the agent's clock port; its answer line.
fn clock_request(uds: &Path, request: &str) -> std::io::Result<String> {
    let mut s = crate::vsock::connect(uds, CLOCK_PORT)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}

/// Sets the guest's clock to the host's.
pub fn sync_clock(uds: &Path) -> std::io::Result<()> {
    let answer = clock_request(uds, &format!("time {}\n", host_nanos()?))?;
    if answer == "ok" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "the guest answered {answer:?}"
        )))
    }
}

/// How far the guest's clock is behind the host's (negative: ahead), in nanoseconds,
/// taken against the middle of the round trip.
fn clock_lag(uds: &Path) -> std::io::Result<i128> {
    let before = host_nanos()?;
    let answer = clock_request(uds, "now\n")?;
    let after = host_nanos()?;
    let guest: i128 = answer
        .strip_prefix("time ")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("the guest answered {answer:?}")))?;
    Ok(before + (after - before) / 2 - guest)
}

/// Runs until QEMU exits; then removes the API socket.
pub fn run(f: Forward) -> std::io::Result<()> {
    let api = f.clone();
    std::thread::spawn(move || {
        if let Err(e) = serve_api(api) {
            tracing::error!(error = %e, "serving the API socket");
        }
    });
    let ports = f.clone();
    std::thread::spawn(move || follow_ports(ports));
    let _ = sync_clock(&f.uds);
    let mut asleep = slept();
    let mut checked = std::time::Instant::now();
    while procs::alive(&f.qemu_pid) {
        std::thread::sleep(Duration::from_secs(1));
        let now = slept();
        // The host slept: the guest's clock stood still meanwhile. Or it strayed (the
        // VM was paused): the periodic check sees that.
        let mut stale = now.saturating_sub(asleep) > Duration::from_secs(1);
        if !stale && checked.elapsed() >= CLOCK_CHECK_EVERY {
            checked = std::time::Instant::now();
            stale = clock_lag(&f.uds).is_ok_and(|lag| lag.abs() > CLOCK_TOLERANCE_NANOS);
        }
        if stale && sync_clock(&f.uds).is_ok() {
            asleep = now;
            tracing::info!("set the guest's clock to the host's");
        }
    }
    let _ = std::fs::remove_file(&f.api_socket);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A "guest" serving API sessions: each request (one frame) is answered `pong`
    /// and the request, then the end mark; the stream waits for the host's end mark and
    /// carries the next. A request `bye` is answered and the stream closed without the
    /// end mark.
    fn serve_sessions(mut reader: BufReader<UnixStream>, mut conn: UnixStream) {
        while let Ok(Some(request)) = framing::read_datagram(&mut reader) {
            let answer = [b"pong ".as_slice(), &request].concat();
            let mut out = framing::frame(&answer);
            if request == b"bye" {
                let _ = conn.write_all(&out);
                return;
            }
            out.extend(framing::frame(b""));
            if conn.write_all(&out).is_err() {
                return;
            }
            // The rest of the host's bytes, to its end mark.
            if !framing::receive(&mut reader, std::io::sink()).unwrap_or(false) {
                return;
            }
        }
    }

    fn call(api: &Path, request: &str) -> String {
        let mut c = UnixStream::connect(api).expect("connect");
        c.write_all(request.as_bytes()).expect("request");
        let mut answer = String::new();
        c.read_to_string(&mut answer).expect("answer");
        answer
    }

    #[test]
    fn host_connections_reuse_the_guest_streams_whose_sessions_ended_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let streams = Arc::new(AtomicUsize::new(0));
        let f = Forward {
            uds: crate::vsock::stand_in::guest(dir.path(), streams.clone(), serve_sessions),
            api_socket: dir.path().join("api.sock"),
            qemu_pid: dir.path().join("qemu.pid"),
        };
        let api = f.api_socket.clone();
        std::thread::spawn(move || serve_api(f));
        assert!(procs::wait_for_path(&api, Duration::from_secs(10)));
        let mode = std::fs::metadata(&api)
            .expect("the API socket")
            .permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
        for i in 0..30 {
            assert_eq!(call(&api, &format!("ping {i}")), format!("pong ping {i}"));
        }
        let reused = streams.load(Ordering::SeqCst);
        assert!(
            reused <= SPARES + 2,
            "30 connections one after another took {reused} guest streams"
        );
        // A session the guest cut short still answers; its stream is not used again.
        assert_eq!(call(&api, "bye"), "pong bye");
        assert_eq!(call(&api, "after"), "pong after");
        // Many at once: each gets its own answer.
        let all: Vec<_> = (0..16)
            .map(|i| {
                let api = api.clone();
                std::thread::spawn(move || (i, call(&api, &format!("many {i}"))))
            })
            .collect();
        for t in all {
            let (i, answer) = t.join().expect("join");
            assert_eq!(answer, format!("pong many {i}"));
        }
    }

    #[test]
    fn an_answer_body_is_cut_to_its_length() {
        let answer =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n[]";
        assert_eq!(http_body(answer), "[]");
        assert_eq!(http_body(b"HTTP/1.1 204 No Content\r\n\r\n"), "");
        assert_eq!(http_body(b"garbage"), "");
    }
}
