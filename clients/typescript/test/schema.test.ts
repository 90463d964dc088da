// The committed types are what the served OpenAPI document generates.
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

import { schemaSource } from '../scripts/schema-source.mjs';
import { stack } from './support.js';

it('src/schema.ts matches the served /openapi.json (else: npm run generate)', async () => {
  const document = await (await fetch(new URL('/openapi.json', stack.replicaA()))).json();
  const committed = await readFile(new URL('../src/schema.ts', import.meta.url), 'utf8');
  expect(committed === (await schemaSource(document)), 'src/schema.ts is stale: run `npm run generate` against a server').toBe(true);
});
