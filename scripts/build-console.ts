/**
 * Builds the console (SPEC §14) into lib/console, which http/routes/console.ts serves: esbuild bundles
 * console/src/main.ts with Preact and htm into one minified script and minifies console/app.css; each
 * is named by a digest of its content (so browsers may keep them for good), and console/index.html is
 * written with those names. Run by `npm run build` after tsc (node lib/scripts/build-console.js).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The repository root (this file runs as lib/scripts/build-console.js). */
const ROOT = join(__dirname, '..', '..');
const SOURCE = join(ROOT, 'console');
const OUT = join(ROOT, 'lib', 'console');

async function bundle(entry: string, outfile: string): Promise<string> {
  const result = await build({
    entryPoints: [join(SOURCE, entry)],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022'],
    write: false,
    logLevel: 'warning',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return out.text;
}

/** `app-<12 hex of sha256>.js`. */
function hashedName(base: string, ext: string, text: string): string {
  return `${base}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}${ext}`;
}

/** Replaces `from` exactly once (a template that lost its reference fails the build). */
function replaceOnce(page: string, from: string, to: string): string {
  const parts = page.split(from);
  if (parts.length !== 2) throw new Error(`console/index.html must reference ${from} exactly once`);
  return parts.join(to);
}

async function main(): Promise<void> {
  const script = await bundle(join('src', 'main.ts'), 'app.js');
  const styles = await bundle('app.css', 'app.css');
  const scriptName = hashedName('app', '.js', script);
  const stylesName = hashedName('app', '.css', styles);
  let page = readFileSync(join(SOURCE, 'index.html'), 'utf8');
  page = replaceOnce(page, 'console/app.js', `console/${scriptName}`);
  page = replaceOnce(page, 'console/app.css', `console/${stylesName}`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, scriptName), script);
  writeFileSync(join(OUT, stylesName), styles);
  writeFileSync(join(OUT, 'index.html'), page);
}

main().catch((err: unknown) => {
  process.stderr.write(`build-console: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
