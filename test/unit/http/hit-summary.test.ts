/**
 * Token hits are counted, not logged one by one at info: one summary line per secret per interval
 * (counts by source), flushed on an unref'd timer and at exit; misses and errors keep their request
 * lines, and at debug every hit still gets its own (DEBUG) line.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseConfig } from '../../../functions/config';
import { createHandler } from '../../../functions/http/app';
import { HitSummary, hitSummary } from '../../../functions/http/hit-summary';
import { cacheRoutes, fullRoutes } from '../../../functions/http/routes';
import { setLogSink } from '../../../functions/log';
import { createRuntime } from '../../../functions/runtime';
import { callHandler } from '../../helpers/fake-express';
import { repoRoot } from '../../helpers/processes';
import { makeEngine, newStore, ScriptedProvider, seed } from '../engine/engine-harness';
import { ManualClock } from '../../../functions/clock';

type Entry = Record<string, unknown>;

function capture(): { entries: () => Entry[]; restore: () => void } {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  return {
    entries: () => lines.map((l) => JSON.parse(l) as Entry),
    restore: () => void setLogSink(previous),
  };
}

describe('hit summary', () => {
  describe('HitSummary', () => {
    it('counts hits per function and secret by source, and logs one line per secret when flushed', () => {
      const log = capture();
      try {
        let now = 1_000;
        const summary = new HitSummary(60_000, () => now);
        summary.count('tokenServerCache', 'wx', 'a', 'memory', 1);
        summary.count('tokenServerCache', 'wx', 'a', 'memory', 3);
        summary.count('tokenServerCache', 'wx', 'a', 'database', 5);
        summary.count('tokenServerCache', 'wx', 'b', 'memory', 2);
        summary.count('tokenServer', 'wx', 'a', 'database', 4);
        expect(summary.pending()).to.equal(5);
        expect(log.entries()).to.deep.equal([]);
        now = 31_000;
        summary.flush();
        const lines = log.entries();
        expect(lines).to.have.length(3);
        expect(lines[0]).to.include({
          severity: 'INFO',
          event: 'token_hits',
          message: '3 token hits on wx/a',
          function: 'tokenServerCache',
          realm: 'wx',
          key: 'a',
          hits: 3,
          memory: 2,
          database: 1,
          intervalMs: 30_000,
          latencyMsAvg: 3,
          latencyMsMax: 5,
        });
        expect(lines[1]).to.include({ key: 'b', hits: 1, memory: 1, database: 0 });
        expect(lines[2]).to.include({ function: 'tokenServer', key: 'a', hits: 1, database: 1 });
        // Counting starts over: nothing left, and an empty flush logs nothing.
        expect(summary.pending()).to.equal(0);
        summary.flush();
        expect(log.entries()).to.have.length(3);
      } finally {
        log.restore();
      }
    });

    it('flushes by itself one interval after the first hit', async () => {
      const log = capture();
      try {
        const summary = new HitSummary(50);
        summary.count('f', 'wx', 'a', 'memory', 1);
        summary.count('f', 'wx', 'a', 'memory', 1);
        const deadline = Date.now() + 10_000;
        while (log.entries().length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(log.entries()).to.have.length(1);
        expect(log.entries()[0]).to.include({ event: 'token_hits', hits: 2 });
        expect(summary.pending()).to.equal(0);
      } finally {
        log.restore();
      }
    });

    it('never keeps a process alive, and logs what it counted when the process exits', () => {
      const module = join(repoRoot(), 'lib', 'functions', 'http', 'hit-summary.js');
      const script = `const { hitSummary } = require(${JSON.stringify(module)});
        hitSummary.count('tokenServerCache', 'wx', 'main', 'memory', 1);
        hitSummary.count('tokenServerCache', 'wx', 'main', 'memory', 2);`;
      const started = Date.now();
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(child.status, child.stderr).to.equal(0);
      // The 60 s timer did not hold the process (spawnSync would have timed out at 30 s).
      expect(Date.now() - started).to.be.below(30_000);
      const lines = child.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Entry);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ event: 'token_hits', key: 'main', hits: 2, memory: 2 });
    });
  });

  describe('through the HTTP handler', () => {
    const ADMIN_KEY = 'an-admin-key-of-at-least-32-characters-long';

    async function app(level: 'info' | 'debug', name: 'tokenServer' | 'tokenServerCache') {
      const clock = new ManualClock();
      const store = newStore();
      await seed(store, clock, 'wx', ['s1']);
      const config = parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_LOG_LEVEL: level });
      const runtime = await createRuntime(config, {
        clock,
        store,
        keys: { adminKey: ADMIN_KEY, masterKey: Buffer.alloc(32, 7), problems: {} },
      });
      const provider = new ScriptedProvider();
      runtime.engine = makeEngine(store, clock, provider);
      const handler = createHandler({
        name,
        routes: name === 'tokenServer' ? fullRoutes() : cacheRoutes(),
        runtime: async () => runtime,
        readyRuntime: () => runtime,
      });
      const get = (url: string) => callHandler(handler, { url, bearer: ADMIN_KEY });
      return { get, provider };
    }

    let log: ReturnType<typeof capture>;
    beforeEach(() => {
      hitSummary.flush();
      log = capture();
    });
    afterEach(() => {
      hitSummary.flush();
      log.restore();
    });
    const requestLines = () => log.entries().filter((e) => e.event === 'request');

    it('at info, logs the miss and errors one by one but no hit, and counts the hits by source', async () => {
      const { get, provider } = await app('info', 'tokenServerCache');
      const first = await get('/api/token?realm=wx&key=s1');
      expect(first.body).to.include({ source: 'upstream' });
      for (let i = 0; i < 20; i++) {
        const hit = await get('/api/token?realm=wx&key=s1');
        expect(hit.status).to.equal(200);
        expect(hit.body).to.include({ source: 'memory' });
      }
      const missing = await get('/api/token?realm=wx&key=nope');
      expect(missing.status).to.equal(404);
      const flushed = await get('/api/token?realm=wx&key=s1&flush=true');
      expect(flushed.status).to.equal(200);
      expect(provider.calls).to.equal(1);
      // A flush is never a hit, even when its minimum interval has it served the stored token.
      // Its line says why it was served without a call (the request line's `reason`).
      expect(requestLines().map((e) => [e.status, e.source, e.reason, e.key])).to.deep.equal([
        [200, 'upstream', undefined, 's1'],
        [404, undefined, undefined, 'nope'],
        [200, 'database', 'fresh', 's1'],
      ]);
      expect(log.entries().filter((e) => e.event === 'token_hits')).to.deep.equal([]);
      hitSummary.flush();
      const summaries = log.entries().filter((e) => e.event === 'token_hits');
      expect(summaries).to.have.length(1);
      expect(summaries[0]).to.include({
        function: 'tokenServerCache',
        realm: 'wx',
        key: 's1',
        hits: 20,
        memory: 20,
        database: 0,
      });
    });

    it('counts database hits of tokenServer (the engine served its first read)', async () => {
      const { get } = await app('info', 'tokenServer');
      await get('/api/token?realm=wx&key=s1');
      for (let i = 0; i < 5; i++)
        expect((await get('/api/token?realm=wx&key=s1')).body).to.include({ source: 'database' });
      expect(requestLines()).to.have.length(1);
      hitSummary.flush();
      const summary = log.entries().find((e) => e.event === 'token_hits');
      expect(summary).to.include({ function: 'tokenServer', hits: 5, memory: 0, database: 5 });
    });

    it('at debug, still writes one DEBUG request line per hit beside the summary', async () => {
      const { get } = await app('debug', 'tokenServerCache');
      for (let i = 0; i < 4; i++) await get('/api/token?realm=wx&key=s1');
      const lines = requestLines();
      expect(lines.map((e) => [e.severity, e.source])).to.deep.equal([
        ['INFO', 'upstream'],
        ['DEBUG', 'memory'],
        ['DEBUG', 'memory'],
        ['DEBUG', 'memory'],
      ]);
      hitSummary.flush();
      expect(log.entries().find((e) => e.event === 'token_hits')).to.include({ hits: 3, memory: 3 });
    });
  });
});
