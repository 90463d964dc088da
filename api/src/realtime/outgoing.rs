//! A WebSocket's outgoing side with no queue between the socket task and
//! the connection (issue 13, item 3): the task encodes each frame straight
//! into a buffer that the connection's response body takes whole the next
//! time actix-http polls it. Frames written while the connection was busy
//! leave in one chunk (one write to the kernel), and the connection task
//! is woken once per chunk, not once per frame. With `WS_WRITE_DELAY_MS`
//! the body holds what arrives for up to that long before it hands it on,
//! so that frames a few milliseconds apart share a write too (the
//! `client.write_delay` of Centrifugo PRO): latency for CPU, off by default.
//!
//! actix-ws's `Session` would put each frame on a channel of its own (a
//! second hop after the hub's queue, with its semaphore and wake-up);
//! its `MessageStream` still reads the client's frames.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_http::ws::{CloseReason, OpCode, Parser};
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use tokio::time::{Instant, Sleep};

/// Bytes a socket may have written and not yet handed to the connection
/// before its writes wait: what a client that stopped reading holds here.
const HIGH_WATER: usize = 64 * 1024;

/// Held bytes that leave without waiting out the write delay.
const FLUSH_NOW: usize = 16 * 1024;

/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Upgrades `req` to a WebSocket (offering `protocols`, as
/// `actix_ws::handle_with_protocols`): the 101 response, the writer of the
/// frames it sends, and the client's frames. Frames wait up to
/// `write_delay` for others to leave with them (zero: none wait).
///
/// Errors: the request is not a WebSocket handshake.
pub(crate) fn handle(
    req: &HttpRequest,
    body: web::Payload,
    protocols: &[&str],
    write_delay: Duration,
) -> Result<(HttpResponse, WsWriter, actix_ws::MessageStream), actix_web::Error> {
    let (response, session, stream) = actix_ws::handle_with_protocols(req, body, protocols)?;
    // Nothing is sent through the session; its body is kept inside ours
    // only so that dropping it still ends the client's frame stream.
    drop(session);
    let shared = Rc::new(RefCell::new(Outgoing::default()));
    let response = response
        .map_body(|_, inner| BoxBody::new(OutgoingBody::new(shared.clone(), inner, write_delay)));
    Ok((response, WsWriter { shared }, stream))
}

/// What the writer and the response body share. Both live on the worker
/// thread that serves the connection (the socket task is spawned there),
/// hence `Rc`.
#[derive(Default)]
struct Outgoing {
    /// Encoded frames not yet taken by the connection.
    buf: BytesMut,
    /// The response body, waiting for frames.
    body: Option<Waker>,
    /// The writer, waiting for room.
    writer: Option<Waker>,
    /// The last frame was written (a close, or the writer is gone): the
    /// body ends once it has taken `buf`.
    finished: bool,
    /// The connection is gone: nothing written arrives any more.
    gone: bool,
    /// The body holds `buf` until its write delay is over (its timer runs
    /// from the first byte it saw there): a frame that leaves `buf` under
    /// [`FLUSH_NOW`] need not wake it.
    holding: bool,
}

impl Outgoing {
    fn wake_body(&mut self) {
        if let Some(waker) = self.body.take() {
            waker.wake();
        }
    }

    /// Remembers the body's waker (kept when it is the same task's).
    fn park_body(&mut self, cx: &Context<'_>) {
        if !self.body.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.body = Some(cx.waker().clone());
        }
    }
}

/// Writes one socket's frames (see the module documentation). Every
/// method answers `false` once the connection is gone or closed.
pub(crate) struct WsWriter {
    shared: Rc<RefCell<Outgoing>>,
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

    /// Sends the close frame (after what is already written) and ends the
    /// connection's response once the client has it. Waits for room like
    /// any frame: a client that stopped reading gets it only if it reads
    /// again (callers bound the wait).
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
        let mut shared = self.shared.borrow_mut();
        Parser::write_close(&mut shared.buf, reason, false);
        shared.finished = true;
        shared.wake_body();
    }

    async fn frame(&mut self, payload: &[u8], op: OpCode) -> bool {
        if !self.room().await {
            return false;
        }
        let mut shared = self.shared.borrow_mut();
        Parser::write_message(&mut shared.buf, payload, op, true, false);
        if !shared.holding || shared.buf.len() >= FLUSH_NOW {
            shared.wake_body();
        }
        true
    }

    /// Waits until the buffer is under [`HIGH_WATER`]; `false` when the
    /// connection is gone.
    async fn room(&self) -> bool {
        poll_fn(|cx| {
            let mut shared = self.shared.borrow_mut();
            if shared.gone || shared.finished {
                Poll::Ready(false)
            } else if shared.buf.len() < HIGH_WATER {
                Poll::Ready(true)
            } else {
                shared.writer = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for WsWriter {
    /// The body ends after what was written (the task ended without a
    /// close frame: the client sees the connection drop).
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.finished = true;
        shared.wake_body();
    }
}

fn truncated(payload: &[u8]) -> &[u8] {
    &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)]
}

/// The 101 response's body: whatever the writer has written, in one chunk.
struct OutgoingBody {
    shared: Rc<RefCell<Outgoing>>,
    /// actix-ws's body, never polled; see [`handle`].
    _inner: BoxBody,
    /// `WS_WRITE_DELAY_MS`; zero: nothing is held.
    write_delay: Duration,
    /// Running while bytes are held (created on the first hold).
    hold: Option<Pin<Box<Sleep>>>,
}

impl OutgoingBody {
    fn new(shared: Rc<RefCell<Outgoing>>, inner: BoxBody, write_delay: Duration) -> OutgoingBody {
        OutgoingBody {
            shared,
            _inner: inner,
            write_delay,
            hold: None,
        }
    }
}

/// Whether the body keeps holding `shared.buf` (sets `shared.holding`): a
/// full buffer or the last frame leave at once, others once the write
/// delay has run from the first byte the body saw.
fn holds(
    write_delay: Duration,
    hold: &mut Option<Pin<Box<Sleep>>>,
    shared: &mut Outgoing,
    cx: &mut Context<'_>,
) -> bool {
    if write_delay.is_zero() || shared.finished || shared.buf.len() >= FLUSH_NOW {
        shared.holding = false;
        return false;
    }
    let deadline = Instant::now() + write_delay;
    let hold = hold.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    if !shared.holding {
        hold.as_mut().reset(deadline);
    }
    shared.holding = hold.as_mut().poll(cx).is_pending();
    shared.holding
}

impl MessageBody for OutgoingBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let OutgoingBody {
            shared,
            write_delay,
            hold,
            ..
        } = self.get_mut();
        let mut shared = shared.borrow_mut();
        if !shared.buf.is_empty() && holds(*write_delay, hold, &mut shared, cx) {
            // Woken by the timer, or by a writer that filled the buffer.
            shared.park_body(cx);
            return Poll::Pending;
        }
        if !shared.buf.is_empty() {
            // `split` keeps no capacity here; the next write reuses this
            // allocation once the connection has written and dropped it.
            let chunk = shared.buf.split().freeze();
            if let Some(writer) = shared.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if shared.finished {
            return Poll::Ready(None);
        }
        shared.park_body(cx);
        Poll::Pending
    }
}

impl Drop for OutgoingBody {
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.gone = true;
        if let Some(writer) = shared.writer.take() {
            writer.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (WsWriter, OutgoingBody) {
        delayed_pair(Duration::ZERO)
    }

    fn delayed_pair(write_delay: Duration) -> (WsWriter, OutgoingBody) {
        let shared = Rc::new(RefCell::new(Outgoing::default()));
        let body = OutgoingBody::new(shared.clone(), BoxBody::new(()), write_delay);
        (WsWriter { shared }, body)
    }

    fn poll_body(body: &mut OutgoingBody) -> Poll<Option<Bytes>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(body)
            .poll_next(&mut cx)
            .map(|item| item.map(|chunk| chunk.unwrap()))
    }

    fn text_frame(payload: &str) -> Vec<u8> {
        let mut frame = BytesMut::new();
        Parser::write_message(&mut frame, payload, OpCode::Text, true, false);
        frame.to_vec()
    }

    #[actix_web::test]
    async fn frames_written_between_polls_leave_in_one_chunk() {
        let (mut writer, mut body) = pair();
        assert_eq!(poll_body(&mut body), Poll::Pending);
        assert!(writer.text(br#"{"a":1}"#).await);
        assert!(writer.text(br#"{"b":2}"#).await);
        let Poll::Ready(Some(chunk)) = poll_body(&mut body) else {
            panic!("no chunk");
        };
        let expected = [text_frame(r#"{"a":1}"#), text_frame(r#"{"b":2}"#)].concat();
        assert_eq!(chunk.as_ref(), expected.as_slice());
        assert_eq!(poll_body(&mut body), Poll::Pending);
    }

    #[actix_web::test]
    async fn a_close_ends_the_body_after_the_frames_before_it() {
        let (mut writer, mut body) = pair();
        assert!(writer.text(b"{}").await);
        writer
            .close(Some(actix_http::ws::CloseCode::Again.into()))
            .await;
        let Poll::Ready(Some(chunk)) = poll_body(&mut body) else {
            panic!("no chunk");
        };
        let mut expected = BytesMut::from(text_frame("{}").as_slice());
        Parser::write_close(
            &mut expected,
            Some(actix_http::ws::CloseCode::Again.into()),
            false,
        );
        assert_eq!(chunk, expected.freeze());
        assert_eq!(poll_body(&mut body), Poll::Ready(None));
    }

    #[actix_web::test]
    async fn a_writer_past_the_high_water_waits_until_the_connection_takes_its_bytes() {
        let (mut writer, mut body) = pair();
        let big = vec![b'x'; HIGH_WATER];
        assert!(writer.text(&big).await);
        let mut next = Box::pin(writer.text(b"{}"));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(next.as_mut().poll(&mut cx), Poll::Pending);
        let Poll::Ready(Some(chunk)) = poll_body(&mut body) else {
            panic!("no chunk");
        };
        assert!(chunk.len() > HIGH_WATER);
        assert_eq!(next.as_mut().poll(&mut cx), Poll::Ready(true));
        drop(next);
        let Poll::Ready(Some(chunk)) = poll_body(&mut body) else {
            panic!("no chunk");
        };
        assert_eq!(chunk.as_ref(), text_frame("{}").as_slice());
    }

    #[actix_web::test]
    async fn writes_fail_once_the_connection_is_gone() {
        let (mut writer, body) = pair();
        drop(body);
        assert!(!writer.text(b"{}").await);
        assert!(!writer.ping(b"").await);
    }

    #[actix_web::test]
    async fn a_dropped_writer_ends_the_body_after_what_it_wrote() {
        let (mut writer, mut body) = pair();
        assert!(writer.text(b"{}").await);
        drop(writer);
        assert!(matches!(poll_body(&mut body), Poll::Ready(Some(_))));
        assert_eq!(poll_body(&mut body), Poll::Ready(None));
    }

    #[actix_web::test]
    async fn with_a_write_delay_frames_wait_for_the_timer_and_leave_together() {
        let delay = Duration::from_millis(20);
        let (mut writer, mut body) = delayed_pair(delay);
        let started = Instant::now();
        assert!(writer.text(br#"{"a":1}"#).await);
        assert_eq!(
            poll_body(&mut body),
            Poll::Pending,
            "held, not written at once"
        );
        assert!(writer.text(br#"{"b":2}"#).await);
        let Some(Ok(chunk)) = poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await else {
            panic!("the body ended");
        };
        assert!(started.elapsed() >= delay);
        let expected = [text_frame(r#"{"a":1}"#), text_frame(r#"{"b":2}"#)].concat();
        assert_eq!(chunk.as_ref(), expected.as_slice());
    }

    #[actix_web::test]
    async fn held_frames_leave_at_once_when_the_buffer_fills_or_the_socket_closes() {
        let (mut writer, mut body) = delayed_pair(Duration::from_secs(3600));
        assert!(writer.text(b"{}").await);
        assert_eq!(poll_body(&mut body), Poll::Pending);
        assert!(writer.text(&vec![b'x'; FLUSH_NOW]).await);
        assert!(matches!(poll_body(&mut body), Poll::Ready(Some(_))));
        assert!(writer.text(b"{}").await);
        assert_eq!(poll_body(&mut body), Poll::Pending);
        writer.close(None).await;
        assert!(matches!(poll_body(&mut body), Poll::Ready(Some(_))));
        assert_eq!(poll_body(&mut body), Poll::Ready(None));
    }
}
