//! The HTTP server: the actix-web [`App`] on actix-http's HTTP/1 service,
//! with WebSocket handshakes answered outside actix-http's connection
//! dispatcher (issue 13, item 4).
//!
//! actix-web's `HttpServer` hides actix-http's upgrade hook, so the server
//! is put together here from the same parts, with the same settings
//! (keep-alive 5 s, request head 5 s, disconnect 1 s, `TCP_NODELAY`, 10 s
//! graceful shutdown, one worker per core unless `HTTP_WORKERS` says). A
//! request that asks to upgrade (`Connection: upgrade`) goes to
//! [`answer_upgrade`]: the App answers it as any request; a 101 carrying
//! an [`OnUpgrade`] hands the TCP stream to the socket
//! (`crate::realtime::ws`); any other answer is written and the connection
//! closed. The App's [`AppConfig`] is actix-web's default: it
//! only names a host for requests without a `Host` header.

use std::io;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::{ConnectionType, HttpService, Request, Response, StatusCode, h1};
use actix_service::{IntoServiceFactory, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{
    AppConfig, Server, Service, ServiceFactory, ServiceRequest, ServiceResponse, fn_factory,
    fn_service,
};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, web};
use bytes::BytesMut;
use futures_util::future::Either;
use futures_util::{FutureExt, SinkExt};
use parley_shared::AppError;
use tokio::net::TcpStream;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::error::ApiError;
use crate::realtime::ws::OnUpgrade;
use crate::routes;
use crate::state::ApiState;

/// Serves `state`'s App on `listener` until the process is asked to stop.
///
/// Errors: the listener cannot be registered.
pub(crate) fn serve(listener: TcpListener, state: web::Data<ApiState>) -> io::Result<Server> {
    let addr = listener.local_addr()?;
    let workers = match state.ctx.settings.http.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    Ok(Server::build()
        .listen("parley-api", listener, move || {
            let upgrade_state = state.clone();
            HttpService::build()
                .client_disconnect_timeout(Duration::from_secs(1))
                // Realtime frames are small and written one after another:
                // with Nagle's algorithm each waited for the client's
                // delayed ACK (a replay of 1,000 events stalled ~40 ms at a
                // time, issue 13).
                .tcp_nodelay(true)
                .local_addr(addr)
                .upgrade(fn_factory(move || upgrade_service(upgrade_state.clone())))
                .finish(map_config(app(state.clone()).into_factory(), |_| {
                    AppConfig::default()
                }))
                .tcp()
        })?
        .shutdown_timeout(10)
        .workers(workers)
        .run())
}

/// The App of one worker thread: state, middleware, routes.
fn app(
    state: web::Data<ApiState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(query_config())
        .app_data(path_config())
        .wrap_fn(|req, srv| match query_nul_field(req.query_string()) {
            // Before any handler: PostgreSQL refuses NUL in text.
            Some(field) => Either::Left(futures_util::future::ready(Err(ApiError(
                parley_shared::domain::validate::nul_error(field),
            )
            .into()))),
            None => Either::Right(srv.call(req)),
        })
        .wrap_fn(|req, srv| {
            let request_id = req.extensions().get::<RequestId>().copied();
            srv.call(req).map(move |res| {
                res.map(|mut res| {
                    if let Some(id) = request_id
                        && let Ok(value) = HeaderValue::from_str(&id.to_string())
                    {
                        res.headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), value);
                    }
                    res
                })
            })
        })
        .wrap(TracingLogger::<crate::request_span::RequestSpan>::new())
        .wrap_fn(|req, srv| {
            let started = std::time::Instant::now();
            let method = routes::metrics::method_label(req.method());
            srv.call(req).map(move |res| {
                // After routing: the matched path, not a walk of every
                // route (see `request_span`).
                let (status, route) = match &res {
                    Ok(res) => (res.status(), res.request().match_pattern()),
                    Err(err) => (err.as_response_error().status_code(), None),
                };
                routes::metrics::record_request(method, route, status, started.elapsed());
                res
            })
        })
        .configure(routes::configure)
}

/// The upgrade hook of one worker thread: an App of its own (actix-http
/// builds the hook apart from the HTTP service) and [`answer_upgrade`].
async fn upgrade_service(
    state: web::Data<ApiState>,
) -> Result<
    impl Service<(Request, Framed<TcpStream, h1::Codec>), Response = (), Error = actix_web::Error>,
    (),
> {
    let app = Rc::new(
        app(state)
            .into_factory()
            .new_service(AppConfig::default())
            .await?,
    );
    Ok(fn_service(
        move |(req, framed): (Request, Framed<TcpStream, h1::Codec>)| {
            answer_upgrade(app.clone(), req, framed)
        },
    ))
}

/// Answers a request that asks to upgrade its connection: through the App,
/// like any request; a 101 that carries an [`OnUpgrade`] is written and the
/// stream (with what the client sent after its request) handed over, without
/// actix-http's buffers. Any other answer is written whole and the
/// connection closed: the request's body, if it had one, was never read.
///
/// Errors: writing to the client failed (it is gone).
async fn answer_upgrade<S, B>(
    app: Rc<S>,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let mut response = match app.call(req).await {
        Ok(res) => res.into_parts().1.map_into_boxed_body(),
        Err(err) => err.error_response(),
    };
    let on_upgrade = response.extensions_mut().remove::<OnUpgrade>();
    let (mut head, body) = Response::from(response).into_parts();
    if let Some(on_upgrade) = on_upgrade
        && head.status() == StatusCode::SWITCHING_PROTOCOLS
    {
        framed
            .send(h1::Message::Item((head, BodySize::None)))
            .await?;
        let parts = framed.into_parts();
        on_upgrade.start(parts.io, BytesMut::from(&parts.read_buf[..]));
        return Ok(());
    }
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(actix_web::error::ErrorInternalServerError)?;
    head.head_mut().set_connection_type(ConnectionType::Close);
    let length = BodySize::Sized(body.len() as u64);
    // One write for head and body: a WebSocket client reads the refusal
    // once and takes the bytes that came with the head as its body.
    framed.feed(h1::Message::Item((head, length))).await?;
    if !body.is_empty() {
        framed.feed(h1::Message::Chunk(Some(body))).await?;
    }
    framed.flush().await?;
    Ok(())
}
/// The name of the first query parameter whose name or value holds a NUL
/// character once decoded (`?query=%00`); answered 422 naming it (issue 6,
/// item 4). A query that does not decode is left to the handler's extractor.
fn query_nul_field(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    pairs
        .into_inner()
        .into_iter()
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', ""))
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError(AppError::Validation {
            field: "query".into(),
            code: "validation_error",
            detail: format!("Invalid query string: {err}"),
        })
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, req| {
        ApiError(AppError::not_found(
            "not_found",
            format!("Nothing at {}.", req.path()),
        ))
        .into()
    })
}
