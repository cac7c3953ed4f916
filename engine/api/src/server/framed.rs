//! The API port's sessions, as a machine's host sends them over vsock (see
//! `berth_types::machine::API_PORT`): a stream carries one host connection after
//! another, each framed both ways (a big-endian u32 length, then the bytes; length 0
//! is that side's end mark, since a vsock transport may not pass a half-close on).
//! A `Session` serves one as a plain connection; once the connection is done with it,
//! the stream comes back, finishes the session (its own end mark sent, the host's
//! awaited) and carries the next.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::oneshot;

/// The most bytes one frame carries.
const MOST_PER_FRAME: usize = 64 * 1024;
/// The most bytes read from the stream at once.
const READ_AHEAD: usize = 16 * 1024;

/// A stream to the host, between or inside sessions.
pub struct Stream<S> {
    inner: S,
    /// Bytes read from `inner` ahead, `rbuf[rstart..rend]`: a frame's header and its
    /// bytes come in one read (in the guest, a read is dear).
    rbuf: Box<[u8]>,
    rstart: usize,
    rend: usize,
    /// The length prefix read so far.
    header: [u8; 4],
    header_len: usize,
    /// Bytes of the current incoming frame still to read.
    left: usize,
    /// The host's end mark came: reads yield the end.
    read_ended: bool,
    /// The stream itself ended: no session can follow.
    closed: bool,
    /// This side's end mark went (or waits in `out`).
    write_ended: bool,
    /// A frame being written, from `out_pos` on.
    out: Vec<u8>,
    out_pos: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream<S> {
    pub fn new(inner: S) -> Stream<S> {
        Stream {
            inner,
            rbuf: vec![0u8; READ_AHEAD].into_boxed_slice(),
            rstart: 0,
            rend: 0,
            header: [0; 4],
            header_len: 0,
            left: 0,
            read_ended: false,
            closed: false,
            write_ended: false,
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Writes out what `out` still holds.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.out_pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.out.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }

    /// Ends the session: this side's end mark, then the host's bytes up to its own.
    /// An error when the stream ended (or broke) instead: no session can follow.
    pub async fn finish(&mut self) -> io::Result<()> {
        self.shutdown().await?;
        let mut sink = [0u8; 4096];
        while self.read(&mut sink).await? > 0 {}
        if self.closed {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.read_ended = false;
        self.write_ended = false;
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        loop {
            if me.read_ended || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if me.rstart == me.rend {
                let mut part = ReadBuf::new(&mut me.rbuf);
                ready!(Pin::new(&mut me.inner).poll_read(cx, &mut part))?;
                let n = part.filled().len();
                if n == 0 {
                    me.closed = true;
                    if me.left > 0 || me.header_len > 0 {
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                    // The stream ended without the end mark: an end all the same,
                    // and the last session.
                    me.read_ended = true;
                    continue;
                }
                (me.rstart, me.rend) = (0, n);
            }
            let ahead = &me.rbuf[me.rstart..me.rend];
            if me.left > 0 {
                let n = me.left.min(ahead.len()).min(buf.remaining());
                buf.put_slice(&ahead[..n]);
                me.rstart += n;
                me.left -= n;
                return Poll::Ready(Ok(()));
            }
            let n = (4 - me.header_len).min(ahead.len());
            me.header[me.header_len..me.header_len + n].copy_from_slice(&ahead[..n]);
            me.rstart += n;
            me.header_len += n;
            if me.header_len == 4 {
                me.header_len = 0;
                me.left = u32::from_be_bytes(me.header) as usize;
                me.read_ended = me.left == 0;
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(me.poll_drain(cx))?;
        if me.write_ended {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        // An empty frame would be the end mark.
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = data.len().min(MOST_PER_FRAME);
        me.out.extend_from_slice(&(n as u32).to_be_bytes());
        me.out.extend_from_slice(&data[..n]);
        // The frame is taken: it goes now if it can, else at the next write or flush.
        if let Poll::Ready(Err(e)) = me.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_drain(cx))?;
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    /// Sends the end mark; the stream itself stays open for the next session.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.write_ended {
            ready!(me.poll_drain(cx))?;
            me.out.extend_from_slice(&0u32.to_be_bytes());
            me.write_ended = true;
        }
        ready!(me.poll_drain(cx))?;
        Pin::new(&mut me.inner).poll_flush(cx)
    }
}

/// One session of a stream: a connection of its own to whoever serves it, which gives
/// the stream back when dropped.
pub struct Session<S> {
    stream: Option<Stream<S>>,
    back: Option<oneshot::Sender<Stream<S>>>,
}

impl<S> Drop for Session<S> {
    fn drop(&mut self) {
        if let (Some(stream), Some(back)) = (self.stream.take(), self.back.take()) {
            let _ = back.send(stream);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn stream(self: Pin<&mut Self>) -> Pin<&mut Stream<S>> {
        // Only `drop` takes the stream out.
        Pin::new(
            self.get_mut()
                .stream
                .as_mut()
                .expect("a live session's stream"),
        )
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Session<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Session<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }
}

/// Serves the sessions of `inner` one after another, each handed to `connection`,
/// until the stream ends.
pub async fn serve<S>(inner: S, mut connection: impl FnMut(Session<S>))
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = Stream::new(inner);
    loop {
        let (back, returned) = oneshot::channel();
        connection(Session {
            stream: Some(stream),
            back: Some(back),
        });
        let Ok(mut s) = returned.await else { return };
        if s.finish().await.is_err() {
            return;
        }
        stream = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_types::machine::framing;

    /// A session's whole answer, unframed, and whether its end mark came.
    async fn answer(host: &mut (impl AsyncRead + Unpin)) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        loop {
            let mut len = [0u8; 4];
            if host.read_exact(&mut len).await.is_err() {
                return (out, false);
            }
            let n = u32::from_be_bytes(len) as usize;
            if n == 0 {
                return (out, true);
            }
            let mut data = vec![0u8; n];
            host.read_exact(&mut data).await.expect("frame");
            out.extend(data);
        }
    }

    /// Echoes each session's bytes back in capitals, then ends it.
    fn shout<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(mut s: Session<S>) {
        tokio::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.expect("read");
            s.write_all(&got.to_ascii_uppercase()).await.expect("write");
            s.shutdown().await.expect("shutdown");
        });
    }

    #[tokio::test]
    async fn a_stream_carries_sessions_one_after_another() {
        let (mut host, guest) = tokio::io::duplex(64);
        let served = tokio::spawn(serve(guest, shout));
        for word in [&b"first session"[..], b"second", b"third and last"] {
            let mut wire = Vec::new();
            framing::send(word, &mut wire).expect("frame");
            // In pieces smaller than a frame header, to split everything.
            for chunk in wire.chunks(3) {
                host.write_all(chunk).await.expect("write");
            }
            assert_eq!(answer(&mut host).await, (word.to_ascii_uppercase(), true));
        }
        drop(host);
        served.await.expect("the stream's end ends the sessions");
    }

    #[tokio::test]
    async fn bytes_read_ahead_past_a_session_go_to_the_next() {
        let (mut host, guest) = tokio::io::duplex(4096);
        let served = tokio::spawn(serve(guest, shout));
        // Two whole sessions in one write: both in the first read.
        let mut wire = Vec::new();
        framing::send(&b"one"[..], &mut wire).expect("frame");
        framing::send(&b"two"[..], &mut wire).expect("frame");
        host.write_all(&wire).await.expect("write");
        assert_eq!(answer(&mut host).await, (b"ONE".to_vec(), true));
        assert_eq!(answer(&mut host).await, (b"TWO".to_vec(), true));
        drop(host);
        served.await.expect("ended");
    }

    #[tokio::test]
    async fn a_session_dropped_early_still_ends_cleanly() {
        let (mut host, guest) = tokio::io::duplex(64);
        // Answers at once, without reading the request (nor its end).
        let served = tokio::spawn(serve(guest, |mut s| {
            tokio::spawn(async move {
                s.write_all(b"no").await.expect("write");
            });
        }));
        host.write_all(&framing::frame(b"ignored"))
            .await
            .expect("write");
        assert_eq!(answer(&mut host).await, (b"no".to_vec(), true));
        host.write_all(&framing::frame(b"")).await.expect("write");
        // The ignored bytes were skipped: the next session starts clean.
        host.write_all(&framing::frame(b"x")).await.expect("write");
        assert_eq!(answer(&mut host).await, (b"no".to_vec(), true));
        drop(host);
        served.await.expect("ended");
    }

    #[tokio::test]
    async fn a_stream_cut_inside_a_frame_is_an_error_and_the_last_session() {
        let (mut host, guest) = tokio::io::duplex(64);
        let (tx, rx) = oneshot::channel();
        let mut tx = Some(tx);
        let served = tokio::spawn(serve(guest, move |mut s| {
            let tx = tx.take();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let err = s.read_to_end(&mut got).await.map(|_| got);
                if let Some(tx) = tx {
                    let _ = tx.send(err.map_err(|e| e.kind()));
                }
            });
        }));
        let mut wire = framing::frame(b"abcdef");
        wire.truncate(7);
        host.write_all(&wire).await.expect("write");
        drop(host);
        assert_eq!(rx.await.expect("read"), Err(io::ErrorKind::UnexpectedEof));
        served.await.expect("no session follows");
    }
}
