//! The client's frames of a WebSocket that left actix-http (issue 13, item
//! 4): read straight from the TCP stream by the socket task, decoded with
//! actix-http's frame codec, fragments put together. The read buffer exists
//! only while bytes wait in it: an idle socket holds none.

use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_codec::Decoder;
use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::writer::Connection;

/// Bytes read from the kernel at a time.
const READ_CHUNK: usize = 4 * 1024;

/// One whole message or control frame from the client.
#[derive(Debug, PartialEq)]
pub(crate) enum ClientFrame {
    /// A text message (fragments put together), valid UTF-8.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// A ping, with its payload to echo.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client's close frame.
    Close,
}

/// Reads one socket's client frames; see the module documentation.
pub(crate) struct ClientFrames {
    conn: Rc<Connection>,
    /// Bytes read and not yet decoded; no allocation while empty.
    buf: BytesMut,
    codec: Codec,
    /// The largest message, fragments together, in bytes.
    max_message: usize,
    /// A fragmented message so far: whether it is text, and its bytes.
    partial: Option<(bool, BytesMut)>,
}

impl ClientFrames {
    /// Reads `conn`'s client frames, starting with `received` (bytes that
    /// came with the handshake). Messages and frames over `max_message`
    /// bytes end the socket with 1009.
    pub(super) fn new(conn: Rc<Connection>, received: BytesMut, max_message: usize) -> Self {
        ClientFrames {
            conn,
            buf: received,
            codec: Codec::new().max_size(max_message),
            max_message,
            partial: None,
        }
    }

    /// The next frame; `None` once the client has gone. `Err` is the
    /// reason to close with: 1002 for a broken protocol, 1007 for text that
    /// is not UTF-8, 1009 for a message too large.
    ///
    /// What the socket wrote since it last waited here is sent first (see
    /// [`super::writer`]). Cancel-safe: nothing read is lost when the
    /// future is dropped, so the socket selects over it every turn.
    pub(crate) async fn next(&mut self) -> Option<Result<ClientFrame, CloseReason>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ClientFrame, CloseReason>>> {
        // A client gone is also seen by the read below.
        let _ = self.conn.poll_flush(cx, false);
        loop {
            while !self.buf.is_empty() {
                match self.codec.decode(&mut self.buf) {
                    Ok(Some(frame)) => match self.assemble(frame) {
                        Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                        Ok(None) => {}
                        Err(reason) => return Poll::Ready(Some(Err(reason))),
                    },
                    Ok(None) => break,
                    Err(err) => return Poll::Ready(Some(Err(refusal(&err)))),
                }
            }
            if self.buf.is_empty() && self.buf.capacity() > 0 {
                self.buf = BytesMut::new();
            }
            match self.conn.stream.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok(())) => {}
            }
            self.buf.reserve(READ_CHUNK);
            match self.conn.stream.try_read_buf(&mut self.buf) {
                Ok(0) => return Poll::Ready(None),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Poll::Ready(None),
            }
        }
    }

    /// A whole message or control frame from one decoded frame, or `None`
    /// while a fragmented message is incomplete.
    fn assemble(&mut self, frame: Frame) -> Result<Option<ClientFrame>, CloseReason> {
        let whole = match frame {
            Frame::Text(bytes) => text(bytes)?,
            Frame::Binary(bytes) => ClientFrame::Binary(bytes),
            Frame::Ping(bytes) => ClientFrame::Ping(bytes),
            Frame::Pong(_) => ClientFrame::Pong,
            Frame::Close(_) => ClientFrame::Close,
            Frame::Continuation(item) => {
                let (is_text, bytes, last) = match item {
                    Item::FirstText(bytes) => (Some(true), bytes, false),
                    Item::FirstBinary(bytes) => (Some(false), bytes, false),
                    Item::Continue(bytes) => (None, bytes, false),
                    Item::Last(bytes) => (None, bytes, true),
                };
                let (is_text, mut so_far) = match (is_text, self.partial.take()) {
                    (Some(is_text), None) => (is_text, BytesMut::new()),
                    (None, Some(partial)) => partial,
                    // The codec refuses both already; kept for its sake.
                    _ => return Err(CloseCode::Protocol.into()),
                };
                if so_far.len() + bytes.len() > self.max_message {
                    return Err(CloseCode::Size.into());
                }
                so_far.extend_from_slice(&bytes);
                if !last {
                    self.partial = Some((is_text, so_far));
                    return Ok(None);
                }
                let bytes = so_far.freeze();
                if is_text {
                    text(bytes)?
                } else {
                    ClientFrame::Binary(bytes)
                }
            }
        };
        Ok(Some(whole))
    }
}

fn text(bytes: Bytes) -> Result<ClientFrame, CloseReason> {
    ByteString::try_from(bytes)
        .map(ClientFrame::Text)
        .map_err(|_| CloseCode::Invalid.into())
}

/// The close reason for a frame the codec refused.
fn refusal(err: &ProtocolError) -> CloseReason {
    tracing::debug!(error = %err, "websocket protocol error");
    match err {
        ProtocolError::Overflow => CloseCode::Size.into(),
        _ => CloseCode::Protocol.into(),
    }
}
