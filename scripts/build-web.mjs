#!/usr/bin/env node
// Builds the web pages' client into the Workers Static Assets directory (public/, served through
// wrangler.toml's [assets]): web/src/main.ts bundled by esbuild into public/-/ui/app.js,
// web/src/charts.ts (uPlot and the delivery charts, minified) into public/-/ui/charts.js,
// web/views.css (with uPlot's stylesheet) into public/-/ui/views.css, and the files of
// web/static/ (stylesheet, favicon) copied beside them. public/_headers is committed; the rest of
// public/ is build output (git-ignored).
//
// Run by wrangler's [build] command (so `wrangler dev`, `npm start` and `wrangler deploy` build
// first), by vitest.config.ts (so `npm test` and `npx vitest run` see fresh assets), and by hand:
// `node scripts/build-web.mjs`. Importable: `buildWeb()` resolves when the files are written.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the client's files are served from: `/-/ui/` (and `/favicon.ico` at the root). */
export const UI_DIR = join(root, 'public', '-', 'ui');

/** esbuild options of the client's scripts (each a self-contained browser script). */
const SCRIPT = { bundle: true, format: 'iife', platform: 'browser', target: 'es2022', legalComments: 'none', logLevel: 'warning' };

/** Bundle the client and copy the static files; resolves when everything is written. */
export async function buildWeb() {
  mkdirSync(UI_DIR, { recursive: true });
  await build({ ...SCRIPT, entryPoints: [join(root, 'web', 'src', 'main.ts')], outfile: join(UI_DIR, 'app.js'), minify: false });
  // The delivery charts with uPlot, minified, loaded by the client when a delivery log first opens.
  await build({ ...SCRIPT, entryPoints: [join(root, 'web', 'src', 'charts.ts')], outfile: join(UI_DIR, 'charts.js'), minify: true });
  // The log and streams views' stylesheet, with uPlot's own (linked by web/src/styles.ts).
  await build({
    entryPoints: [join(root, 'web', 'views.css')],
    outfile: join(UI_DIR, 'views.css'),
    bundle: true,
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const statics = join(root, 'web', 'static');
  for (const name of readdirSync(statics)) {
    copyFileSync(join(statics, name), name === 'favicon.ico' ? join(root, 'public', name) : join(UI_DIR, name));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb();
}
