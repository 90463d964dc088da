// The web chat page Parley serves at `/`: sign up / log in, the chat list
// with unread counts, a conversation with live messages, typing, read
// receipts and presence. All the syncing (resume, gap fill, retried
// sends) is @parley/client's; this file only keeps what the page shows.
import {
  type ChatEvent,
  type ChatRead,
  type LiveEvent,
  type MessageRead,
  ParleyClient,
  ParleyError,
  type PositionStore,
  type Tokens,
  ok,
  webStoragePositions,
} from '@parley/client';

const TOKENS_KEY = 'parley.tokens';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A message as the page shows it: sent, or still waiting for its ack. */
interface Shown {
  key: string;
  seq: number;
  message?: MessageRead;
  pendingText?: string;
  mine: boolean;
  status: string;
}

const state = {
  me: undefined as { id: number; name: string; username: string } | undefined,
  chats: new Map<number, ChatRead>(),
  /** Per chat: its messages by id, and pending sends by client_message_id. */
  messages: new Map<number, Map<string, Shown>>(),
  loaded: new Set<number>(),
  current: undefined as number | undefined,
  typing: new Map<number, Map<number, { name: string; until: number }>>(),
  online: new Map<number, boolean>(),
  names: new Map<number, string>(),
};

let client: ParleyClient;

function storedTokens(): Tokens | undefined {
  try {
    return JSON.parse(localStorage.getItem(TOKENS_KEY) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

/** A client on this page's origin that keeps its tokens in `localStorage`. */
function newClient(tokens?: Tokens, positions?: PositionStore): ParleyClient {
  return new ParleyClient({
    baseUrl: '',
    tokens,
    onTokens: (next) => {
      if (next) localStorage.setItem(TOKENS_KEY, JSON.stringify(next));
      else localStorage.removeItem(TOKENS_KEY);
    },
    positions,
  });
}

// ---- signing in --------------------------------------------------------

function showAuth(error = ''): void {
  $('auth').hidden = false;
  $('app').hidden = true;
  $('auth-error').textContent = error;
}

async function signedIn(): Promise<void> {
  const me = await ok(client.rest.GET('/api/v1/auth/me'));
  state.me = { id: me.id, name: me.name, username: me.username };
  // Positions are kept per user, so that a reload resumes where it stopped.
  client = newClient(client.currentTokens(), webStoragePositions(localStorage, `parley.positions.${me.id}`));
  client.on('chatEvent', onChatEvent);
  client.on('liveEvent', onLiveEvent);
  client.on('resync', ({ chatId }) => void reloadChat(chatId));
  client.on('state', ({ state: connection, transport, retryInMs }) => showConnection(connection, transport, retryInMs));
  client.on('sessionEnded', () => showAuth('Your session ended: log in again.'));
  $('auth').hidden = true;
  $('app').hidden = false;
  $('me').textContent = `${me.name} (@${me.username})`;
  await loadChats();
  client.connect();
}

async function formSubmit(form: HTMLFormElement, run: (data: FormData) => Promise<void>): Promise<void> {
  const button = form.querySelector('button');
  if (button) button.disabled = true;
  $('auth-error').textContent = '';
  try {
    await run(new FormData(form));
  } catch (err) {
    $('auth-error').textContent = err instanceof Error ? err.message : String(err);
  } finally {
    if (button) button.disabled = false;
  }
}

$<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void formSubmit(event.target as HTMLFormElement, async (data) => {
    await client.login(String(data.get('email')), String(data.get('password')));
    await signedIn();
  });
});

$<HTMLFormElement>('signup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void formSubmit(event.target as HTMLFormElement, async (data) => {
    const email = String(data.get('email'));
    const password = String(data.get('password'));
    await ok(
      client.rest.POST('/api/v1/auth/register', {
        body: { email, password, name: String(data.get('name')), username: String(data.get('username')) },
      }),
    );
    await client.login(email, password);
    await signedIn();
  });
});

$('logout').addEventListener('click', () => {
  void (async () => {
    // Ends this session on the server too (its sockets close), then forgets it here.
    try {
      const sessions = await ok(client.rest.GET('/api/v1/auth/sessions'));
      const current = sessions.find((session) => session.current);
      if (current) await client.rest.DELETE('/api/v1/auth/sessions/{jti}', { params: { path: { jti: current.jti } } });
    } catch {
      // Offline: the tokens are forgotten all the same.
    }
    client.close();
    client.setTokens(undefined);
    location.reload();
  })();
});

// ---- the chat list -----------------------------------------------------

async function loadChats(): Promise<void> {
  for (const chat of await client.chats()) {
    state.chats.set(chat.id, chat);
    if (chat.counterpart_user_id != null) {
      state.online.set(chat.counterpart_user_id, chat.counterpart_is_online === true);
      if (chat.counterpart_name) state.names.set(chat.counterpart_user_id, chat.counterpart_name);
    }
  }
  renderChats();
}

function chatTitle(chat: ChatRead): string {
  return chat.display_title || chat.title || chat.counterpart_name || `Chat ${chat.id}`;
}

function renderChats(): void {
  const list = $('chats');
  list.replaceChildren();
  const chats = [...state.chats.values()].sort(
    (a, b) => (b.last_message_id ?? 0) - (a.last_message_id ?? 0) || b.id - a.id,
  );
  for (const chat of chats) {
    const item = document.createElement('li');
    item.dataset.chatId = String(chat.id);
    item.dataset.testid = 'chat';
    item.classList.toggle('current', chat.id === state.current);
    const title = document.createElement('span');
    title.className = 'title';
    if (chat.counterpart_user_id != null) {
      const dot = document.createElement('span');
      dot.className = 'dot';
      dot.classList.toggle('online', state.online.get(chat.counterpart_user_id) === true);
      title.append(dot);
    }
    title.append(chatTitle(chat));
    const last = document.createElement('span');
    last.className = 'last';
    last.textContent = chat.last_message_text ?? '';
    item.append(title, last);
    if (chat.unread_count > 0) {
      const unread = document.createElement('span');
      unread.className = 'unread';
      unread.dataset.testid = 'unread';
      unread.textContent = String(chat.unread_count);
      item.append(unread);
    }
    item.addEventListener('click', () => void openChat(chat.id));
    list.append(item);
  }
}

$<HTMLFormElement>('new-chat').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const query = String(new FormData(form).get('query'));
  void (async () => {
    const users = await ok(client.rest.GET('/api/v1/users/search', { params: { query: { query, limit: 10 } } }));
    const found = $('found');
    found.replaceChildren();
    for (const user of users.filter((u) => u.id !== state.me?.id)) {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.username = user.username;
      button.textContent = `${user.name} (@${user.username})`;
      button.addEventListener('click', async () => {
        const chat = await ok(client.rest.POST('/api/v1/chats', { body: { type: 'private', member_ids: [user.id] } }));
        found.replaceChildren();
        form.reset();
        await loadChats();
        await openChat(chat.id);
      });
      item.append(button);
      found.append(item);
    }
    if (found.children.length === 0) found.textContent = 'Nobody found.';
  })();
});

// ---- a conversation ----------------------------------------------------

function chatMessages(chatId: number): Map<string, Shown> {
  let messages = state.messages.get(chatId);
  if (!messages) state.messages.set(chatId, (messages = new Map()));
  return messages;
}

function putMessage(message: MessageRead): void {
  const messages = chatMessages(message.chat_id);
  // A pending send becomes its message.
  if (message.client_message_id) messages.delete(`pending:${message.client_message_id}`);
  messages.set(`id:${message.id}`, {
    key: `id:${message.id}`,
    seq: message.seq,
    message,
    mine: message.sender_id === state.me?.id,
    status: message.delivery_status,
  });
}

async function reloadChat(chatId: number): Promise<void> {
  state.loaded.delete(chatId);
  for (const [key, shown] of chatMessages(chatId)) if (shown.message) chatMessages(chatId).delete(key);
  await loadChats();
  if (state.current === chatId) await openChat(chatId);
}

async function openChat(chatId: number): Promise<void> {
  state.current = chatId;
  const chat = state.chats.get(chatId);
  $('chat-title').textContent = chat ? chatTitle(chat) : `Chat ${chatId}`;
  $('composer').hidden = false;
  client.joinRoom(chatId);
  if (!state.loaded.has(chatId)) {
    const detail = await ok(client.rest.GET('/api/v1/chats/{chat_id}', { params: { path: { chat_id: chatId } } }));
    for (const member of detail.members) state.names.set(member.user_id, member.nickname || member.name);
    for (const message of await client.history(chatId, { limit: 100 })) putMessage(message);
    state.loaded.add(chatId);
  }
  renderConversation();
  renderChats();
  markRead(chatId);
}

function markRead(chatId: number): void {
  const chat = state.chats.get(chatId);
  const newest = [...chatMessages(chatId).values()]
    .filter((shown) => shown.message && !shown.mine)
    .reduce((max, shown) => Math.max(max, shown.message!.id), 0);
  if (chat && chat.unread_count > 0) {
    chat.unread_count = 0;
    renderChats();
  }
  if (newest > 0 && document.visibilityState === 'visible') void client.markRead(chatId, newest).catch(() => {});
}

function renderConversation(): void {
  const list = $('messages');
  list.replaceChildren();
  const chatId = state.current;
  if (chatId === undefined) return;
  const shown = [...chatMessages(chatId).values()].sort((a, b) => a.seq - b.seq);
  for (const entry of shown) {
    const item = document.createElement('li');
    item.dataset.testid = 'message';
    item.dataset.status = entry.status;
    item.classList.toggle('mine', entry.mine);
    const text = document.createElement('span');
    text.className = 'text';
    text.dataset.testid = 'message-text';
    if (entry.message?.deleted) {
      item.classList.add('deleted');
      text.textContent = 'Message deleted';
    } else {
      text.textContent = entry.message?.text ?? entry.pendingText ?? '';
    }
    const meta = document.createElement('span');
    meta.className = 'meta';
    const who = entry.mine ? 'You' : (state.names.get(entry.message?.sender_id ?? 0) ?? 'Someone');
    const when = entry.message ? new Date(entry.message.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : 'sending…';
    meta.textContent = `${who} · ${when} `;
    if (entry.mine && entry.message) {
      const tick = document.createElement('span');
      tick.className = 'tick';
      tick.textContent = entry.status === 'sent' ? '✓' : '✓✓';
      tick.title = entry.status;
      meta.append(tick);
    }
    item.append(text, meta);
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
  renderPresence();
  renderTyping();
}

function renderPresence(): void {
  const chat = state.current === undefined ? undefined : state.chats.get(state.current);
  const user = chat?.counterpart_user_id;
  $('chat-presence').textContent = user == null ? '' : state.online.get(user) ? 'online' : 'offline';
}

function renderTyping(): void {
  const now = Date.now();
  const typing = state.current === undefined ? undefined : state.typing.get(state.current);
  const names = [...(typing?.values() ?? [])].filter((t) => t.until > now).map((t) => t.name);
  $('typing').textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}
setInterval(renderTyping, 1000);

let typingSentAt = 0;
let typingStop: ReturnType<typeof setTimeout> | undefined;
const composer = $<HTMLFormElement>('composer');
const input = composer.elements.namedItem('text') as HTMLInputElement;

input.addEventListener('input', () => {
  const chatId = state.current;
  if (chatId === undefined) return;
  if (Date.now() - typingSentAt > 2500) {
    typingSentAt = Date.now();
    client.typing(chatId, true);
  }
  clearTimeout(typingStop);
  typingStop = setTimeout(() => {
    typingSentAt = 0;
    client.typing(chatId, false);
  }, 4000);
});

composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const chatId = state.current;
  const text = input.value.trim();
  if (chatId === undefined || !text) return;
  input.value = '';
  clearTimeout(typingStop);
  typingSentAt = 0;
  client.typing(chatId, false);
  const clientMessageId = crypto.randomUUID();
  const messages = chatMessages(chatId);
  const lastSeq = Math.max(0, ...[...messages.values()].map((shown) => shown.seq));
  // Shown at once, after everything so far; replaced by the message on its ack.
  messages.set(`pending:${clientMessageId}`, {
    key: `pending:${clientMessageId}`,
    seq: lastSeq + 0.5,
    pendingText: text,
    mine: true,
    status: 'pending',
  });
  renderConversation();
  client.send({ chatId, text, clientMessageId }).then(
    (message) => {
      putMessage(message);
      if (state.current === chatId) renderConversation();
    },
    (err: ParleyError) => {
      messages.delete(`pending:${clientMessageId}`);
      if (state.current === chatId) renderConversation();
      alert(`Not sent: ${err.message}`);
    },
  );
});

// ---- realtime ----------------------------------------------------------

function onChatEvent(event: ChatEvent): void {
  const chat = state.chats.get(event.chat_id);
  switch (event.type) {
    case 'message_created':
    case 'message_updated': {
      if (state.loaded.has(event.chat_id)) putMessage(event.message);
      if (chat && event.type === 'message_created') {
        const mine = event.message.sender_id === state.me?.id;
        const viewing = state.current === event.chat_id && document.visibilityState === 'visible';
        // A list loaded after this message was written counts it already.
        const counted = event.message.id <= (chat.last_message_id ?? 0);
        if (!mine && !viewing && !counted) chat.unread_count += 1;
        if (!mine && viewing) markRead(event.chat_id);
        if (!counted) {
          chat.last_message_id = event.message.id;
          chat.last_message_text = event.message.text;
        }
      }
      break;
    }
    case 'message_deleted': {
      const shown = chatMessages(event.chat_id).get(`id:${event.message_id}`);
      if (shown?.message) shown.message = { ...shown.message, deleted: true, text: null };
      break;
    }
    case 'message_hidden':
      chatMessages(event.chat_id).delete(`id:${event.message_id}`);
      break;
    case 'chat_deleted':
      forgetChat(event.chat_id);
      break;
    case 'member_left':
      if (event.user_id === state.me?.id) forgetChat(event.chat_id);
      break;
    default:
      // A new chat, a rename, a member: the list says it best.
      if (!chat || event.type === 'chat_updated') void loadChats();
  }
  if (!chat && event.type === 'message_created') void loadChats();
  renderChats();
  if (state.current === event.chat_id) renderConversation();
}

function forgetChat(chatId: number): void {
  state.chats.delete(chatId);
  state.messages.delete(chatId);
  state.loaded.delete(chatId);
  if (state.current === chatId) {
    state.current = undefined;
    $('chat-title').textContent = 'Pick a chat';
    $('composer').hidden = true;
  }
}

function onLiveEvent(event: LiveEvent): void {
  switch (event.type) {
    case 'typing': {
      let typing = state.typing.get(event.chat_id);
      if (!typing) state.typing.set(event.chat_id, (typing = new Map()));
      if (event.is_typing) {
        const name = state.names.get(event.user_id) ?? 'Someone';
        typing.set(event.user_id, { name, until: Date.now() + event.expires_in_ms });
      } else {
        typing.delete(event.user_id);
      }
      renderTyping();
      return;
    }
    case 'presence':
      state.online.set(event.user_id, event.is_online);
      renderChats();
      renderPresence();
      return;
    case 'message_read':
    case 'message_delivered': {
      if (event.user_id === state.me?.id) return;
      const status = event.type === 'message_read' ? 'read' : 'delivered';
      for (const shown of chatMessages(event.chat_id).values()) {
        if (shown.mine && shown.message && shown.message.id <= event.message_id && shown.status !== 'read') {
          shown.status = status;
        }
      }
      if (state.current === event.chat_id) renderConversation();
      return;
    }
    case 'message_deleted':
      chatMessages(event.chat_id).delete(`id:${event.message_id}`);
      if (state.current === event.chat_id) renderConversation();
      return;
    default:
      return;
  }
}

function showConnection(connection: string, transport?: string, retryInMs?: number): void {
  const banner = $('connection');
  banner.dataset.state = connection;
  banner.textContent =
    connection === 'live'
      ? `Live (${transport === 'sse' ? 'SSE' : 'WebSocket'})`
      : connection === 'waiting'
        ? `Offline: reconnecting in ${Math.ceil((retryInMs ?? 0) / 1000)} s`
        : connection === 'closed'
          ? 'Disconnected'
          : 'Connecting…';
  // Back online: what changed while away shows in the list too.
  if (connection === 'live') void loadChats();
}

document.addEventListener('visibilitychange', () => {
  if (state.current !== undefined) markRead(state.current);
});

// ---- start -------------------------------------------------------------

client = newClient(storedTokens());
if (client.currentTokens()) {
  signedIn().catch((err) => showAuth(err instanceof ParleyError && err.status === 401 ? '' : String(err)));
} else {
  showAuth();
}
