//! The attach protocol between a container's monitor and its clients, over the unix
//! socket `RUNROOT/containers/<id>/attach` (mode 0600): length-prefixed frames. The
//! monitor sends output and, at the end, the exit code; clients send stdin, stdin
//! close and terminal resizes. The client side here also handles detach keys.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

pub use berth_monitor::frame::{
    read_frame, write_frame, EXIT, RESIZE, START, STDERR, STDIN, STDIN_CLOSE, STDOUT, TAKEOVER,
};

/// Watches stdin bytes for the detach sequence; returns what to forward, and whether
/// the sequence completed.
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    pub fn new(keys: Vec<u8>) -> Self {
        DetachMatcher { keys, matched: 0 }
    }

    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        if self.keys.is_empty() {
            return (data.to_vec(), false);
        }
        let mut out = Vec::with_capacity(data.len());
        for &b in data {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// Connects to a monitor's attach socket.
pub fn connect(path: &std::path::Path) -> io::Result<UnixStream> {
    let (_dir, short) = berth_monitor::sockpath::socket_path(path)?;
    UnixStream::connect(short)
}

/// Runs an attached session over a connected socket until the container exits or the
/// user types the detach keys. Stdin and resizes are forwarded from helper threads.
pub fn client_session(
    stream: UnixStream,
    streams: berth_types::container::AttachStreams<'_>,
) -> io::Result<berth_types::container::AttachEnd> {
    use berth_types::container::AttachEnd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let writer = Arc::new(Mutex::new(stream.try_clone()?));
    let detached = Arc::new(AtomicBool::new(false));
    let berth_types::container::AttachStreams {
        stdin,
        mut stdout,
        mut stderr,
        detach_keys,
        resize,
        started,
    } = streams;
    if let Some(started) = started {
        started();
    }
    {
        if let Some(mut input) = stdin {
            let writer = writer.clone();
            let detached = detached.clone();
            let shutdown = stream.try_clone()?;
            std::thread::spawn(move || {
                let mut matcher = DetachMatcher::new(detach_keys);
                let mut buf = [0u8; 8192];
                loop {
                    let n = match input.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
                            let _ = write_frame(&mut *w, STDIN_CLOSE, &[]);
                            return;
                        }
                        Ok(n) => n,
                    };
                    let (data, detach) = matcher.feed(&buf[..n]);
                    let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
                    if !data.is_empty() && write_frame(&mut *w, STDIN, &data).is_err() {
                        return;
                    }
                    if detach {
                        detached.store(true, Ordering::SeqCst);
                        let _ = shutdown.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                }
            });
        }
        if let Some(rx) = resize {
            let writer = writer.clone();
            std::thread::spawn(move || {
                while let Ok((rows, cols)) = rx.recv() {
                    let mut payload = rows.to_be_bytes().to_vec();
                    payload.extend_from_slice(&cols.to_be_bytes());
                    let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
                    if write_frame(&mut *w, RESIZE, &payload).is_err() {
                        return;
                    }
                }
            });
        }
        let mut reader = io::BufReader::new(&stream);
        let end = loop {
            match read_frame(&mut reader) {
                Ok(Some((STDOUT, data))) => {
                    stdout.write_all(&data)?;
                    stdout.flush()?;
                }
                Ok(Some((STDERR, data))) => {
                    stderr.write_all(&data)?;
                    stderr.flush()?;
                }
                Ok(Some((EXIT, data))) if data.len() == 4 => {
                    break AttachEnd::Exited(i32::from_be_bytes([
                        data[0], data[1], data[2], data[3],
                    ]));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) if detached.load(Ordering::SeqCst) => break AttachEnd::Detached,
                Ok(None) => return Err(io::Error::other("the container monitor went away")),
                Err(e) => return Err(e),
            }
        };
        // The stdin thread ends when its next write fails or the process exits. The
        // caller may still answer on a clone of the socket (TAKEOVER).
        let _ = stream.shutdown(std::net::Shutdown::Read);
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_match_across_reads() {
        let mut m = DetachMatcher::new(vec![16, 17]);
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(m.feed(b"\x10"), (Vec::new(), false));
        assert_eq!(m.feed(b"\x11rest"), (Vec::new(), true));
    }
}
