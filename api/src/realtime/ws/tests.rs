//! The socket's own reader and writer against a real loopback TCP client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, OpCode, Parser};
use bytes::{Bytes, BytesMut};
use futures_util::poll;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::{ClientFrame, ClientFrames, WsWriter, open};

const MAX: usize = 64 * 1024;

/// The server's writer and reader, and the client's end of the stream.
async fn pair(write_delay: Duration, received: &[u8]) -> (WsWriter, ClientFrames, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (writer, reader) = open(server, BytesMut::from(received), write_delay, MAX);
    (writer, reader, client)
}

/// A client's frame: masked, as RFC 6455 §5.3 requires.
fn client_frame(payload: &[u8], op: OpCode, fin: bool) -> Vec<u8> {
    let mut frame = BytesMut::new();
    Parser::write_message(&mut frame, payload, op, fin, true);
    frame.to_vec()
}

/// Reads the server's next frame on the client, keeping the rest in `buf`.
async fn read_frame(client: &mut TcpStream, buf: &mut BytesMut) -> Option<Frame> {
    let mut codec = Codec::new().client_mode().max_size(16 * MAX);
    loop {
        if let Some(frame) = codec.decode(buf).unwrap() {
            return Some(frame);
        }
        if client.read_buf(buf).await.unwrap() == 0 {
            return None;
        }
    }
}

/// The server's next frame, its socket's reader waiting meanwhile (which
/// is what sends the frames its turn wrote).
async fn next_sent(reader: &mut ClientFrames, client: &mut TcpStream, buf: &mut BytesMut) -> Frame {
    tokio::select! {
        frame = reader.next() => panic!("no client frame was sent, got {frame:?}"),
        frame = read_frame(client, buf) => frame.expect("the server closed"),
    }
}

#[tokio::test]
async fn frames_written_in_a_turn_reach_the_client_in_order() {
    let (mut writer, mut reader, mut client) = pair(Duration::ZERO, b"").await;
    assert!(writer.text(br#"{"a":1}"#).await);
    assert!(writer.text(br#"{"b":2}"#).await);
    let mut buf = BytesMut::new();
    let first = next_sent(&mut reader, &mut client, &mut buf).await;
    assert_eq!(first, Frame::Text(Bytes::from_static(br#"{"a":1}"#)));
    let second = next_sent(&mut reader, &mut client, &mut buf).await;
    assert_eq!(second, Frame::Text(Bytes::from_static(br#"{"b":2}"#)));
}

#[tokio::test]
async fn client_messages_fragments_and_control_frames_are_read_whole() {
    let (_writer, mut reader, mut client) = pair(Duration::ZERO, b"").await;
    let bytes = [
        client_frame(b"hello", OpCode::Text, true),
        client_frame(b"abc", OpCode::Text, false),
        client_frame(b"def", OpCode::Continue, true),
        client_frame(b"p", OpCode::Ping, true),
        client_frame(b"\x01\x02", OpCode::Binary, true),
        client_frame(b"", OpCode::Pong, true),
        client_frame(b"", OpCode::Close, true),
    ]
    .concat();
    // One byte at a time: frames split across reads are put together.
    for byte in bytes {
        client.write_all(&[byte]).await.unwrap();
    }
    let expected = [
        ClientFrame::Text("hello".into()),
        ClientFrame::Text("abcdef".into()),
        ClientFrame::Ping(Bytes::from_static(b"p")),
        ClientFrame::Binary(Bytes::from_static(b"\x01\x02")),
        ClientFrame::Pong,
        ClientFrame::Close,
    ];
    for frame in expected {
        assert_eq!(reader.next().await, Some(Ok(frame)));
    }
    drop(client);
    assert_eq!(reader.next().await, None, "the client is gone");
}

#[tokio::test]
async fn bytes_that_came_with_the_handshake_are_read_first() {
    let received = client_frame(br#"{"type":"resume"}"#, OpCode::Text, true);
    let (_writer, mut reader, _client) = pair(Duration::ZERO, &received).await;
    assert_eq!(
        reader.next().await,
        Some(Ok(ClientFrame::Text(r#"{"type":"resume"}"#.into())))
    );
}

#[tokio::test]
async fn broken_frames_end_the_socket_with_their_close_code() {
    let cases: [(Vec<u8>, CloseCode); 4] = [
        // Unmasked: only a server's frames are (RFC 6455 §5.1).
        (
            {
                let mut frame = BytesMut::new();
                Parser::write_message(&mut frame, "x", OpCode::Text, true, false);
                frame.to_vec()
            },
            CloseCode::Protocol,
        ),
        (
            client_frame(b"\xff\xfe", OpCode::Text, true),
            CloseCode::Invalid,
        ),
        (
            client_frame(&vec![b'x'; MAX + 1], OpCode::Text, true),
            CloseCode::Size,
        ),
        (
            [
                client_frame(&vec![b'x'; MAX / 2 + 1], OpCode::Text, false),
                client_frame(&vec![b'x'; MAX / 2 + 1], OpCode::Continue, true),
            ]
            .concat(),
            CloseCode::Size,
        ),
    ];
    for (bytes, code) in cases {
        let (_writer, mut reader, mut client) = pair(Duration::ZERO, b"").await;
        client.write_all(&bytes).await.unwrap();
        let reason = CloseReason::from(code);
        assert_eq!(reader.next().await, Some(Err(reason)), "{code:?}");
    }
}

#[tokio::test]
async fn a_writer_past_the_high_water_waits_until_the_client_reads() {
    let (mut writer, _reader, mut client) = pair(Duration::ZERO, b"").await;
    let big = vec![b'x'; 16 * 1024];
    // The kernel's buffers fill first, then ours; bounded so that a writer
    // that never waits fails instead of filling memory.
    let mut waiting = None;
    for _ in 0..100_000 {
        let mut next = Box::pin(text_owned(writer, big.clone()));
        match poll!(next.as_mut()) {
            Poll::Ready((back, sent)) => {
                assert!(sent);
                writer = back;
            }
            Poll::Pending => {
                waiting = Some(next);
                break;
            }
        }
    }
    let waiting = waiting.expect("the writer never waited for the client");
    let mut buf = BytesMut::new();
    let mut read = pin!(async { while read_frame(&mut client, &mut buf).await.is_some() {} });
    tokio::select! {
        (_, sent) = waiting => assert!(sent),
        _ = &mut read => panic!("the server closed"),
    }
}

async fn text_owned(mut writer: WsWriter, payload: Vec<u8>) -> (WsWriter, bool) {
    let sent = writer.text(&payload).await;
    (writer, sent)
}

#[tokio::test]
async fn writes_fail_once_the_client_is_gone() {
    let (mut writer, mut reader, client) = pair(Duration::ZERO, b"").await;
    drop(client);
    assert_eq!(reader.next().await, None);
    let big = vec![b'x'; 16 * 1024];
    // The first writes may still reach the kernel: it learns that the
    // client is gone from the client's answer to them.
    let mut refused = false;
    for _ in 0..1_000 {
        if !writer.text(&big).await {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "writes kept succeeding to a closed connection");
    assert!(!writer.ping(b"").await);
}

#[tokio::test]
async fn close_sends_the_frames_before_it_then_the_close_and_ends_the_connection() {
    let (mut writer, reader, mut client) = pair(Duration::ZERO, b"").await;
    drop(reader);
    assert!(writer.text(b"{}").await);
    let reason = CloseReason::from(CloseCode::Again);
    let client_side = async move {
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        while let Some(frame) = read_frame(&mut client, &mut buf).await {
            frames.push(frame);
        }
        // The server shut its side: the client closes its own.
        drop(client);
        frames
    };
    let ((), frames) = tokio::join!(writer.close(Some(reason.clone())), client_side);
    assert_eq!(
        frames,
        [
            Frame::Text(Bytes::from_static(b"{}")),
            Frame::Close(Some(reason))
        ]
    );
}

#[tokio::test]
async fn with_a_write_delay_frames_wait_for_the_timer_and_leave_together() {
    let delay = Duration::from_millis(20);
    let (mut writer, mut reader, mut client) = pair(delay, b"").await;
    let started = Instant::now();
    assert!(writer.text(br#"{"a":1}"#).await);
    assert!(writer.text(br#"{"b":2}"#).await);
    let mut raw = [0u8; 64];
    let read = tokio::select! {
        frame = reader.next() => panic!("no client frame was sent, got {frame:?}"),
        read = client.read(&mut raw) => read.unwrap(),
    };
    assert!(started.elapsed() >= delay, "sent before the delay");
    let mut expected = BytesMut::new();
    Parser::write_message(&mut expected, br#"{"a":1}"#, OpCode::Text, true, false);
    Parser::write_message(&mut expected, br#"{"b":2}"#, OpCode::Text, true, false);
    assert_eq!(&raw[..read], &expected[..], "both frames in one write");
}
