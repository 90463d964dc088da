// Per-chat positions, and the rule that hands each chat's events on
// exactly once and in seq order (docs/realtime.md, "Catching up").
import type { ChatEvent } from './events.js';
import { ParleyError } from './rest.js';

/** How long a change of position waits to be saved with the next ones, in ms. */
const SAVE_DELAY_MS = 200;

/** Where the client keeps its positions (`chat id -> last seq processed`). */
export interface PositionStore {
  load(): Record<string, number>;
  save(positions: Record<string, number>): void;
}

/** Positions kept in memory only: a new client starts from nothing. */
export function memoryPositions(initial: Record<string, number> = {}): PositionStore {
  let saved = { ...initial };
  return {
    load: () => ({ ...saved }),
    save: (positions) => {
      saved = { ...positions };
    },
  };
}

/** Positions kept under `key` of a Web Storage (`localStorage`): they outlive the page. */
export function webStoragePositions(storage: Storage, key: string): PositionStore {
  return {
    load() {
      try {
        const parsed: unknown = JSON.parse(storage.getItem(key) ?? '{}');
        return parsed && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
      } catch {
        return {};
      }
    },
    save: (positions) => storage.setItem(key, JSON.stringify(positions)),
  };
}

/** A page of `GET /api/v1/chats/{id}/events`. */
export interface EventsPage {
  events: unknown[];
  next_after_seq: number;
  last_seq: number;
  has_more: boolean;
  resync_required: boolean;
}

/** What the sequencer needs from the client around it. */
export interface SequencerHooks {
  /** Reads the chat's logged events after `afterSeq` (REST). */
  fetchEvents(chatId: number, afterSeq: number): Promise<EventsPage>;
  /** An event, in order, once. */
  deliver(event: ChatEvent): void;
  /** The log no longer reaches back to the position: reload the chat, go on from `lastSeq`. */
  resync(chatId: number, lastSeq: number): void;
  /** A fill was refused for good (the chat is gone, or no longer the user's). */
  failed(chatId: number, error: ParleyError): void;
  /** The signed-in user (for `member_left` about oneself). */
  selfId(): number | undefined;
  /** Milliseconds to wait before fill attempt `attempt` (0-based). */
  backoff(attempt: number): number;
}

/**
 * Hands on each chat's events exactly once and in seq order, whatever the
 * transport delivers: a seq at or below the position is a duplicate and
 * is dropped; one more than the position is next; a larger one is a gap,
 * filled from the chat's log (`GET /chats/{id}/events`) while the chat's
 * later events wait.
 */
export class Sequencer {
  private readonly positions = new Map<number, number>();
  /** Chats being filled, with the events that arrived meanwhile. */
  private readonly waiting = new Map<number, ChatEvent[]>();
  /** A save of the positions waiting to run. */
  private saving?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly store: PositionStore,
    private readonly hooks: SequencerHooks,
  ) {
    for (const [chat, seq] of Object.entries(store.load())) {
      if (Number.isSafeInteger(Number(chat)) && Number.isSafeInteger(seq)) {
        this.positions.set(Number(chat), seq);
      }
    }
  }

  /** The last seq processed in `chatId`, if the chat is followed. */
  position(chatId: number): number | undefined {
    return this.positions.get(chatId);
  }

  /** Every followed chat's position, as `resume` takes them. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.positions);
  }

  /** Starts following `chatId` at `seq` (a `ChatRead.last_seq`) unless already followed. */
  follow(chatId: number, seq: number): void {
    if (!this.positions.has(chatId)) this.set(chatId, seq);
  }

  /** Stops following `chatId` (left, deleted, refused). */
  forget(chatId: number): void {
    this.positions.delete(chatId);
    this.waiting.delete(chatId);
    this.persist();
  }

  /** Whether a gap of `chatId` is being filled. */
  filling(chatId: number): boolean {
    return this.waiting.has(chatId);
  }

  /** An event from the transport. */
  accept(event: ChatEvent): void {
    const waiting = this.waiting.get(event.chat_id);
    if (waiting) {
      waiting.push(event);
      return;
    }
    const position = this.positions.get(event.chat_id);
    // A chat not followed yet (created or joined while connected) starts here.
    if (position === undefined || event.seq === position + 1) {
      this.advance(event);
    } else if (event.seq > position + 1) {
      this.waiting.set(event.chat_id, [event]);
      void this.fill(event.chat_id);
    }
  }

  /** `resync_required`: nothing before `lastSeq` can be replayed. */
  resync(chatId: number, lastSeq: number): void {
    this.set(chatId, Math.max(lastSeq, this.positions.get(chatId) ?? 0));
    this.hooks.resync(chatId, lastSeq);
  }

  /**
   * Reads what `chatId`'s log holds after the position, then the events
   * that waited meanwhile; again (after a pause) while a gap remains.
   */
  async catchUp(chatId: number): Promise<void> {
    if (this.waiting.has(chatId) || !this.positions.has(chatId)) return;
    this.waiting.set(chatId, []);
    await this.fill(chatId);
  }

  private async fill(chatId: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.readLog(chatId);
      } catch (err) {
        const error = err instanceof ParleyError ? err : new ParleyError(0, 'network_error', String(err));
        if (!error.retryable) {
          this.forget(chatId);
          this.hooks.failed(chatId, error);
          return;
        }
        await sleep(this.hooks.backoff(attempt));
        if (!this.waiting.has(chatId)) return;
        continue;
      }
      const position = this.positions.get(chatId);
      const waiting = (this.waiting.get(chatId) ?? []).sort((a, b) => a.seq - b.seq);
      if (position === undefined) return;
      const pending = waiting.filter((event) => event.seq > position);
      if (pending.length === 0 || pending[0].seq === position + 1) {
        this.waiting.delete(chatId);
        for (const event of pending) this.accept(event);
        return;
      }
      // The log did not reach the waiting events yet: read again shortly.
      this.waiting.set(chatId, pending);
      await sleep(this.hooks.backoff(attempt));
    }
  }

  private async readLog(chatId: number): Promise<void> {
    for (;;) {
      const position = this.positions.get(chatId);
      if (position === undefined) return;
      const page = await this.hooks.fetchEvents(chatId, position);
      if (page.resync_required) {
        this.resync(chatId, page.last_seq);
        return;
      }
      for (const event of page.events as ChatEvent[]) {
        if (event.seq > (this.positions.get(chatId) ?? Infinity)) this.advance(event);
      }
      // Past events skipped over while the user was out of the chat.
      if (this.positions.has(chatId) && page.next_after_seq > (this.positions.get(chatId) ?? 0)) {
        this.set(chatId, page.next_after_seq);
      }
      if (!page.has_more) return;
    }
  }

  private advance(event: ChatEvent): void {
    this.set(event.chat_id, event.seq);
    const gone =
      event.type === 'chat_deleted' ||
      (event.type === 'member_left' && event.user_id === this.hooks.selfId());
    if (gone) this.forget(event.chat_id);
    this.hooks.deliver(event);
  }

  private set(chatId: number, seq: number): void {
    this.positions.set(chatId, seq);
    this.persist();
  }

  /**
   * Saves the positions once for a burst of events (a replay hands on
   * hundreds in one go): a position saved a little late only replays a few
   * events after a crash, which an app that upserts messages by id shows
   * once anyway.
   */
  private persist(): void {
    if (this.saving) return;
    this.saving = setTimeout(() => {
      this.saving = undefined;
      this.store.save(this.snapshot());
    }, SAVE_DELAY_MS);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
