//! The host's end of the host↔guest channel. Hybrid vsock (vhost-device-vsock, vfkit,
//! Firecracker): connect to the unix socket, say `CONNECT <port>`, read `OK <port>`,
//! then the stream is the guest's. The guest's connections to the host's port P
//! arrive on the unix socket `<path>_<P>`, which the host listens on.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Opens a stream to the guest's `port` through the hybrid socket at `uds`.
pub fn connect(uds: &Path, port: u32) -> std::io::Result<UnixStream> {
    let mut s = UnixStream::connect(uds)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(format!("CONNECT {port}\n").as_bytes())?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 64 {
        if s.read(&mut byte)? == 0 {
            break;
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    let answer = String::from_utf8_lossy(&line);
    if !answer.starts_with("OK ") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            format!("the guest refused vsock port {port} ({answer:?})"),
        ));
    }
    s.set_read_timeout(None)?;
    Ok(s)
}

/// Asks the guest agent to power the guest off.
pub fn poweroff(uds: &Path) -> std::io::Result<()> {
    let mut s = connect(uds, berth_types::machine::CONTROL_PORT)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"poweroff\n")?;
    let mut answer = [0u8; 3];
    s.read_exact(&mut answer)?;
    if &answer == b"ok\n" {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "the guest agent refused to power off",
        ))
    }
}

/// Where the guest's connections to the host's `port` arrive.
pub fn host_port_path(uds: &Path, port: u32) -> PathBuf {
    let mut name = uds.as_os_str().to_owned();
    name.push(format!("_{port}"));
    PathBuf::from(name)
}

/// Listens for the guest's connections to the host's `port`.
pub fn listen(uds: &Path, port: u32) -> std::io::Result<UnixListener> {
    let path = host_port_path(uds, port);
    let _ = std::fs::remove_file(&path);
    UnixListener::bind(path)
}

/// A stand-in for a guest behind a hybrid vsock socket, for tests.
#[cfg(test)]
pub mod stand_in {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A hybrid vsock socket in `dir` whose "guest" accepts every stream (counted in
    /// `streams`), answers the handshake and hands the stream to `serve` (as a reader
    /// past the handshake, and the stream to write to), each on a thread of its own.
    pub fn guest(
        dir: &Path,
        streams: Arc<AtomicUsize>,
        serve: fn(BufReader<UnixStream>, UnixStream),
    ) -> PathBuf {
        let uds = dir.join("vsock.sock");
        let listener = UnixListener::bind(&uds).expect("bind");
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                streams.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("CONNECT");
                    conn.write_all(b"OK 1\n").expect("OK");
                    serve(reader, conn);
                });
            }
        });
        uds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_speaks_the_hybrid_handshake() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uds = dir.path().join("vsock.sock");
        let l = UnixListener::bind(&uds).expect("bind");
        let peer = std::thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut req = [0u8; 13];
            s.read_exact(&mut req).expect("read");
            assert_eq!(&req, b"CONNECT 1024\n");
            s.write_all(b"OK 1024\nhello").expect("write");
            let (mut s2, _) = l.accept().expect("accept");
            let mut req = [0u8; 13];
            s2.read_exact(&mut req).expect("read");
            drop(s2);
        });
        let mut s = connect(&uds, 1024).expect("connect");
        let mut got = [0u8; 5];
        s.read_exact(&mut got).expect("read");
        assert_eq!(&got, b"hello");
        let err = connect(&uds, 1024).expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        peer.join().expect("peer");
        assert_eq!(
            host_port_path(&uds, 1025),
            dir.path().join("vsock.sock_1025")
        );
    }
}
