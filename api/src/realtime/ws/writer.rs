//! A WebSocket's connection once it has left actix-http (issue 13, items 3
//! and 4): the TCP stream, shared by the socket task's [`WsWriter`] and its
//! client-frame reader ([`super::ClientFrames`]), and the bytes written
//! and not yet sent.
//!
//! The socket task encodes each frame straight into one buffer. What it
//! wrote leaves when the task next waits for its client (every turn of its
//! loop: the reader writes the buffer before it waits), or at once past
//! [`FLUSH_NOW`]: frames of one turn share a write to the kernel. With
//! `WS_WRITE_DELAY_MS` the buffer is held for up to that long from its
//! first byte, so that frames a few milliseconds apart share a write too
//! (the `client.write_delay` of Centrifugo PRO): latency for CPU, off by
//! default. An idle connection holds no buffer.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::ws::{CloseReason, OpCode, Parser};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Bytes a socket may have written and not yet sent before its writes
/// wait: what a client that stopped reading holds here (beyond what the
/// kernel holds).
const HIGH_WATER: usize = 64 * 1024;

/// Written bytes that leave at once, without waiting for the end of the
/// task's turn or the write delay.
const FLUSH_NOW: usize = 16 * 1024;

/// A buffer this large is given back once it is sent; smaller ones are
/// kept for the next frames.
const KEEP_BUFFER: usize = 4 * 1024;

/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// One WebSocket connection after the handshake, shared (`Rc`: it lives
/// on the worker thread whose task serves it) by its writer and its reader.
pub(crate) struct Connection {
    pub(super) stream: TcpStream,
    out: RefCell<Outgoing>,
}

/// What is written and not yet sent.
struct Outgoing {
    buf: BytesMut,
    /// `WS_WRITE_DELAY_MS`; zero: nothing is held.
    write_delay: Duration,
    /// Running while `buf` is held (created on the first hold, kept).
    hold: Option<Pin<Box<Sleep>>>,
    /// `buf` waits for `hold`.
    holding: bool,
    /// A write failed: the client is gone and nothing written arrives.
    gone: bool,
    /// The close frame is written: nothing may follow it.
    closed: bool,
}

impl Connection {
    /// A connection over `stream` whose frames wait up to `write_delay`
    /// for others to leave with them (zero: none wait).
    pub(crate) fn new(stream: TcpStream, write_delay: Duration) -> Rc<Connection> {
        Rc::new(Connection {
            stream,
            out: RefCell::new(Outgoing {
                buf: BytesMut::new(),
                write_delay,
                hold: None,
                holding: false,
                gone: false,
                closed: false,
            }),
        })
    }

    /// Sends what is written: everything, or (without `force`) nothing
    /// until the write delay is over. `Ready(Ok)` once nothing is left to
    /// send now; `Pending` with the task woken when the kernel takes more
    /// (or the delay ends); `Ready(Err)` when the client is gone.
    pub(super) fn poll_flush(&self, cx: &mut Context<'_>, force: bool) -> Poll<io::Result<()>> {
        let mut out = self.out.borrow_mut();
        let out = &mut *out;
        if out.gone {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if out.buf.is_empty() {
            return Poll::Ready(Ok(()));
        }
        if out.holding
            && !force
            && let Some(hold) = out.hold.as_mut()
        {
            ready!(hold.as_mut().poll(cx));
        }
        out.holding = false;
        loop {
            let written = match self.stream.poll_write_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => self.stream.try_write(&out.buf),
                Poll::Ready(Err(err)) => Err(err),
            };
            match written {
                Ok(0) => return Poll::Ready(Err(out.fail(io::ErrorKind::WriteZero.into()))),
                Ok(n) => {
                    out.buf.advance(n);
                    if out.buf.is_empty() {
                        if out.buf.capacity() > KEEP_BUFFER {
                            out.buf = BytesMut::new();
                        }
                        return Poll::Ready(Ok(()));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(out.fail(err))),
            }
        }
    }
}

impl Outgoing {
    /// Marks the client gone and lets go of what it will never get.
    fn fail(&mut self, err: io::Error) -> io::Error {
        self.gone = true;
        self.buf = BytesMut::new();
        err
    }
}

/// Writes one socket's frames (see the module documentation). Every
/// method answers `false` once the client is gone or the socket closed.
pub(crate) struct WsWriter {
    pub(super) conn: Rc<Connection>,
}

impl WsWriter {
    /// Sends one text frame; `payload` is UTF-8 (every payload here is
    /// JSON that serde wrote, or a dialect's `String`).
    pub(crate) async fn text(&mut self, payload: &[u8]) -> bool {
        self.frame(payload, OpCode::Text).await
    }

    /// Sends a ping.
    pub(crate) async fn ping(&mut self, payload: &[u8]) -> bool {
        self.frame(truncated(payload), OpCode::Ping).await
    }

    /// Answers a client's ping.
    pub(crate) async fn pong(&mut self, payload: &[u8]) -> bool {
        self.frame(truncated(payload), OpCode::Pong).await
    }

    /// Sends the close frame after what is already written, then ends the
    /// connection: the server's side is shut, and what the client still
    /// sends is read until it closes too (RFC 6455 §7.1.1), so that the
    /// kernel does not reset a connection with unread bytes before the
    /// client has read the close frame. Waits for room and for the client
    /// like any write: callers bound the wait.
    pub(crate) async fn close(self, reason: Option<CloseReason>) {
        if !self.room().await {
            return;
        }
        let reason = reason.map(|mut reason| {
            if let Some(description) = reason.description.as_mut() {
                let mut end = description.len().min(MAX_CONTROL_PAYLOAD - 2);
                while !description.is_char_boundary(end) {
                    end -= 1;
                }
                description.truncate(end);
            }
            reason
        });
        {
            let mut out = self.conn.out.borrow_mut();
            Parser::write_close(&mut out.buf, reason, false);
            out.closed = true;
        }
        if poll_fn(|cx| self.conn.poll_flush(cx, true)).await.is_err() {
            return;
        }
        // The reader is gone once the socket task has ended; when it is not
        // (the socket failed to open), dropping the stream ends it.
        let Ok(conn) = Rc::try_unwrap(self.conn) else {
            return;
        };
        let mut stream = conn.stream;
        if stream.shutdown().await.is_err() {
            return;
        }
        let mut discard = [0u8; 512];
        while let Ok(1..) = stream.read(&mut discard).await {}
    }

    async fn frame(&mut self, payload: &[u8], op: OpCode) -> bool {
        if !self.room().await {
            return false;
        }
        let flush_now = {
            let mut out = self.conn.out.borrow_mut();
            let out = &mut *out;
            Parser::write_message(&mut out.buf, payload, op, true, false);
            if !out.write_delay.is_zero() && !out.holding {
                let deadline = Instant::now() + out.write_delay;
                match out.hold.as_mut() {
                    Some(hold) => hold.as_mut().reset(deadline),
                    None => out.hold = Some(Box::pin(tokio::time::sleep_until(deadline))),
                }
                out.holding = true;
            }
            out.buf.len() >= FLUSH_NOW
        };
        if flush_now {
            // As much as the kernel takes now; the rest leaves with the
            // next write or at the end of the task's turn.
            poll_fn(|cx| {
                let _ = self.conn.poll_flush(cx, true);
                Poll::Ready(())
            })
            .await;
        }
        true
    }

    /// Waits until under [`HIGH_WATER`] bytes wait to be sent (sending
    /// them meanwhile); `false` when the client is gone or the socket closed.
    async fn room(&self) -> bool {
        poll_fn(|cx| {
            {
                let out = self.conn.out.borrow();
                if out.gone || out.closed {
                    return Poll::Ready(false);
                }
                if out.buf.len() < HIGH_WATER {
                    return Poll::Ready(true);
                }
            }
            match self.conn.poll_flush(cx, true) {
                Poll::Ready(Err(_)) => Poll::Ready(false),
                Poll::Ready(Ok(())) => Poll::Ready(true),
                Poll::Pending if self.conn.out.borrow().buf.len() < HIGH_WATER => Poll::Ready(true),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

fn truncated(payload: &[u8]) -> &[u8] {
    &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)]
}
