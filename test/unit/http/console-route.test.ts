/**
 * The console's routes (functions/http/routes/console.ts) on a folder made here: the page and its
 * files with their types and headers, nothing but the built files, and a clear 503 when the console
 * was not built. The browser tests (test/e2e/console.test.ts) cover the real build.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../functions/errors';
import { CONSOLE_CSP, consoleRoutes } from '../../../functions/http/routes/console';
import type { Reply, Route, RouteContext } from '../../../functions/http/types';
import type { Runtime } from '../../../functions/runtime';

function call(routes: Route[], pattern: string, file?: string): Reply {
  const route = routes.find((r) => r.pattern === pattern);
  if (route === undefined) throw new Error(`no route ${pattern}`);
  const ctx: RouteContext = {
    req: {
      method: 'GET',
      path: pattern,
      query: {},
      body: undefined,
      headers: {},
      params: file === undefined ? {} : { file },
      requestId: 'test',
    },
    // The console's routes never touch the runtime (they serve files).
    runtime: {} as Runtime,
    logFields: {},
  };
  const reply = route.handle(ctx);
  if (reply instanceof Promise) throw new Error('the console answers without a promise');
  return reply;
}

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('console routes', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'console-route-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>c</title>');
    writeFileSync(join(dir, 'app-0123456789ab.js'), 'console.log(1)');
    writeFileSync(join(dir, 'app-0123456789ab.css'), 'body{}');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    mkdirSync(join(dir, 'empty'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the page under the CSP, not cached without a check', () => {
    const reply = call(consoleRoutes(dir), '/console');
    expect(reply.raw).to.deep.equal({
      contentType: 'text/html; charset=utf-8',
      text: '<!doctype html><title>c</title>',
    });
    expect(reply.headers).to.include({
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    expect(CONSOLE_CSP).to.not.include('unsafe');
  });

  it('serves its hashed files for good, at /console/NAME and /console/console/NAME', () => {
    const routes = consoleRoutes(dir);
    for (const pattern of ['/console/:file', '/console/console/:file']) {
      const js = call(routes, pattern, 'app-0123456789ab.js');
      expect(js.raw?.contentType).to.equal('text/javascript; charset=utf-8');
      expect(js.headers?.['Cache-Control']).to.equal('public, max-age=31536000, immutable');
      expect(call(routes, pattern, 'app-0123456789ab.css').raw?.contentType).to.equal(
        'text/css; charset=utf-8',
      );
    }
  });

  it('serves nothing else: other types, other names, paths out of the folder', () => {
    const routes = consoleRoutes(dir);
    for (const name of ['notes.txt', 'missing.js', '../index.html', 'empty', '']) {
      expect(errorOf(() => call(routes, '/console/:file', name)).code, name).to.equal('NOT_FOUND');
    }
  });

  it('answers 503 naming the build when the console was not built', () => {
    const err = errorOf(() => call(consoleRoutes(join(dir, 'empty')), '/console'));
    expect(err.code).to.equal('NOT_READY');
    expect(err.message).to.match(/npm run build/);
  });
});
