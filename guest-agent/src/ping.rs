//! `berth-agent --ping SOCKET COUNT`, for bench/machine.sh: the mean latency of an API
//! call (`GET /_ping`) on a unix socket, the same client code on the host (through the
//! machine's forwarded socket) and in the guest. Two figures: a call on a connection of
//! its own (connect, request, the whole answer; the close is not waited for, as a
//! client does not), and a call on one kept-alive connection.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Reads one HTTP answer to its last byte (the length from its headers); whether it
/// said 200.
fn answer(s: &mut UnixStream) -> std::io::Result<bool> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&chunk[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if got.len() >= end + 4 + length {
            return Ok(head.starts_with("http/1.1 200"));
        }
    }
}

fn call(s: &mut UnixStream, close: bool) -> std::io::Result<bool> {
    let connection = if close { "close" } else { "keep-alive" };
    s.write_all(
        format!("GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: {connection}\r\n\r\n")
            .as_bytes(),
    )?;
    answer(s)
}

fn connect(socket: &Path) -> std::io::Result<UnixStream> {
    let s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

/// The mean microseconds of `count` calls each on a new connection, then of `count`
/// calls on one connection.
pub fn measure(socket: &Path, count: u32) -> anyhow::Result<(u128, u128)> {
    let count = count.max(1);
    let failed = || anyhow::anyhow!("{} did not answer /_ping", socket.display());
    let start = Instant::now();
    for _ in 0..count {
        if !call(&mut connect(socket)?, true)? {
            return Err(failed());
        }
    }
    let fresh = start.elapsed().as_micros() / u128::from(count);
    let mut s = connect(socket)?;
    call(&mut s, false)?;
    let start = Instant::now();
    for _ in 0..count {
        if !call(&mut s, false)? {
            return Err(failed());
        }
    }
    Ok((fresh, start.elapsed().as_micros() / u128::from(count)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server answering every request with `status`, never closing first.
    fn serve(status: &'static str) -> (std::path::PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("api.sock");
        let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while matches!(c.read(&mut buf), Ok(n) if n > 0) {
                        let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nOK");
                        if c.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (sock, dir)
    }

    #[test]
    fn answers_are_read_by_their_length_without_waiting_for_a_close() {
        let (sock, _dir) = serve("200 OK");
        measure(&sock, 3).expect("measured");
        let (sock, _dir) = serve("500 Internal Server Error");
        let err = measure(&sock, 1).expect_err("not a 200");
        assert!(err.to_string().contains("did not answer /_ping"), "{err}");
    }
}
