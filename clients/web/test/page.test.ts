// The web page end to end in headless Chromium (Debian's, driven by
// playwright-core): two people on two replicas, one of them behind a link
// that goes down and comes back. Screenshots go to $PARLEY_ARTIFACTS_DIR
// (default target/artifacts/).
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { FlakyProxy } from '../../typescript/test/proxy.js';

const replicaA = process.env.PARLEY_URL_A;
const replicaB = process.env.PARLEY_URL_B;
if (!replicaA || !replicaB) throw new Error('PARLEY_URL_A / PARLEY_URL_B are not set: run through scripts/test');
const artifacts = process.env.PARLEY_ARTIFACTS_DIR ?? new URL('../../../target/artifacts/', import.meta.url).pathname;

let browser: Browser;
let proxy: FlakyProxy;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  proxy = await FlakyProxy.start(replicaB);
  browser = await chromium.launch({
    executablePath: process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
});

/** A new person signed up on the page at `base`. */
async function signUp(base: string, name: string): Promise<{ page: Page; username: string }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${name}] page error:`, err));
  await page.goto(base + '/');
  const username = `${name}_${randomUUID().slice(0, 8)}`;
  const form = page.getByTestId('signup-form');
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Username', { exact: true }).fill(username);
  await form.getByLabel('Email', { exact: true }).fill(`${username}@example.com`);
  await form.getByLabel('Password', { exact: true }).fill(`${name}-password-1`);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect.poll(() => page.getByTestId('me').textContent()).toContain(`@${username}`);
  await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('live');
  return { page, username };
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').getByPlaceholder('Message').fill(text);
  await page.getByTestId('composer').getByRole('button', { name: 'Send' }).click();
}

/** The conversation's texts, in order, with each message's sender and status. */
async function shown(page: Page): Promise<{ texts: string[]; senders: string[]; statuses: string[] }> {
  const items = page.getByTestId('message');
  return {
    texts: await items.getByTestId('message-text').allTextContents(),
    senders: (await items.locator('.meta').allTextContents()).map((meta) => meta.split(' · ')[0]),
    statuses: await items.evaluateAll((nodes) => nodes.map((node) => (node as HTMLElement).dataset.status ?? '')),
  };
}

it('two people chat through two replicas; one goes offline and comes back; both end with the same history', async () => {
  const alice = await signUp(replicaA, 'alice');
  const bob = await signUp(proxy.url, 'bob');

  // Alice finds Bob and writes to him.
  await alice.page.getByTestId('new-chat').getByPlaceholder(/username/).fill(bob.username);
  await alice.page.getByTestId('new-chat').getByRole('button', { name: 'Find' }).click();
  await alice.page.locator(`[data-username="${bob.username}"]`).click();
  await send(alice.page, 'Hi Bob!');
  await expect.poll(async () => (await shown(alice.page)).texts).toEqual(['Hi Bob!']);

  // Bob's list shows the chat, unread, with Alice online.
  const chat = bob.page.getByTestId('chat').first();
  await expect.poll(() => chat.textContent()).toContain('alice');
  await expect.poll(() => chat.getByTestId('unread').textContent()).toBe('1');
  await expect.poll(() => chat.locator('.dot.online').count()).toBe(1);
  await chat.click();
  await expect.poll(async () => (await shown(bob.page)).texts).toEqual(['Hi Bob!']);
  expect((await shown(bob.page)).senders).toEqual(['alice']);
  await expect.poll(() => chat.getByTestId('unread').count()).toBe(0);
  // Alice sees it read, and Bob typing.
  await expect.poll(async () => (await shown(alice.page)).statuses).toEqual(['read']);
  await expect.poll(() => alice.page.getByTestId('chat-presence').textContent()).toBe('online');
  await bob.page.getByTestId('composer').getByPlaceholder('Message').pressSequentially('Hel');
  await expect.poll(() => alice.page.getByTestId('typing').textContent()).toBe('bob is typing…');
  await send(bob.page, 'Hello Alice');
  await expect.poll(async () => (await shown(alice.page)).texts).toEqual(['Hi Bob!', 'Hello Alice']);

  // Bob's link goes down: Alice writes on, Bob writes into the outage.
  proxy.cut();
  await expect.poll(() => bob.page.getByTestId('connection').getAttribute('data-state')).toBe('waiting');
  for (const text of ['Are you there?', 'Bob?', 'Hello?']) await send(alice.page, text);
  await send(bob.page, 'Tunnel, back soon');
  await expect.poll(async () => (await shown(bob.page)).statuses.at(-1)).toBe('pending');
  await bob.page.screenshot({ path: `${artifacts}/web-page-offline.png` });

  // Back online: nothing lost, nothing twice, the same order on both pages.
  proxy.restore();
  await expect.poll(() => bob.page.getByTestId('connection').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
  await expect.poll(async () => (await shown(bob.page)).texts.length, { timeout: 30_000 }).toBe(6);
  await expect.poll(async () => (await shown(alice.page)).texts.length).toBe(6);
  const seenByBob = (await shown(bob.page)).texts;
  expect(seenByBob).toEqual((await shown(alice.page)).texts);
  expect(new Set(seenByBob).size).toBe(6);
  expect(seenByBob.slice(0, 2)).toEqual(['Hi Bob!', 'Hello Alice']);
  expect(seenByBob.filter((text) => text !== 'Tunnel, back soon').slice(2)).toEqual(['Are you there?', 'Bob?', 'Hello?']);
  expect((await shown(bob.page)).statuses).not.toContain('pending');

  // A reload shows the same history from the server.
  await bob.page.reload();
  await bob.page.getByTestId('chat').first().click();
  await expect.poll(async () => (await shown(bob.page)).texts).toEqual(seenByBob);

  await alice.page.screenshot({ path: `${artifacts}/web-page.png` });
  await bob.page.screenshot({ path: `${artifacts}/web-page-bob.png` });
});
