//! Hijacked connections (`attach`, `exec start`): the client asks to upgrade to raw
//! TCP, gets `101 UPGRADED`, and from then on the socket carries the session's bytes.
//! Here the upgraded socket becomes blocking `Read`/`Write` ends for the engine's
//! attach streams, the output framed as Docker frames it (an 8-byte header per chunk
//! naming the stream) unless the session has a TTY.

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::runtime::Handle;

type Io = TokioIo<Upgraded>;

/// Stream numbers of Docker's framing.
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// The content type of a session's output.
pub fn content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// Prefixes `payload` with Docker's frame header for `stream`.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Drives `f` to completion from blocking code: on this thread, or, when this thread is
/// itself inside a runtime (an engine call reporting progress from its own I/O
/// runtime), on a scoped thread of its own.
fn block_on<F: std::future::Future + Send>(rt: &Handle, f: F) -> F::Output
where
    F::Output: Send,
{
    if Handle::try_current().is_err() {
        return rt.block_on(f);
    }
    std::thread::scope(|s| {
        s.spawn(|| rt.block_on(f))
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// The client's end of the session, read from a plain thread.
pub struct Reader {
    half: ReadHalf<Io>,
    rt: Handle,
}

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        block_on(&self.rt, self.half.read(buf))
    }
}

/// The session's output end, shared by its stdout and stderr.
#[derive(Clone)]
pub struct Writer {
    half: Arc<Mutex<WriteHalf<Io>>>,
    rt: Handle,
}

impl Writer {
    fn send(&self, data: &[u8]) -> io::Result<()> {
        let mut w = self.half.lock().unwrap_or_else(|p| p.into_inner());
        let w = &mut *w;
        block_on(&self.rt, async move {
            w.write_all(data).await?;
            w.flush().await
        })
    }

    /// Ends the output: the client reads end-of-stream.
    pub fn close(&self) {
        let mut w = self.half.lock().unwrap_or_else(|p| p.into_inner());
        let _ = block_on(&self.rt, w.shutdown());
    }

    /// A writer for one stream: framed with `stream`, or raw with `None` (a TTY).
    pub fn stream(&self, stream: Option<u8>) -> StreamWriter {
        StreamWriter {
            out: self.clone(),
            stream,
        }
    }
}

pub struct StreamWriter {
    out: Writer,
    stream: Option<u8>,
}

impl Write for StreamWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.stream {
            Some(s) => self.out.send(&frame(s, buf))?,
            None => self.out.send(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Waits (on a thread of its own) for the connection to be upgraded, then runs
/// `session` with its two ends. Call from a handler running on the server's runtime.
pub fn spawn(on_upgrade: OnUpgrade, session: impl FnOnce(Reader, Writer) + Send + 'static) {
    let rt = Handle::current();
    std::thread::spawn(move || {
        let upgraded = match rt.block_on(on_upgrade) {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "the connection was not upgraded");
                return;
            }
        };
        let (r, w) = tokio::io::split(TokioIo::new(upgraded));
        let reader = Reader {
            half: r,
            rt: rt.clone(),
        };
        let writer = Writer {
            half: Arc::new(Mutex::new(w)),
            rt,
        };
        session(reader, writer);
    });
}

/// The engine's streams for a session on the hijacked connection.
pub fn streams(
    reader: Reader,
    writer: &Writer,
    want: (bool, bool, bool),
    tty: bool,
    detach_keys: Vec<u8>,
    resize: Option<std::sync::mpsc::Receiver<(u16, u16)>>,
) -> berth_types::container::AttachStreams<'static> {
    let (stdin, stdout, stderr) = want;
    let out = |on: bool, s: u8| -> Box<dyn Write + Send> {
        if on {
            Box::new(writer.stream((!tty).then_some(s)))
        } else {
            Box::new(io::sink())
        }
    };
    berth_types::container::AttachStreams {
        stdin: stdin.then(|| Box::new(reader) as Box<dyn Read + Send>),
        stdout: out(stdout, STDOUT),
        stderr: out(stderr, STDERR),
        detach_keys,
        resize,
        started: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_carry_the_stream_and_the_length() {
        assert_eq!(super::frame(2, b"hi"), [2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(
            super::content_type(false),
            "application/vnd.docker.multiplexed-stream"
        );
    }
}
