// The two transports of the realtime connection: a WebSocket, or a
// Server-Sent Events stream read with fetch (which, unlike EventSource,
// can send the token in a header and works outside browsers too).
import { createParser } from 'eventsource-parser';

import type { ServerFrame } from './events.js';

/** The realtime transports, in the order `auto` tries them. */
export type Transport = 'websocket' | 'sse';

/** The browser's `WebSocket` constructor, or one like it (the `ws` package). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What the client uses of a WebSocket. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** How a connection ended. */
export interface Closed {
  /** The WebSocket close code (4001: session over, 1013: too slow); 1006 when the link broke. */
  code: number;
  /** The HTTP status that refused an event stream (401, 503, …), when known. */
  status?: number;
}

/** What a connection reports to its client. */
export interface ConnectionEvents {
  /** A frame, with its SSE `id` when it carried one. */
  frame(frame: ServerFrame, eventId?: string): void;
  /** Something arrived (a frame, a heartbeat comment): the link is alive. */
  alive(): void;
  /** The connection ended by itself (not by `close()`). */
  closed(closed: Closed): void;
}

/** One open (or opening) realtime connection. */
export interface Connection {
  readonly transport: Transport;
  /** Sends a client frame; false where the transport has none (SSE) or is not open. */
  send(frame: object): boolean;
  /** Ends it; `closed` is not reported. */
  close(): void;
}

/**
 * Opens `GET /api/v1/ws`. The token travels as the `parley.bearer`
 * subprotocol, which browsers can set (they cannot set headers).
 */
export function openWebSocket(
  url: string,
  token: string,
  WebSocketImpl: WebSocketConstructor,
  events: ConnectionEvents,
): Connection {
  let ended = false;
  const socket = new WebSocketImpl(url, ['parley.bearer', token]);
  socket.onmessage = (message) => {
    if (ended) return;
    events.alive();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(message.data)) as ServerFrame;
    } catch {
      return;
    }
    events.frame(frame);
  };
  socket.onclose = (close) => {
    if (ended) return;
    ended = true;
    events.closed({ code: close.code });
  };
  // An error is always followed by a close.
  socket.onerror = () => {};
  return {
    transport: 'websocket',
    send(frame) {
      if (ended || socket.readyState !== 1) return false;
      socket.send(JSON.stringify(frame));
      return true;
    },
    close() {
      ended = true;
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened may throw; it is gone either way.
      }
    },
  };
}

/**
 * Opens `GET /api/v1/sse/subscribe`, sending `lastEventId` (an `id` of an
 * earlier stream) so that the server replays what came after it.
 */
export function openEventStream(
  url: string,
  token: string,
  lastEventId: string | undefined,
  fetchImpl: typeof fetch,
  events: ConnectionEvents,
): Connection {
  let ended = false;
  const abort = new AbortController();
  const end = (closed: Closed) => {
    if (ended) return;
    ended = true;
    events.closed(closed);
  };
  const headers: Record<string, string> = {
    Accept: 'text/event-stream',
    Authorization: `Bearer ${token}`,
  };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  void (async () => {
    let response: Response;
    try {
      response = await fetchImpl(url, { headers, signal: abort.signal, cache: 'no-store' });
    } catch {
      end({ code: 1006 });
      return;
    }
    if (!response.ok || !response.body) {
      end({ code: 1006, status: response.status });
      return;
    }
    const parser = createParser({
      onEvent(event) {
        if (ended) return;
        try {
          events.frame(JSON.parse(event.data) as ServerFrame, event.id);
        } catch {
          // Not JSON: not one of ours.
        }
      },
    });
    try {
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || ended) break;
        events.alive();
        parser.feed(value);
      }
      end({ code: 1000 });
    } catch {
      end({ code: 1006 });
    }
  })();
  return {
    transport: 'sse',
    send: () => false,
    close() {
      ended = true;
      abort.abort();
    },
  };
}
