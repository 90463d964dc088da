// The realtime frames (docs/realtime.md). The OpenAPI document describes
// REST only, so these are written by hand over its component types.
import type { components } from './schema.js';

type Schemas = components['schemas'];
export type MessageRead = Schemas['MessageRead'];
export type ChatRead = Schemas['ChatRead'];
export type ChatMemberRead = Schemas['ChatMemberRead'];
export type NotificationRead = Schemas['NotificationRead'];
export type ReactionSummary = Schemas['ReactionSummary'];

/** Fields every event of a chat's log carries: the chat and its `seq`. */
interface Logged {
  chat_id: number;
  seq: number;
}

/**
 * An event of a chat's log. Per chat, seqs are 1, 2, 3, … without holes;
 * the client hands these to the app exactly once and in seq order.
 */
export type ChatEvent =
  | (Logged & { type: 'message_created' | 'message_updated'; message: MessageRead })
  | (Logged & { type: 'message_deleted'; message_id: number; for_all: true })
  | (Logged & { type: 'message_hidden'; message_id: number })
  | (Logged & { type: 'chat_created' | 'chat_updated'; chat: Record<string, unknown> })
  | (Logged & { type: 'member_joined' | 'member_updated'; user_id: number; member: ChatMemberRead })
  | (Logged & { type: 'member_left'; user_id: number; reason: 'left' | 'removed' })
  | (Logged & { type: 'message_pinned'; message_id: number | null; user_id: number })
  | (Logged & {
      type: 'reactions_updated';
      message_id: number;
      user_id: number;
      emoji: string;
      added: boolean;
      reactions: ReactionSummary[];
    })
  | (Logged & { type: 'chat_deleted'; user_id: number | null });

/** Live-only events: not in any log, no `seq`, lost when offline. */
export type LiveEvent =
  | { type: 'message_deleted'; chat_id: number; message_id: number; for_all: false }
  | { type: 'message_delivered' | 'message_read'; chat_id: number; user_id: number; message_id: number }
  | { type: 'typing'; chat_id: number; user_id: number; is_typing: boolean; expires_in_ms: number }
  | { type: 'presence'; user_id: number; is_online: boolean; last_seen_at: string | null }
  | { type: 'notification'; notification: NotificationRead }
  | {
      type: 'chat_settings_updated';
      chat_id: number;
      archived: boolean;
      pinned: boolean;
      muted: boolean;
      cleared_before_message_id: number | null;
      hidden: boolean;
    };

/** Frames about the connection itself; the client consumes them. */
export type ControlFrame =
  | { type: 'ready'; user_id: number; session_id: string; heartbeat_interval_ms: number }
  | { type: 'resumed'; ref?: string; chats: Record<string, number> }
  | { type: 'ack'; ref?: string; message?: MessageRead }
  | { type: 'pong'; ref?: string }
  | { type: 'error'; detail: string; code: string; ref?: string }
  | { type: 'resync_required'; chat_id: number; last_seq: number }
  | { type: 'session_revoked'; session_id: string; reason: string };

/** Any frame the server sends. */
export type ServerFrame = ChatEvent | LiveEvent | ControlFrame;

/** Whether `frame` belongs to a chat's log (has a `seq`). */
export function isChatEvent(frame: ServerFrame): frame is ChatEvent {
  return 'seq' in frame && typeof frame.seq === 'number' && 'chat_id' in frame;
}
