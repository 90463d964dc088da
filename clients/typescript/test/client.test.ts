// @parley/client against a real Parley: two replicas, PostgreSQL, Redis.
import { afterEach, describe, expect, it } from 'vitest';

import { type ChatEvent, type ConnectionState, type MessageRead, ParleyError, memoryPositions, ok } from '../src/index.js';
import { FlakyProxy, type TestUser, makeClient, newUser, privateChat, sql, stack, until } from './support.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Everything `user`'s client hands on, and its states. */
function record(user: TestUser) {
  const events: ChatEvent[] = [];
  const states: ConnectionState[] = [];
  const resyncs: { chatId: number; lastSeq: number }[] = [];
  user.client.on('chatEvent', (event) => events.push(event));
  user.client.on('state', ({ state }) => states.push(state));
  user.client.on('resync', (resync) => resyncs.push(resync));
  cleanups.push(() => user.client.close());
  const texts = (chatId: number) =>
    events
      .filter((e) => e.chat_id === chatId && e.type === 'message_created')
      .map((e) => (e as { message: MessageRead }).message.text);
  const seqs = (chatId: number) => events.filter((e) => e.chat_id === chatId).map((e) => e.seq);
  return { events, states, resyncs, texts, seqs };
}

async function proxyTo(target: string): Promise<FlakyProxy> {
  const proxy = await FlakyProxy.start(target);
  cleanups.push(() => proxy.stop());
  return proxy;
}

/** `count` messages from `user` to `chatId` over REST, one after another; their texts. */
async function sendMany(user: TestUser, chatId: number, prefix: string, count: number): Promise<string[]> {
  const texts = [];
  for (let i = 0; i < count; i++) {
    const text = `${prefix} ${i}`;
    await user.client.send({ chatId, text });
    texts.push(text);
  }
  return texts;
}

/** Alice, and Bob signed in at `bobBase`, connected and live, in a private chat. */
async function liveChat(bobBase: string) {
  const alice = await newUser('alice');
  const bob = await newUser('bob', bobBase);
  const chat = await privateChat(alice, bob);
  const seen = record(bob);
  await bob.client.chats();
  bob.client.connect();
  await until(() => seen.states.includes('live'), 'bob live');
  return { alice, bob, chat, seen };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('REST', () => {
  it('calls are typed and refusals are ParleyErrors with the server code', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const carol = await newUser('carol');
    const chat = await privateChat(alice, bob);
    const chats = await bob.client.chats();
    expect(chats.map((c) => c.id)).toContain(chat);
    const refused = await carol.client.history(chat).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ParleyError);
    expect(refused).toMatchObject({ status: 403, code: 'not_a_member', retryable: false });
    const wrong = await makeClient(stack.replicaA())
      .login(alice.email, 'not the password')
      .catch((err: unknown) => err);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });
});

describe('realtime over WebSocket', () => {
  it('hands on every event once, in order, across replicas; sends resolve with the acknowledged message', async () => {
    const alice = await newUser('alice', stack.replicaA());
    const bob = await newUser('bob', stack.replicaB());
    const chat = await privateChat(alice, bob);
    const seen = record(bob);
    await bob.client.chats();
    const start = bob.client.position(chat)!;
    bob.client.connect();
    await until(() => seen.states.includes('live'), 'bob live');
    alice.client.connect();
    cleanups.push(() => alice.client.close());
    await until(() => alice.client.transport === 'websocket' && seen.states.includes('live'), 'alice live');
    const sent = await Promise.all(range(1, 20).map((i) => alice.client.send({ chatId: chat, text: `m${i}` })));
    expect(sent.map((m) => m.text)).toEqual(range(1, 20).map((i) => `m${i}`));
    expect(new Set(sent.map((m) => m.id)).size).toBe(20);
    await until(() => seen.texts(chat).length === 20, '20 messages at bob');
    expect(seen.texts(chat)).toEqual(range(1, 20).map((i) => `m${i}`));
    expect(seen.seqs(chat)).toEqual(range(start + 1, start + 20));
    expect(bob.client.transport).toBe('websocket');
  });

  it('reconnects after the link breaks and resumes without losing or repeating an event', async () => {
    const proxy = await proxyTo(stack.replicaB());
    const { alice, chat, seen } = await liveChat(proxy.url);
    const before = await sendMany(alice, chat, 'before', 3);
    await until(() => seen.texts(chat).length === 3, 'the first 3');
    proxy.cut();
    await until(() => seen.states.includes('waiting'), 'bob notices');
    const during = await sendMany(alice, chat, 'during', 5);
    proxy.restore();
    await until(() => seen.states.filter((s) => s === 'live').length >= 2, 'bob live again');
    const after = await sendMany(alice, chat, 'after', 2);
    await until(() => seen.texts(chat).length === 10, 'all 10 at bob');
    expect(seen.texts(chat)).toEqual([...before, ...during, ...after]);
    const seqs = seen.seqs(chat);
    expect(seqs).toEqual(range(seqs[0], seqs[0] + 9));
  });

  it('drops a silent link by its heartbeat and reconnects', async () => {
    const proxy = await proxyTo(stack.replicaA());
    const { alice, chat, seen } = await liveChat(proxy.url);
    proxy.freeze();
    const during = await sendMany(alice, chat, 'frozen', 3);
    // Nothing closes the frozen link: only the client's heartbeat can notice.
    await until(() => seen.states.filter((s) => s === 'live').length >= 2, 'bob live on a new link');
    await until(() => seen.texts(chat).length === 3, 'the 3 sent meanwhile');
    expect(seen.texts(chat)).toEqual(during);
  });

  it('fills a gap seen in live events from the log, before the event after it', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const chat = await privateChat(alice, bob);
    const { last_seq: start } = await ok(
      bob.client.rest.GET('/api/v1/chats/{chat_id}', { params: { path: { chat_id: chat } } }),
    );
    const missed = await sendMany(alice, chat, 'missed', 3);
    // Connected with no position in the chat; then told where the app stood
    // (a chat list loaded before those three were written).
    const seen = record(bob);
    bob.client.connect();
    await until(() => seen.states.includes('live'), 'live');
    bob.client.follow(chat, start);
    await alice.client.send({ chatId: chat, text: 'live' });
    await until(() => seen.texts(chat).length === 4, 'all 4');
    expect(seen.texts(chat)).toEqual([...missed, 'live']);
    expect(seen.seqs(chat)).toEqual(range(start + 1, start + 4));
  });

  it('answers resync_required when the log no longer reaches back, then goes on live', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const chat = await privateChat(alice, bob);
    await sendMany(alice, chat, 'old', 4);
    // Retention removed the chat's oldest events.
    sql(`DELETE FROM chat_events WHERE chat_id = ${chat} AND seq <= 3`);
    const reader = makeClient(stack.replicaB(), { tokens: bob.client.currentTokens(), positions: memoryPositions({ [chat]: 1 }) });
    const seen = record({ ...bob, client: reader });
    reader.connect();
    await until(() => seen.resyncs.length === 1, 'resync');
    const { last_seq } = await ok(reader.rest.GET('/api/v1/chats/{chat_id}', { params: { path: { chat_id: chat } } }));
    expect(seen.resyncs).toEqual([{ chatId: chat, lastSeq: last_seq }]);
    expect(seen.events).toEqual([]);
    await until(() => seen.states.includes('live'), 'live');
    await alice.client.send({ chatId: chat, text: 'new' });
    await until(() => seen.texts(chat).length === 1, 'the new message');
    expect(seen.texts(chat)).toEqual(['new']);
    expect(seen.seqs(chat)).toEqual([last_seq + 1]);
  });

  it('retries sends through an outage until acknowledged, each written once and in order', async () => {
    const alice = await newUser('alice');
    const proxy = await proxyTo(stack.replicaA());
    const sender = makeClient(proxy.url, { tokens: alice.client.currentTokens() });
    const bob = await newUser('bob');
    const chat = await privateChat(alice, bob);
    const states: ConnectionState[] = [];
    sender.on('state', ({ state }) => states.push(state));
    cleanups.push(() => sender.close());
    sender.connect();
    await until(() => states.includes('live'), 'sender live');
    proxy.cut();
    const sends = ['one', 'two', 'three'].map((text) => sender.send({ chatId: chat, text }));
    expect(sender.pendingSends).toBe(3);
    await until(() => states.includes('waiting'), 'the outage noticed');
    proxy.restore();
    const messages = await Promise.all(sends);
    expect(messages.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    const history = await bob.client.history(chat);
    expect(history.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    // The same key again is the same message.
    const again = await sender.send({ chatId: chat, text: 'one', clientMessageId: messages[0].client_message_id! });
    expect(again.id).toBe(messages[0].id);
    expect((await bob.client.history(chat)).length).toBe(3);
  });

  it('rejects a send that no retry can change, and goes on with the next', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const carol = await newUser('carol');
    const chat = await privateChat(alice, bob);
    const seen = record(carol);
    carol.client.connect();
    await until(() => seen.states.includes('live'), 'carol live');
    const refused = carol.client.send({ chatId: chat, text: 'let me in' }).catch((err: unknown) => err);
    const own = await privateChat(carol, bob);
    const fine = await carol.client.send({ chatId: own, text: 'hello' });
    expect(await refused).toMatchObject({ code: 'not_a_member' });
    expect(fine.text).toBe('hello');
    expect(carol.client.pendingSends).toBe(0);
    expect((await alice.client.history(chat)).length).toBe(0);
  });
});

describe('realtime over SSE', () => {
  it('falls back to SSE where WebSockets are refused, and resumes a broken stream from its last id', async () => {
    const proxy = await proxyTo(stack.replicaB());
    proxy.refuseWebSockets = true;
    const { alice, bob, chat, seen } = await liveChat(proxy.url);
    expect(bob.client.transport).toBe('sse');
    expect(proxy.upgradesSeen).toBe(2);
    const first = await sendMany(alice, chat, 'first', 3);
    await until(() => seen.texts(chat).length === 3, 'the first 3');
    proxy.cut();
    await until(() => seen.states.includes('waiting'), 'bob notices');
    const during = await sendMany(alice, chat, 'during', 4);
    proxy.restore();
    await until(() => seen.texts(chat).length === 7, 'all 7');
    expect(seen.texts(chat)).toEqual([...first, ...during]);
    const seqs = seen.seqs(chat);
    expect(seqs).toEqual(range(seqs[0], seqs[0] + 6));
    expect(proxy.upgradesSeen).toBe(2);
  });

  it('fills the gap between stored positions and a new stream from the log', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const chat = await privateChat(alice, bob);
    const { last_seq: start } = await ok(
      bob.client.rest.GET('/api/v1/chats/{chat_id}', { params: { path: { chat_id: chat } } }),
    );
    const missed = await sendMany(alice, chat, 'missed', 5);
    // A client that stopped at `start` opens a stream with no Last-Event-ID.
    const reader = makeClient(stack.replicaA(), {
      tokens: bob.client.currentTokens(),
      transport: 'sse',
      positions: memoryPositions({ [chat]: start }),
    });
    const seen = record({ ...bob, client: reader });
    reader.connect();
    await until(() => seen.states.includes('live'), 'live');
    const live = await sendMany(alice, chat, 'live', 2);
    await until(() => seen.texts(chat).length === 7, 'all 7');
    expect(seen.texts(chat)).toEqual([...missed, ...live]);
    expect(seen.seqs(chat)).toEqual(range(start + 1, start + 7));
  });
});
