//! WebSockets outside actix-http's connection dispatcher (issue 13, item 4).
//!
//! A handshake is an actix-web request like any other (routing, the
//! extractors' checks, middleware); its handler answers 101 with an
//! [`OnUpgrade`] that says what runs on the connection. The server
//! (`crate::server`) hands upgrade requests to the App itself, writes the
//! 101, takes the TCP stream out of actix-http and gives it to that
//! [`OnUpgrade`]: from then on the socket task reads and writes the stream
//! ([`ClientFrames`], [`WsWriter`]). actix-http would have kept two 8 KiB
//! buffers and its connection state for the socket's whole life (with
//! actix-ws's channel, ~20 KB of the ~26 KB an idle socket cost;
//! docs/benchmarks.md, "WebSockets off actix-http's dispatcher").

mod reader;
mod writer;

use std::time::Duration;

use actix_http::ws::HandshakeError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use bytes::BytesMut;
use tokio::net::TcpStream;

pub(crate) use reader::{ClientFrame, ClientFrames};
use writer::Connection;
pub(crate) use writer::WsWriter;

/// What runs on a WebSocket's connection once its 101 is sent: given the
/// TCP stream and the bytes the client sent after its handshake. Carried
/// in the 101 response's extensions from the handler to the server.
pub(crate) struct OnUpgrade(Box<dyn FnOnce(TcpStream, BytesMut)>);

impl OnUpgrade {
    /// Runs it (the server, once the 101 is written).
    pub(crate) fn start(self, stream: TcpStream, received: BytesMut) {
        (self.0)(stream, received)
    }
}

/// The 101 answer to a WebSocket handshake, choosing the first of
/// `protocols` that the client offers in `Sec-WebSocket-Protocol` (as
/// actix-ws did); `start` runs on the connection once the 101 is sent.
///
/// Errors: the request is not a WebSocket handshake (RFC 6455 §4.2.1).
pub(crate) fn accept(
    req: &HttpRequest,
    protocols: &[&str],
    start: impl FnOnce(TcpStream, BytesMut) + 'static,
) -> Result<HttpResponse, HandshakeError> {
    let mut response = actix_http::ws::handshake(req.head())?;
    if let Some(protocol) = select_protocol(req, protocols) {
        response.insert_header((header::SEC_WEBSOCKET_PROTOCOL, protocol));
    }
    let mut response = HttpResponse::from(response.finish().map_into_boxed_body());
    response.extensions_mut().insert(OnUpgrade(Box::new(start)));
    Ok(response)
}

/// The socket's writer and reader over `stream`; see [`Connection::new`]
/// and [`ClientFrames::new`].
pub(crate) fn open(
    stream: TcpStream,
    received: BytesMut,
    write_delay: Duration,
    max_message: usize,
) -> (WsWriter, ClientFrames) {
    let conn = Connection::new(stream, write_delay);
    let reader = ClientFrames::new(conn.clone(), received, max_message);
    (WsWriter { conn }, reader)
}

fn select_protocol<'a>(req: &'a HttpRequest, protocols: &[&str]) -> Option<&'a str> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(',').map(str::trim))
        .find(|offered| !offered.is_empty() && protocols.contains(offered))
}

#[cfg(test)]
mod tests;
