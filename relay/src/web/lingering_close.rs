//! Closing a connection without throwing away the answer: a lingering close.
//!
//! The relay may answer before it has read the whole request: a body over the limit gets its
//! 413 from the `Content-Length` alone, an over-limit client its 429 before its body is read.
//! hyper then closes the connection. Closing a socket with unread data in it makes the kernel
//! send a reset instead of an orderly end, and a reverse proxy still writing the body (Caddy,
//! whose Go HTTP client sends the body while it waits for the answer) sees "broken pipe" and
//! may answer its client `502 Bad Gateway` instead of passing on the relay's answer: behind
//! Caddy one 1 MB post in ten got a 502 (`tests/tests/caddy_front_door.rs` caught it).
//!
//! So, as nginx's `lingering_close` does: when hyper shuts the connection down, the relay
//! closes its sending side (the peer reads the whole answer and then the end), then reads and
//! discards what the peer still sends, until the peer closes too, for at most [`LINGER`] and
//! [`LINGER_BYTES`]; only then is the socket closed. A peer that closes at once (every client
//! that read the answer) costs nothing; one that keeps sending is cut off at the bound.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The longest the relay waits for a peer to stop sending after the answer.
pub const LINGER: Duration = Duration::from_secs(2);

/// The most the relay reads and discards after the answer (a 1 MB post fits with room).
pub const LINGER_BYTES: usize = 4 << 20;

/// A TCP stream whose shutdown lingers: see the module comment.
#[derive(Debug)]
pub struct LingeringClose {
    stream: TcpStream,
    state: State,
}

#[derive(Debug)]
enum State {
    Open,
    Draining {
        until: Pin<Box<tokio::time::Sleep>>,
        left: usize,
    },
    Closed,
}

impl LingeringClose {
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            state: State::Open,
        }
    }
}

impl AsyncRead for LingeringClose {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LingeringClose {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    /// Sends the end of the answer, then drains what the peer still sends (see the module
    /// comment) before reporting the shutdown done.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if matches!(this.state, State::Open) {
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            this.state = State::Draining {
                until: Box::pin(tokio::time::sleep(LINGER)),
                left: LINGER_BYTES,
            };
        }
        if let State::Draining { until, left } = &mut this.state {
            let mut scratch = [0u8; 8192];
            loop {
                if until.as_mut().poll(cx).is_ready() {
                    break;
                }
                let mut buf = ReadBuf::new(&mut scratch);
                match Pin::new(&mut this.stream).poll_read(cx, &mut buf) {
                    Poll::Pending => return Poll::Pending,
                    // The peer closed (or reset): nothing left to wait for.
                    Poll::Ready(Err(_)) => break,
                    Poll::Ready(Ok(())) => {
                        let read = buf.filled().len();
                        if read == 0 || read >= *left {
                            break;
                        }
                        *left -= read;
                    }
                }
            }
            this.state = State::Closed;
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A listener and a client whose socket buffers are small, so the client is still
    /// sending when the server closes, as a proxy streaming a large body is.
    async fn small_buffered_pair() -> (tokio::net::TcpListener, tokio::net::TcpSocket) {
        let server = tokio::net::TcpSocket::new_v4().unwrap();
        server.set_recv_buffer_size(16 * 1024).unwrap();
        server.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let client = tokio::net::TcpSocket::new_v4().unwrap();
        client.set_send_buffer_size(16 * 1024).unwrap();
        (server.listen(8).unwrap(), client)
    }

    /// The server answers before reading the 2 MB the client sends, and shuts down: the client
    /// (which reads only once it has written everything, as a proxy's HTTP client may) can
    /// write it all and then reads the whole answer and an orderly end, not a reset.
    #[tokio::test]
    async fn the_peer_gets_the_answer_even_if_it_was_still_sending() {
        let (listener, client) = small_buffered_pair().await;
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = client.connect(addr).await.unwrap();
            let mut head = [0u8; 8];
            stream.read_exact(&mut head).await.unwrap();
            let sent = stream.write_all(&vec![b'a'; 2 << 20]).await;
            let mut rest = Vec::new();
            let read = stream.read_to_end(&mut rest).await;
            (head, sent, read)
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = LingeringClose::new(stream);
        stream.write_all(b"answer:\n").await.unwrap();
        let mut first = [0u8; 1];
        stream.read_exact(&mut first).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);
        let (head, sent, read) = client.await.unwrap();
        assert_eq!(&head, b"answer:\n");
        assert!(sent.is_ok(), "the client's writes failed: {sent:?}");
        assert!(read.is_ok(), "the client's read failed: {read:?}");
    }

    /// A peer that keeps sending is cut off after [`LINGER`].
    #[tokio::test]
    async fn a_peer_that_never_stops_sending_is_cut_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                if std::io::Write::write_all(&mut stream, b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let started = std::time::Instant::now();
        LingeringClose::new(stream).shutdown().await.unwrap();
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        client.join().unwrap();
        assert!(
            took >= LINGER - Duration::from_millis(100) && took < LINGER * 2,
            "{took:?}"
        );
    }
}
