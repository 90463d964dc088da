// Writes src/schema.ts: the types of Parley's OpenAPI document.
//
//   npm run generate                                # from a running server: $PARLEY_URL or http://127.0.0.1:8080
//   npm run generate -- http://127.0.0.1:8081       # from another one
//   npm run generate -- path/to/openapi.json        # from a file
//
// test/schema.test.ts checks that the committed file is what the served
// document generates, so a change of the API shows up as a failing test.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { schemaSource } from './schema-source.mjs';

const from = process.argv[2] ?? process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';
const document = /^https?:/.test(from)
  ? await (await fetch(new URL('/openapi.json', from))).json()
  : JSON.parse(await readFile(from, 'utf8'));
const target = fileURLToPath(new URL('../src/schema.ts', import.meta.url));
await writeFile(target, await schemaSource(document));
console.log(`wrote ${target}`);
