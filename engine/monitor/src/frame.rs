//! The attach protocol between a container's monitor and its clients, over the unix
//! socket in the container's run directory (mode 0600): length-prefixed frames, one
//! kind byte and a big-endian u32 length. The monitor sends output and, at the end,
//! the exit code; clients send stdin, stdin close, terminal resizes, START and TAKEOVER.

use std::io::{self, Read, Write};

pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const EXIT: u8 = 3;
pub const STDIN: u8 = 10;
pub const STDIN_CLOSE: u8 = 11;
pub const RESIZE: u8 = 12;
/// Sent once by the client that attached before the process started: start it now.
pub const START: u8 = 13;
/// Sent by a client after START when it will record the exit and clean up itself (an
/// attached `run`), and again once it has: the monitor then ends without running its
/// exit command. A client that goes away before the second one leaves it to the monitor.
pub const TAKEOVER: u8 = 14;

/// Largest payload accepted in one frame.
pub const MAX_FRAME: usize = 1 << 20;

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(payload.len() + 5);
    buf.push(kind);
    buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)
}

/// Reads one frame; `None` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, BadFrame));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

/// A frame announcing more than [`MAX_FRAME`] bytes: the peer is not speaking the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFrame;

impl std::fmt::Display for BadFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("attach frame too large")
    }
}

impl std::error::Error for BadFrame {}

/// Incremental frame parser for a non-blocking reader (the monitor side).
#[derive(Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
}

impl FrameBuffer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if any; `Err` when the peer sent garbage.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, BadFrame> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(BadFrame);
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split_reads_reassemble() {
        let mut wire = Vec::new();
        write_frame(&mut wire, STDOUT, b"hello").expect("write");
        write_frame(&mut wire, EXIT, &7i32.to_be_bytes()).expect("write");
        let mut fb = FrameBuffer::default();
        fb.push(&wire[..3]);
        assert_eq!(fb.next_frame(), Ok(None));
        fb.push(&wire[3..]);
        assert_eq!(fb.next_frame(), Ok(Some((STDOUT, b"hello".to_vec()))));
        assert_eq!(
            fb.next_frame(),
            Ok(Some((EXIT, 7i32.to_be_bytes().to_vec())))
        );
        let mut r = &wire[..];
        assert_eq!(
            read_frame(&mut r).expect("read"),
            Some((STDOUT, b"hello".to_vec()))
        );
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut wire = vec![STDIN];
        wire.extend_from_slice(&((MAX_FRAME as u32) + 1).to_be_bytes());
        let mut fb = FrameBuffer::default();
        fb.push(&wire);
        assert_eq!(fb.next_frame(), Err(BadFrame));
        assert!(read_frame(&mut &wire[..]).is_err());
    }
}
