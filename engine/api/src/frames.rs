//! Berth's own remote protocol, spoken by the CLI's remote mode and served under
//! `/berth/v1/call/{method}`: the client asks to upgrade the connection, then both
//! sides exchange frames, a kind byte and a big-endian length before each payload.
//! The client sends the call's arguments (JSON) and, for calls that take a stream,
//! its bytes; the server sends progress, items (log lines, events), output, and last
//! the call's result (JSON `{"Ok": …}` or `{"Err": {kind, message}}`), so a remote
//! call fails exactly as a local one does.

use std::io::{self, Read, Write};

/// Client → server: the call's arguments, JSON.
pub const ARGS: u8 = 1;
/// Server → client: the call's result, JSON; the last frame.
pub const RESULT: u8 = 2;
/// Server → client: a progress event, JSON.
pub const PROGRESS: u8 = 3;
/// Server → client: one item for the call's sink (a log line, an event), JSON.
pub const ITEM: u8 = 4;
/// Server → client: nothing new yet (a follower's idle tick).
pub const TICK: u8 = 5;
/// Server → client: output (stdout, or the bytes of an archive).
pub const OUT: u8 = 6;
/// Server → client: stderr.
pub const ERR: u8 = 7;
/// Server → client: the attached container runs.
pub const STARTED: u8 = 8;
/// Client → server: input bytes (stdin, or an archive).
pub const IN: u8 = 9;
/// Client → server: the input ended.
pub const IN_END: u8 = 10;
/// Client → server: a terminal size, rows then columns (u16 each).
pub const RESIZE: u8 = 11;

/// The largest frame either side accepts.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

pub fn write_frame(w: &mut dyn Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(payload.len() + 5);
    buf.push(kind);
    buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)?;
    w.flush()
}

/// The next frame; `None` at a clean end of stream.
pub fn read_frame(r: &mut dyn Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is over the limit of {MAX_FRAME}"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut buf = Vec::new();
        write_frame(&mut buf, ARGS, b"{}").expect("write");
        write_frame(&mut buf, IN_END, b"").expect("write");
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).expect("read"),
            Some((ARGS, b"{}".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r).expect("read"),
            Some((IN_END, Vec::new()))
        );
        assert_eq!(read_frame(&mut r).expect("read"), None);
        let huge = [ARGS, 0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut &huge[..]).is_err());
    }
}
