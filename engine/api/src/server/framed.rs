//! A connection whose incoming bytes come in frames (see `berth_types::machine::framing`:
//! a big-endian u32 length, then the bytes; length 0 is the peer's half-close), as a
//! machine's host sends them over vsock, where a half-close may not pass. Reads yield
//! the bytes unframed and end at the end mark; writes go out as they are.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `inner` with its incoming frames undone.
pub struct Deframed<S> {
    inner: S,
    /// The length prefix read so far.
    header: [u8; 4],
    header_len: usize,
    /// Bytes of the current frame still to read.
    left: usize,
    ended: bool,
}

impl<S> Deframed<S> {
    pub fn new(inner: S) -> Deframed<S> {
        Deframed {
            inner,
            header: [0; 4],
            header_len: 0,
            left: 0,
            ended: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deframed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        loop {
            if me.ended || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if me.left > 0 {
                let want = me.left.min(buf.remaining());
                let mut part = ReadBuf::new(buf.initialize_unfilled_to(want));
                ready!(Pin::new(&mut me.inner).poll_read(cx, &mut part))?;
                let n = part.filled().len();
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                buf.advance(n);
                me.left -= n;
                return Poll::Ready(Ok(()));
            }
            let mut part = ReadBuf::new(&mut me.header[me.header_len..]);
            ready!(Pin::new(&mut me.inner).poll_read(cx, &mut part))?;
            let n = part.filled().len();
            if n == 0 {
                // The stream ended without the end mark: an end all the same.
                me.ended = true;
                continue;
            }
            me.header_len += n;
            if me.header_len == 4 {
                me.header_len = 0;
                me.left = u32::from_be_bytes(me.header) as usize;
                me.ended = me.left == 0;
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deframed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_types::machine::framing;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn frames_are_undone_and_the_end_mark_ends_the_reads() {
        let (mut host, guest) = tokio::io::duplex(64);
        let mut wire = framing::frame(b"GET / HTTP/1.1\r\n");
        wire.extend(framing::frame(b"\r\n"));
        wire.extend(framing::frame(b""));
        let writer = tokio::spawn(async move {
            // In pieces smaller than a frame header, to split everything.
            for chunk in wire.chunks(3) {
                host.write_all(chunk).await.expect("write");
            }
            let mut answer = String::new();
            host.read_to_string(&mut answer).await.expect("read");
            answer
        });
        let mut d = Deframed::new(guest);
        let mut got = String::new();
        d.read_to_string(&mut got).await.expect("read");
        assert_eq!(got, "GET / HTTP/1.1\r\n\r\n");
        d.write_all(b"HTTP/1.1 200 OK\r\n\r\n")
            .await
            .expect("write");
        d.shutdown().await.expect("shutdown");
        drop(d);
        assert_eq!(writer.await.expect("join"), "HTTP/1.1 200 OK\r\n\r\n");
    }

    #[tokio::test]
    async fn a_stream_cut_inside_a_frame_is_an_error() {
        let (mut host, guest) = tokio::io::duplex(64);
        let mut wire = framing::frame(b"abcdef");
        wire.truncate(7);
        host.write_all(&wire).await.expect("write");
        drop(host);
        let mut d = Deframed::new(guest);
        let mut got = Vec::new();
        let err = d.read_to_end(&mut got).await.expect_err("cut");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
