// Bundles the web page's script (src/app.ts with @parley/client) into
// api/static/app.js, which parley-api includes in its binary beside
// src/index.html and src/app.css. `node build.mjs --check` builds in
// memory and fails when the committed bundle differs (the test command
// runs it).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = here('../../api/static/');
const check = process.argv.includes('--check');

const bundle = await esbuild.build({
  entryPoints: [here('src/app.ts')],
  alias: { '@parley/client': here('../typescript/src/index.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  write: false,
});

const files = { 'app.js': bundle.outputFiles[0].text };

await mkdir(out, { recursive: true });
let stale = [];
for (const [name, text] of Object.entries(files)) {
  const path = out + name;
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) continue;
  if (check) stale.push(path);
  else await writeFile(path, text);
}
if (stale.length) {
  console.error(`stale: ${stale.join(', ')}\nrun \`npm run build\` in clients/ and commit api/static/`);
  process.exit(1);
}
console.log(check ? 'api/static/ is up to date' : `built ${Object.keys(files).join(', ')} in ${out}`);
