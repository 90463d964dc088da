// The Parley client: REST calls plus one realtime connection that stays
// complete across disconnects (docs/realtime.md).
import {
  type Connection,
  type ConnectionEvents,
  type Closed,
  type Transport,
  type WebSocketConstructor,
  openEventStream,
  openWebSocket,
} from './connection.js';
import { type ChatEvent, type LiveEvent, type MessageRead, type ServerFrame, isChatEvent } from './events.js';
import { type Rest, ParleyError, createRest, ok } from './rest.js';
import { type PositionStore, Sequencer, memoryPositions } from './sync.js';

/** The tokens `POST /api/v1/auth/login` and `/auth/refresh` answer. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** How a `ParleyClient` is set up. */
export interface ParleyClientOptions {
  /** Where Parley answers, e.g. `https://chat.example.com`; `''` in a page served by Parley. */
  baseUrl: string;
  /** Tokens of a signed-in user (or call `login` later). */
  tokens?: Tokens;
  /** Called with new tokens after `login` or a refresh, to keep them. */
  onTokens?: (tokens: Tokens | undefined) => void;
  /** `auto` (default): a WebSocket, and SSE after two WebSockets fail to open in a row. */
  transport?: 'auto' | Transport;
  /** Where positions are kept (default: memory; in a page, `webStoragePositions(localStorage, …)`). */
  positions?: PositionStore;
  /** The WebSocket constructor (default: the global one; in Node 20, the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** The fetch function (default: the global one). */
  fetch?: typeof fetch;
  /** Reconnect backoff: the first delay and the cap, in ms (defaults 250 and 10,000); full jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long a socket `send` may wait for its `ack` before it is sent again, in ms (default 10,000). */
  ackTimeoutMs?: number;
}

/** The connection's state, as `state` events report it. */
export type ConnectionState =
  /** Opening a connection. */
  | 'connecting'
  /** Connected and caught up: events are live. */
  | 'live'
  /** Disconnected; the next attempt is `retryInMs` away. */
  | 'waiting'
  /** Not connecting: `close()` was called, or the session ended. */
  | 'closed';

/** Everything a client reports, by name (`client.on(name, handler)`). */
export interface ClientEvents {
  /** A chat's logged event: exactly once and in seq order per chat. */
  chatEvent: ChatEvent;
  /** A live-only event (typing, presence, receipts, …): lost while offline. */
  liveEvent: LiveEvent;
  /** The connection's state changed. */
  state: { state: ConnectionState; transport?: Transport; retryInMs?: number };
  /** `chatId`'s log no longer reaches back: reload it over REST (`history`), events go on from `lastSeq`. */
  resync: { chatId: number; lastSeq: number };
  /** The session ended (revoked, or expired with no refresh possible): sign in again. */
  sessionEnded: { reason: string };
  /** A chat could not be caught up for good (e.g. no longer a member). */
  chatError: { chatId: number; error: ParleyError };
}

/** What `send` takes. */
export interface SendInput {
  chatId: number;
  text: string;
  replyToMessageId?: number;
  /** The idempotency key; a new UUID by default. A retry with the same key never makes a second message. */
  clientMessageId?: string;
}

interface Outgoing {
  input: SendInput & { clientMessageId: string };
  resolve(message: MessageRead): void;
  reject(error: ParleyError): void;
  attempt: number;
  timer?: ReturnType<typeof setTimeout>;
  /** How the attempt in flight went out. */
  via?: 'socket' | 'rest';
}

/** Socket error codes after which a send is tried again. */
const RETRY_CODES = new Set(['rate_limited', 'too_many_commands', 'internal_error', 'service_unavailable']);

/**
 * A signed-in user's view of Parley: typed REST calls (`rest`), and the
 * realtime connection (`connect`) with heartbeat, reconnect with backoff,
 * `resume` from stored positions, gap fill, `resync_required` handling,
 * and sends retried with the same `client_message_id` until acknowledged.
 */
export class ParleyClient {
  /** Typed REST calls: `await client.rest.GET('/api/v1/chats')`. */
  readonly rest: Rest;
  private tokens?: Tokens;
  private readonly options: ParleyClientOptions;
  private readonly sequencer: Sequencer;
  private readonly handlers = new Map<keyof ClientEvents, Set<(payload: never) => void>>();
  private connection?: Connection;
  private running = false;
  private live = false;
  private useSse: boolean;
  private webSocketFailures = 0;
  private attempts = 0;
  private userId?: number;
  private lastEventId?: string;
  private readySeen = false;
  private lastHeard = 0;
  private heartbeat?: ReturnType<typeof setInterval>;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private readonly outbox: Outgoing[] = [];
  private sending?: Outgoing;
  private readonly rooms = new Set<number>();
  /** Whether the current event stream was opened with `Last-Event-ID`. */
  private streamOpenedWithId = false;

  constructor(options: ParleyClientOptions) {
    this.options = options;
    this.tokens = options.tokens;
    this.useSse = options.transport === 'sse';
    this.rest = createRest(options.baseUrl, () => this.tokens?.access_token, this.fetchImpl);
    this.sequencer = new Sequencer(options.positions ?? memoryPositions(), {
      fetchEvents: (chatId, afterSeq) =>
        ok(
          this.rest.GET('/api/v1/chats/{chat_id}/events', {
            params: { path: { chat_id: chatId }, query: { after_seq: afterSeq, limit: 500 } },
          }),
        ),
      deliver: (event) => this.emit('chatEvent', event),
      resync: (chatId, lastSeq) => this.emit('resync', { chatId, lastSeq }),
      failed: (chatId, error) => this.emit('chatError', { chatId, error }),
      selfId: () => this.userId,
      backoff: (attempt) => this.backoff(attempt),
    });
  }

  // ---- events ------------------------------------------------------------

  /** Calls `handler` for every `name` event; returns a function that stops it. */
  on<K extends keyof ClientEvents>(name: K, handler: (payload: ClientEvents[K]) => void): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  private emit<K extends keyof ClientEvents>(name: K, payload: ClientEvents[K]): void {
    for (const handler of this.handlers.get(name) ?? []) {
      try {
        (handler as (payload: ClientEvents[K]) => void)(payload);
      } catch (err) {
        console.error(`parley: a ${name} handler threw`, err);
      }
    }
  }

  // ---- accounts ----------------------------------------------------------

  /** Signs in (`POST /api/v1/auth/login`); `ParleyError` 401 `invalid_credentials` / `otp_required`. */
  async login(email: string, password: string, otpCode?: string): Promise<Tokens> {
    const tokens = await ok(
      this.rest.POST('/api/v1/auth/login', { body: { email, password, otp_code: otpCode ?? null } }),
    );
    this.setTokens(tokens);
    return tokens;
  }

  /** The tokens in use, if signed in. */
  currentTokens(): Tokens | undefined {
    return this.tokens;
  }

  /** Replaces the tokens (e.g. from storage); `undefined` signs out locally. */
  setTokens(tokens: Tokens | undefined): void {
    this.tokens = tokens ? { access_token: tokens.access_token, refresh_token: tokens.refresh_token } : undefined;
    this.options.onTokens?.(this.tokens);
  }

  /** The signed-in user's id, once a connection said `ready`. */
  get selfId(): number | undefined {
    return this.userId;
  }

  // ---- chats and messages ------------------------------------------------

  /**
   * `GET /api/v1/chats` (newest activity first), following each chat from
   * its `last_seq` unless its position is already known.
   */
  async chats() {
    const chats = await ok(this.rest.GET('/api/v1/chats', { params: { query: { limit: 100 } } }));
    for (const chat of chats) this.sequencer.follow(chat.id, chat.last_seq);
    return chats;
  }

  /** A page of `chatId`'s messages, oldest first: the newest `limit`, or those before `beforeId`. */
  async history(chatId: number, page: { beforeId?: number; limit?: number } = {}): Promise<MessageRead[]> {
    return ok(
      this.rest.GET('/api/v1/messages/{id}', {
        params: { path: { id: chatId }, query: { before_id: page.beforeId, limit: page.limit ?? 50 } },
      }),
    );
  }

  /** Starts following a chat at `seq` (e.g. a `ChatRead.last_seq` the app loaded itself). */
  follow(chatId: number, seq: number): void {
    this.sequencer.follow(chatId, seq);
  }

  /** The last seq processed in `chatId`, if followed. */
  position(chatId: number): number | undefined {
    return this.sequencer.position(chatId);
  }

  /**
   * Sends a text message. Resolves with the message once the server
   * acknowledged it; until then it is tried again (socket `send` while the
   * WebSocket is live, else `POST /api/v1/messages`) with the same
   * `client_message_id`, through disconnects, so it is written exactly once.
   * Rejects only on a refusal that a retry cannot change (403, 404, 422, …).
   */
  send(input: SendInput): Promise<MessageRead> {
    return new Promise((resolve, reject) => {
      this.outbox.push({
        input: { ...input, clientMessageId: input.clientMessageId ?? crypto.randomUUID() },
        resolve,
        reject,
        attempt: 0,
      });
      this.pump();
    });
  }

  /** Sends waiting for their acknowledgement. */
  get pendingSends(): number {
    return this.outbox.length;
  }

  /** Marks `messageId` (and all before it) read in `chatId`; positions only move forward. */
  async markRead(chatId: number, messageId: number): Promise<void> {
    if (this.live && this.connection?.send({ type: 'read', chat_id: chatId, message_id: messageId })) return;
    await ok(
      this.rest.POST('/api/v1/messages/status', {
        body: { chat_id: chatId, message_id: messageId, status: 'message_read' },
      }),
    );
  }

  /** Tells the chat's focused members that you are typing (WebSocket only; renew every 2–4 s). */
  typing(chatId: number, isTyping: boolean): void {
    if (this.live) this.connection?.send({ type: 'typing', chat_id: chatId, is_typing: isTyping });
  }

  /** Focuses `chatId` to receive its typing signals (kept across reconnects). */
  joinRoom(chatId: number): void {
    this.rooms.add(chatId);
    if (this.live) this.connection?.send({ type: 'join_room', chat_id: chatId });
  }

  /** Stops receiving `chatId`'s typing signals. */
  leaveRoom(chatId: number): void {
    this.rooms.delete(chatId);
    if (this.live) this.connection?.send({ type: 'leave_room', chat_id: chatId });
  }

  // ---- the connection ----------------------------------------------------

  /** Opens the realtime connection and keeps it open until `close()`. */
  connect(): void {
    if (this.running) return;
    this.running = true;
    this.attempts = 0;
    this.open();
  }

  /**
   * Closes the connection and stops reconnecting. Waiting sends go on over
   * REST (they need no connection) until acknowledged or refused.
   */
  close(): void {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    this.drop();
    this.setState('closed');
  }

  /** The transport in use (or the next to be tried). */
  get transport(): Transport {
    return this.connection?.transport ?? (this.useSse ? 'sse' : 'websocket');
  }

  private get fetchImpl(): typeof fetch {
    return this.options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  private url(path: string, scheme?: 'ws'): string {
    const base = this.options.baseUrl || globalThis.location?.origin || '';
    const url = new URL(path, base);
    if (scheme) url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  private open(): void {
    const token = this.tokens?.access_token;
    if (!token) {
      this.running = false;
      this.emit('sessionEnded', { reason: 'not_authenticated' });
      this.setState('closed');
      return;
    }
    this.readySeen = false;
    this.live = false;
    this.lastHeard = Date.now();
    const events: ConnectionEvents = {
      frame: (frame, eventId) => this.onFrame(frame, eventId),
      alive: () => {
        this.lastHeard = Date.now();
      },
      closed: (closed) => this.onClosed(closed),
    };
    if (this.useSse) {
      this.streamOpenedWithId = this.lastEventId !== undefined;
      this.connection = openEventStream(
        this.url('/api/v1/sse/subscribe'),
        token,
        this.lastEventId,
        this.fetchImpl,
        events,
      );
    } else {
      const WebSocketImpl = this.options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor);
      this.connection = openWebSocket(this.url('/api/v1/ws', 'ws'), token, WebSocketImpl, events);
    }
    this.setState('connecting');
  }

  private onFrame(frame: ServerFrame, eventId?: string): void {
    if (eventId) this.lastEventId = eventId;
    switch (frame.type) {
      case 'ready':
        return this.onReady(frame.user_id, frame.heartbeat_interval_ms);
      case 'resumed': {
        // A chat the server would not resume is no longer the user's.
        for (const chat of Object.keys(this.sequencer.snapshot())) {
          if (!(chat in frame.chats)) this.sequencer.forget(Number(chat));
        }
        return this.goLive();
      }
      case 'ack':
        return this.onAck(frame.ref, frame.message);
      case 'pong':
        return;
      case 'error':
        return this.onSocketError(frame.ref, frame.code, frame.detail);
      case 'resync_required':
        return this.sequencer.resync(frame.chat_id, frame.last_seq);
      case 'session_revoked':
        // The server closes with 4001 next; `onClosed` decides what follows.
        return;
      default:
        if (isChatEvent(frame)) this.sequencer.accept(frame);
        else this.emit('liveEvent', frame as LiveEvent);
    }
  }

  private onReady(userId: number, heartbeatMs: number): void {
    this.userId = userId;
    this.readySeen = true;
    this.webSocketFailures = 0;
    this.startHeartbeat(heartbeatMs);
    if (this.connection?.transport === 'websocket') {
      this.connection.send({ type: 'resume', ref: 'resume', chats: this.sequencer.snapshot() });
      return;
    }
    // SSE: a stream opened with Last-Event-ID replays by itself; one without
    // it reads what was missed from each chat's log.
    if (!this.streamOpenedWithId) {
      for (const chat of Object.keys(this.sequencer.snapshot())) void this.sequencer.catchUp(Number(chat));
    }
    this.goLive();
  }

  private goLive(): void {
    this.live = true;
    this.attempts = 0;
    for (const room of this.rooms) this.connection?.send({ type: 'join_room', chat_id: room });
    this.setState('live');
    this.pump();
  }

  private onClosed(closed: Closed): void {
    const hadReady = this.readySeen;
    this.drop();
    if (!this.running) return;
    if (closed.code === 4001 || closed.status === 401) {
      void this.refreshThenReconnect();
      return;
    }
    if (!this.useSse && !hadReady) {
      this.webSocketFailures++;
      if ((this.options.transport ?? 'auto') === 'auto' && this.webSocketFailures >= 2) this.useSse = true;
    }
    this.scheduleReconnect();
  }

  private async refreshThenReconnect(): Promise<void> {
    const refreshToken = this.tokens?.refresh_token;
    if (refreshToken) {
      try {
        const tokens = await ok(
          this.rest.POST('/api/v1/auth/refresh', { body: { refresh_token: refreshToken } }),
        );
        this.setTokens(tokens);
        if (this.running) this.scheduleReconnect();
        return;
      } catch (err) {
        if (err instanceof ParleyError && err.retryable) {
          if (this.running) this.scheduleReconnect();
          return;
        }
      }
    }
    this.running = false;
    this.setTokens(undefined);
    this.emit('sessionEnded', { reason: 'session_revoked' });
    this.setState('closed');
  }

  private drop(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.live = false;
    this.connection?.close();
    this.connection = undefined;
    // A send in flight on the socket is sent again on the next connection.
    if (this.sending?.via === 'socket') {
      clearTimeout(this.sending.timer);
      this.sending = undefined;
    }
  }

  private scheduleReconnect(): void {
    const delay = this.backoff(this.attempts++);
    this.setState('waiting', delay);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (this.running && !this.connection) this.open();
    }, delay);
  }

  /** Full jitter: a random delay up to `initial * 2^attempt`, capped. */
  private backoff(attempt: number): number {
    const initial = this.options.backoff?.initialMs ?? 250;
    const max = this.options.backoff?.maxMs ?? 10_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 16));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /**
   * Pings every `intervalMs` (WebSocket) and drops a connection that was
   * silent for twice that: the server pings and heartbeats as often.
   */
  private startHeartbeat(intervalMs: number): void {
    clearInterval(this.heartbeat);
    const tick = Math.max(100, Math.min(intervalMs, 5_000) / 2);
    let lastPing = Date.now();
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      if (now - this.lastHeard > 2 * intervalMs + 1_000) {
        this.onClosed({ code: 1006 });
        return;
      }
      if (now - lastPing >= intervalMs) {
        lastPing = now;
        this.connection?.send({ type: 'ping' });
      }
    }, tick);
  }

  private setState(state: ConnectionState, retryInMs?: number): void {
    this.emit('state', { state, transport: this.transport, retryInMs });
  }

  // ---- the outbox --------------------------------------------------------

  /** Sends the oldest waiting message, one at a time so that a chat keeps its order. */
  private pump(): void {
    if (this.sending || this.outbox.length === 0) return;
    const next = this.outbox[0];
    if (next.timer && !this.live) return;
    clearTimeout(next.timer);
    next.timer = undefined;
    this.sending = next;
    const { input } = next;
    const frame = {
      type: 'send',
      ref: input.clientMessageId,
      chat_id: input.chatId,
      text: input.text,
      client_message_id: input.clientMessageId,
      reply_to_message_id: input.replyToMessageId ?? null,
    };
    if (this.live && this.connection?.send(frame)) {
      next.via = 'socket';
      next.timer = setTimeout(() => this.retry(next), this.options.ackTimeoutMs ?? 10_000);
      return;
    }
    next.via = 'rest';
    ok(
      this.rest.POST('/api/v1/messages', {
        body: {
          chat_id: input.chatId,
          text: input.text,
          client_message_id: input.clientMessageId,
          reply_to_message_id: input.replyToMessageId ?? null,
        },
      }),
    ).then(
      (message) => this.settle(next, message),
      (error: ParleyError) => (error.retryable ? this.retry(next, error.retryAfterMs) : this.settle(next, error)),
    );
  }

  private onAck(ref: string | undefined, message: MessageRead | undefined): void {
    const pending = this.sending;
    if (pending && ref === pending.input.clientMessageId && message) this.settle(pending, message);
  }

  private onSocketError(ref: string | undefined, code: string, detail: string): void {
    const pending = this.sending;
    if (!pending || ref !== pending.input.clientMessageId) return;
    if (RETRY_CODES.has(code)) this.retry(pending);
    else this.settle(pending, new ParleyError(400, code, detail));
  }

  /** Tries `pending` again after a backoff (or `afterMs`), or as soon as the connection is live. */
  private retry(pending: Outgoing, afterMs?: number): void {
    if (this.sending !== pending) return;
    clearTimeout(pending.timer);
    this.sending = undefined;
    const delay = afterMs ?? this.backoff(pending.attempt++);
    pending.timer = setTimeout(() => {
      pending.timer = undefined;
      this.pump();
    }, delay);
  }

  private settle(pending: Outgoing, outcome: MessageRead | ParleyError): void {
    clearTimeout(pending.timer);
    const index = this.outbox.indexOf(pending);
    if (index >= 0) this.outbox.splice(index, 1);
    if (this.sending === pending) this.sending = undefined;
    if (outcome instanceof ParleyError) pending.reject(outcome);
    else pending.resolve(outcome);
    this.pump();
  }
}
