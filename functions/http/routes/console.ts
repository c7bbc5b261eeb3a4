/**
 * GET /console: the operators' web page (README "Console"). Static files that scripts/build-console.ts builds
 * from console/ into lib/console, read once per instance, served without authentication (they hold
 * no data: the page asks for the admin key and calls the admin API with it, as tokenctl does) under
 * a strict Content-Security-Policy. These are not API routes: functions/entries/token-server.ts adds
 * them beside fullRoutes(), so the OpenAPI document never lists them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { AppError } from '../../errors';
import type { Reply, Route } from '../types';

/**
 * Scripts and styles only from this origin and never inline, no plugins, no <base>, no form posts
 * anywhere (a form that JavaScript failed to handle cannot send the key), never framed, and DOM
 * sinks that parse HTML (innerHTML and the like) refused by the browser unless given a Trusted Type,
 * which the console never creates.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page itself is checked again on every load; its scripts and styles carry a content hash in their names. */
const PAGE_CACHE = 'no-cache';
const ASSET_CACHE = 'public, max-age=31536000, immutable';

interface ConsoleFile {
  contentType: string;
  text: string;
}

/** lib/console, beside lib/functions (this file is lib/functions/http/routes/console.js when built). */
export const CONSOLE_DIR = join(__dirname, '..', '..', '..', 'console');

/** Every file of the built console by name (a few tens of KiB). */
function readConsoleFiles(dir: string): Map<string, ConsoleFile> {
  const found = new Map<string, ConsoleFile>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // Not built: answered below as 503, like any other missing piece.
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType !== undefined)
      found.set(name, { contentType, text: readFileSync(join(dir, name), 'utf8') });
  }
  if (!found.has('index.html')) {
    throw new AppError('NOT_READY', 'The console is not built into this package (npm run build builds it)');
  }
  return found;
}

function fileReply(files: Map<string, ConsoleFile>, name: string): Reply {
  const file = files.get(name);
  if (file === undefined) throw new AppError('NOT_FOUND', `The console has no file ${name}`);
  return {
    body: undefined,
    raw: file,
    headers: { ...SECURITY_HEADERS, 'Cache-Control': name === 'index.html' ? PAGE_CACHE : ASSET_CACHE },
  };
}

/**
 * The page at /console and its files at /console/NAME. A browser that opened /console/ (with the
 * slash, which the router strips before matching) resolves the page's relative `console/NAME` to
 * /console/console/NAME: that form serves the same files, so the page loads either way.
 */
export function consoleRoutes(dir: string = CONSOLE_DIR): Route[] {
  // Read on first use, then kept for the instance's life.
  let files: Map<string, ConsoleFile> | undefined;
  const serve = (name: string): Reply => fileReply((files ??= readConsoleFiles(dir)), name);
  const file = (pattern: string): Route => ({
    method: 'GET',
    pattern,
    auth: 'none',
    handle: ({ req }) => serve(req.params.file ?? ''),
  });
  return [
    { method: 'GET', pattern: '/console', auth: 'none', handle: () => serve('index.html') },
    file('/console/:file'),
    file('/console/console/:file'),
  ];
}
