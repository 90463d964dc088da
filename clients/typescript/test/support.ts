// What the tests share: the real Parley stack the test command started
// (tests/tests/integration/clients.rs passes its addresses), users made
// through the real API.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

import { ParleyClient, type ParleyClientOptions, type WebSocketConstructor, ok } from '../src/index.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through scripts/test (tests/tests/integration/clients.rs)`);
  return value;
}

/** Two replicas of one Parley, and its database. */
export const stack = {
  replicaA: () => required('PARLEY_URL_A'),
  replicaB: () => required('PARLEY_URL_B'),
  databaseUrl: () => required('DATABASE_URL'),
};

/** Runs `statement` on Parley's database (psql). */
export function sql(statement: string): string {
  return execFileSync('psql', [stack.databaseUrl(), '-At', '-v', 'ON_ERROR_STOP=1', '-c', statement], {
    encoding: 'utf8',
  });
}

export interface TestUser {
  id: number;
  email: string;
  password: string;
  client: ParleyClient;
}

/** A new user, signed in with a client on `baseUrl` (its sockets through the `ws` package). */
export async function newUser(
  name: string,
  baseUrl = stack.replicaA(),
  options: Partial<ParleyClientOptions> = {},
): Promise<TestUser> {
  const suffix = randomUUID().slice(0, 8);
  const email = `${name}-${suffix}@example.com`;
  const password = `${name}-password-${suffix}`;
  const client = makeClient(baseUrl, options);
  const me = await ok(
    client.rest.POST('/api/v1/auth/register', {
      body: { email, password, name, username: `${name}_${suffix}` },
    }),
  );
  await client.login(email, password);
  return { id: me.user!.id, email, password, client };
}

/** A client on `baseUrl` whose sockets come from the `ws` package (Node 20 has none of its own). */
export function makeClient(baseUrl: string, options: Partial<ParleyClientOptions> = {}): ParleyClient {
  return new ParleyClient({
    baseUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    backoff: { initialMs: 50, maxMs: 500 },
    ...options,
  });
}

/** A private chat of `a` with `b`; its id. */
export async function privateChat(a: TestUser, b: TestUser): Promise<number> {
  const chat = await ok(
    a.client.rest.POST('/api/v1/chats', { body: { type: 'private', member_ids: [b.id] } }),
  );
  return chat.id;
}

/** Waits until `condition()` holds (polled every 20 ms), at most `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export { FlakyProxy } from './proxy.js';
