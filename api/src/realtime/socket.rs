//! `GET /api/v1/ws`: one task per socket (API.md, "Realtime protocol");
//! SSE connections (`super::sse`) run the same task without client frames.
//!
//! The task selects over the client's frames, its bounded outbound queue, a
//! heartbeat and its overflow signal. For every chat it follows it keeps the
//! last seq it sent, so that each chat's events reach the client exactly
//! once and in seq order: an event it already sent is dropped, and a gap
//! (events published by several replicas arrive out of order, or were lost
//! while Redis was away) is filled from `chat_events` before the event.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_http::ws::CloseReason;
use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::AppError;
use parley_shared::domain::accounts::AuthContext;
use parley_shared::domain::catchup::UpdatesToken;
use parley_shared::domain::models::ChatMember;
use parley_shared::telemetry::metrics::{Held, REALTIME_CONNECTIONS, SLOW_CLIENT_CLOSES};
use parley_shared::wire::native::events::ServerEvent;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::extract::{AuthUser, WS_BEARER_PROTOCOL, check_origin};
use crate::realtime::close;
use crate::realtime::commands::{
    self, ClientCommand, CommandTask, ack, app_error_frame, error_frame, next_answer,
};
use crate::realtime::hub::{ConnId, Inbox, Outbound, OverflowSignal};
use crate::realtime::lifecycle::{self, Opened};
use crate::realtime::ordering::Positions;
use crate::realtime::transport::{Transport, WsTransport};
use crate::realtime::typing::Typing;
use crate::realtime::ws::{self, ClientFrame, ClientFrames, WsWriter};
use crate::state::ApiState;

/// The largest client message accepted (fragments together), in bytes.
const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Upgrades to a WebSocket. A missing or bad token is a 401 JSON answer
/// before the upgrade (the [`AuthUser`] extractor).
#[utoipa::path(
    get,
    path = "/api/v1/ws",
    tag = "realtime",
    summary = "Open the realtime WebSocket.",
    description = "Upgrades to a WebSocket that speaks the realtime protocol of docs/realtime.md: the first frame is `ready`; then send `resume` and receive every event of every chat of the caller, in order per chat. The access token may come as `Authorization: Bearer <token>`, `?token=<token>`, the `access_token` cookie, or (browsers) `Sec-WebSocket-Protocol: parley.bearer, <token>` (the server then answers with the `parley.bearer` subprotocol). Every refusal is a JSON error before the upgrade.",
    params(
        ("token" = Option<String>, Query, description = "The access token, for clients that cannot set a header."),
    ),
    responses(
        (status = 101, description = "Switching Protocols: the realtime protocol of docs/realtime.md"),
        (status = 400, description = "`websocket_handshake`: not a WebSocket upgrade request.", body = crate::openapi::ErrorBody),
        (status = 401, description = "`not_authenticated`: no access token; `invalid_token`, `token_expired` or `session_revoked`: a bad, expired or revoked one. Answered before the upgrade, as JSON.", body = crate::openapi::ErrorBody),
        (status = 403, description = "`origin_not_allowed`: a browser `Origin` that `WS_ALLOWED_ORIGINS` does not list.", body = crate::openapi::ErrorBody),
        (status = 503, description = "`service_unavailable`: this replica has lost Redis and cannot follow chats; retry with backoff.", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn connect_ws(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    Ok(open_socket(req, state, caller.0, WsTransport).await?)
}

/// Upgrades to a WebSocket whose frames `transport` reads and writes (the
/// native [`WsTransport`], or a dialect's): the origin and bus checks, then
/// the 101, whose connection runs the socket task once the server has sent
/// it ([`ws::accept`]).
///
/// Errors: 403 `origin_not_allowed`; 503 without the bus; 400
/// `websocket_handshake` for a request that is not an upgrade.
pub(crate) async fn open_socket<T, F>(
    req: HttpRequest,
    state: web::Data<ApiState>,
    auth: AuthContext,
    transport: F,
) -> Result<HttpResponse, AppError>
where
    T: Transport + 'static,
    F: FnOnce(WsWriter) -> T + 'static,
{
    check_origin(&req, &state.ctx.settings.allowed_origins())?;
    state.hub.check_bus()?;
    let write_delay = Duration::from_millis(state.ctx.settings.realtime.ws_write_delay_ms);
    let state = state.into_inner();
    ws::accept(&req, &[WS_BEARER_PROTOCOL], move |stream, received| {
        let (writer, client) = ws::open(stream, received, write_delay, MAX_FRAME_BYTES);
        actix_web::rt::spawn(run(state, auth, transport(writer), Some(client), None));
    })
    .map_err(|e| {
        AppError::bad_request(
            "websocket_handshake",
            format!("Not a WebSocket request: {e}"),
        )
    })
}

/// Why the socket loop ended.
pub(super) enum End {
    /// The client went away or closed.
    Gone,
    /// The server closes with this reason.
    Close(CloseReason),
}

pub(crate) struct Socket<T: Transport> {
    pub(super) state: Arc<ApiState>,
    pub(super) auth: AuthContext,
    pub(super) transport: T,
    /// The last seq sent to this client, per followed chat.
    pub(super) positions: Positions,
    /// Chats focused with `join_room`: their typing signals reach this socket.
    pub(super) focused: HashSet<i64>,
    /// Chats this client is typing in.
    pub(super) typing: Typing,
    /// Set when the socket must close after what it just sent.
    pub(super) closing: Option<CloseReason>,
    /// This socket's id in the hub.
    pub(super) conn: ConnId,
    /// Raised when this socket's queue refuses an item (its inbox is full).
    pub(super) overflow: OverflowSignal,
    /// [`FRAMES_SENT`](parley_shared::telemetry::metrics::FRAMES_SENT),
    /// looked up once (sending is the hot path).
    pub(super) frames_sent: metrics::Counter,
    /// Frames sent and not yet added to `frames_sent`: added once per turn
    /// of the loop, since the counter is one atomic that every socket of
    /// both worker threads would otherwise touch per frame.
    pub(super) frames_uncounted: u64,
}

/// After `ready`, live events wait this long for the client's first frame
/// (API.md: send `resume` first).
const LIVE_GRACE: Duration = Duration::from_millis(1000);

/// Queued items a socket delivers in one turn of its loop before it looks
/// at the client's frames again.
const DRAIN_BATCH: usize = 64;

/// Runs one realtime connection until it ends: registers it with the hub,
/// follows the user's chats, resumes from `resume_from` when given, then
/// serves. `client` is the WebSocket's incoming frames (SSE has none).
pub(crate) async fn run<T: Transport>(
    state: Arc<ApiState>,
    auth: AuthContext,
    transport: T,
    client: Option<ClientFrames>,
    resume_from: Option<UpdatesToken>,
) {
    let transport_name = if client.is_some() { "websocket" } else { "sse" };
    let _open = Held::new(metrics::gauge!(REALTIME_CONNECTIONS, "transport" => transport_name));
    // The opening and the closing are boxed: their futures (the hub, Redis
    // and the database) are large, and a future awaited in place is part of
    // the task for the connection's whole life (issue 13, item 4).
    let Some(Opened {
        mut socket,
        rx,
        presence_key,
    }) = Box::pin(lifecycle::open(state, auth, transport)).await
    else {
        return;
    };
    let end = socket.serve(client, resume_from, rx).await;
    Box::pin(socket.finish(end, presence_key)).await;
}

impl<T: Transport> Socket<T> {
    async fn serve(
        &mut self,
        mut client: Option<ClientFrames>,
        resume_from: Option<UpdatesToken>,
        mut rx: Inbox,
    ) -> Result<End, ApiError> {
        let overflow = self.overflow.clone();
        let has_client = client.is_some();
        // Boxed, like every large and rare await below: the task carries
        // the size of each future it awaits in place, idle or not.
        Box::pin(self.start()).await?;
        if let Some(token) = resume_from {
            let chats: Vec<i64> = self.positions.chats();
            for chat_id in chats {
                let from = token.seqs.get(&chat_id).copied().unwrap_or(0);
                self.positions.set(chat_id, from);
                if !self.replay(chat_id, None).await? {
                    return Ok(End::Gone);
                }
            }
        }
        let interval = self.transport.heartbeat_interval(&self.state.ctx.settings);
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let mut last_heard = Instant::now();
        let mut typing_tick = tokio::time::interval(Duration::from_secs(1));
        // Live events wait (in the bounded queue) until the client's first
        // frame — normally `resume` — or the grace period: so that a resume
        // never has to send events older than ones already sent.
        let mut gated = has_client && self.transport.waits_for_resume();
        if let Some(chat_id) = self.transport.focus() {
            self.focused.insert(chat_id);
        }
        let gate = tokio::time::sleep(LIVE_GRACE);
        tokio::pin!(gate);
        let expires_in =
            u64::try_from(self.auth.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0);
        let token_expiry = tokio::time::sleep(Duration::from_secs(expires_in));
        tokio::pin!(token_expiry);
        // Database commands run on their own task, in order, started by
        // the first one; their answers come back here to be sent.
        let mut command_task: Option<CommandTask> = None;
        loop {
            self.count_frames();
            if let Some(reason) = self.closing.take() {
                return Ok(End::Close(reason));
            }
            tokio::select! {
                biased;
                _ = overflow.notified() => {
                    // Behind, but not stuck (sending did not block): take what
                    // is queued, then what the full queue dropped, from the
                    // log. A client that stops reading is caught in `send`.
                    gated = false;
                    while let Some(item) = rx.try_recv() {
                        if !self.deliver(&item).await? {
                            return Ok(End::Gone);
                        }
                    }
                    if !self.deliver(&Outbound::Resync).await? {
                        return Ok(End::Gone);
                    }
                }
                // Also sends what the last turn wrote (`ClientFrames::next`).
                frame = next_frame(&mut client), if has_client => {
                    last_heard = Instant::now();
                    let opens_gate = gated;
                    match frame {
                        Some(Ok(ClientFrame::Text(text))) => {
                            if !Box::pin(self.on_client_text(&text, &mut command_task)).await? {
                                return Ok(End::Gone);
                            }
                            if opens_gate {
                                gated = false;
                            }
                        }
                        Some(Ok(ClientFrame::Binary(_))) => {
                            let error = error_frame("binary_not_supported", "Send JSON text frames.", None);
                            if !self.send(&error.to_bytes()).await {
                                return Ok(End::Gone);
                            }
                        }
                        Some(Ok(ClientFrame::Ping(bytes))) => {
                            if !self.transport.pong(&bytes).await {
                                return Ok(End::Gone);
                            }
                        }
                        Some(Ok(ClientFrame::Pong)) => {}
                        Some(Ok(ClientFrame::Close)) | None => return Ok(End::Gone),
                        Some(Err(reason)) => return Ok(End::Close(reason)),
                    }
                }
                Some(answer) = next_answer(&mut command_task) => {
                    if !self.send(&answer).await {
                        return Ok(End::Gone);
                    }
                }
                _ = &mut gate, if gated => {
                    gated = false;
                }
                outbound = rx.recv(), if !gated => {
                    if !self.deliver(&outbound).await? {
                        return Ok(End::Gone);
                    }
                    // What queued meanwhile goes out in this same wake-up
                    // (one chunk for the connection), not one turn of the
                    // select per frame.
                    for _ in 1..DRAIN_BATCH {
                        if self.closing.is_some() {
                            break;
                        }
                        let Some(outbound) = rx.try_recv() else { break };
                        if !self.deliver(&outbound).await? {
                            return Ok(End::Gone);
                        }
                    }
                }
                _ = &mut token_expiry => {
                    Box::pin(self.revoke("token_expired")).await;
                }
                _ = typing_tick.tick(), if !self.typing.is_empty() => {
                    Box::pin(self.expire_typing()).await;
                }
                _ = heartbeat.tick() => {
                    if has_client && last_heard.elapsed() > interval * 2 + Duration::from_secs(5) {
                        return Ok(End::Close(close::heartbeat_timeout()));
                    }
                    if !self.transport.heartbeat().await {
                        return Ok(End::Gone);
                    }
                }
            }
        }
    }

    /// Follows the user's chats, reads where each stands (after the
    /// subscriptions are live, so nothing later can be missed), sends `ready`.
    async fn start(&mut self) -> Result<(), ApiError> {
        let conn = self.conn;
        let user_id = self.auth.user_id;
        let chats = {
            let mut db = self.state.ctx.db.get().await?;
            ChatMember::chats_of_user(&mut db, user_id).await?
        };
        let ids: Vec<i64> = chats.iter().map(|(id, _)| *id).collect();
        // Not holding a database connection while subscriptions queue up.
        self.state
            .hub
            .join_chats(conn, &ids)
            .await
            .map_err(AppError::from)?;
        // Read again now that the subscriptions are live: anything
        // committed after this read reaches the socket live.
        let mut db = self.state.ctx.db.get().await?;
        for (chat_id, last_seq) in ChatMember::chats_of_user(&mut db, user_id).await? {
            self.positions.set(chat_id, last_seq);
        }
        drop(db);
        let ready = ServerEvent::Ready {
            user_id,
            session_id: self.auth.session_id.to_string(),
            heartbeat_interval_ms: self.state.ctx.settings.realtime.ws_heartbeat_interval_ms,
        };
        self.send(&ready.to_bytes()).await;
        Ok(())
    }

    /// Answers one client text frame; `Ok(false)` when the client is gone.
    /// Commands that use the database go to the socket's command task, so
    /// that a slow `send` never holds up delivery.
    async fn on_client_text(
        &mut self,
        text: &str,
        command_task: &mut Option<CommandTask>,
    ) -> Result<bool, ApiError> {
        let Some(text) = self.transport.client_frame(text).await else {
            return Ok(true);
        };
        let (reference, command) = match commands::parse(&text) {
            Ok(parsed) => parsed,
            Err(error) => return Ok(self.send(&error).await),
        };
        if command.uses_database() {
            let task = command_task
                .get_or_insert_with(|| CommandTask::start(self.state.clone(), self.auth));
            let refused = match task.commands.try_send((reference, command)) {
                Ok(()) => return Ok(true),
                Err(mpsc::error::TrySendError::Full((reference, _))) => error_frame(
                    "too_many_commands",
                    "Too many commands in flight on this socket; wait for their answers.",
                    reference,
                ),
                Err(mpsc::error::TrySendError::Closed((reference, _))) => app_error_frame(
                    &AppError::internal(anyhow::anyhow!("command task gone")),
                    reference,
                ),
            };
            return Ok(self.send(&refused.to_bytes()).await);
        }
        let reply = match command {
            ClientCommand::Ping => ServerEvent::Pong { reference },
            ClientCommand::Resume { chats } => return self.resume(chats, reference).await,
            ClientCommand::Typing { chat_id, .. }
            | ClientCommand::JoinRoom { chat_id }
            | ClientCommand::LeaveRoom { chat_id }
                if !self.positions.follows(chat_id) =>
            {
                app_error_frame(&AppError::not_a_member(), reference)
            }
            ClientCommand::Typing { chat_id, is_typing } => {
                self.set_typing(chat_id, is_typing.unwrap_or(true)).await;
                match reference {
                    Some(reference) => ack(reference),
                    None => return Ok(true),
                }
            }
            ClientCommand::JoinRoom { chat_id } => {
                self.focused.insert(chat_id);
                match reference {
                    Some(reference) => ack(reference),
                    None => return Ok(true),
                }
            }
            ClientCommand::LeaveRoom { chat_id } => {
                self.focused.remove(&chat_id);
                match reference {
                    Some(reference) => ack(reference),
                    None => return Ok(true),
                }
            }
            // Sent to the command task above.
            ClientCommand::Send(_)
            | ClientCommand::Read { .. }
            | ClientCommand::Delivered { .. } => {
                return Ok(true);
            }
        };
        Ok(self.send(&reply.to_bytes()).await)
    }

    /// Stops following a chat the user left (nothing more of it is sent).
    pub(super) async fn unfollow(&mut self, chat_id: i64) {
        self.positions.unfollow(chat_id);
        self.focused.remove(&chat_id);
        if self.typing.forget(chat_id) {
            self.publish_typing(chat_id, false).await;
        }
        self.state.hub.leave_chat(self.conn, chat_id).await;
    }

    /// Sends `session_revoked` and marks the socket for closing (4001).
    async fn revoke(&mut self, reason: &str) {
        let event = ServerEvent::SessionRevoked {
            session_id: self.auth.session_id.to_string(),
            reason: reason.to_owned(),
        };
        self.send(&event.to_bytes()).await;
        self.closing = Some(close::session_revoked());
    }

    /// Closes the socket if its session was revoked meanwhile (a fallback
    /// for a `session_revoked` lost while Redis was away).
    pub(super) async fn check_session(&mut self) -> Result<(), ApiError> {
        // Checked with the other sockets' checks (a resync reaches them all).
        let ctx = &self.state.ctx;
        let active = ctx
            .sessions
            .is_active(self.auth.session_id, self.auth.user_id)
            .await?;
        if !active {
            self.revoke("revoked").await;
        }
        Ok(())
    }

    /// Adds the frames sent since the last call to `frames_sent`.
    pub(super) fn count_frames(&mut self) {
        if self.frames_uncounted > 0 {
            self.frames_sent
                .increment(std::mem::take(&mut self.frames_uncounted));
        }
    }

    /// Sends one frame; `false` when the client is gone, or when it stopped
    /// reading and its queue overflowed meanwhile (then `closing` is 1013).
    pub(super) async fn send(&mut self, payload: &[u8]) -> bool {
        let overflow = self.overflow.clone();
        tokio::select! {
            biased;
            sent = self.transport.send(payload, &self.positions) => {
                self.frames_uncounted += u64::from(sent);
                sent
            }
            _ = overflow.notified() => {
                metrics::counter!(SLOW_CLIENT_CLOSES).increment(1);
                tracing::info!(user.id = self.auth.user_id, "closing a slow socket (1013)");
                self.closing = Some(close::too_slow());
                false
            }
        }
    }
}

/// The next frame of the WebSocket client; never resolves without one.
async fn next_frame(client: &mut Option<ClientFrames>) -> Option<Result<ClientFrame, CloseReason>> {
    match client {
        Some(client) => client.next().await,
        None => std::future::pending().await,
    }
}
