/**
 * The parallel workers of run-tests.ts: how files are dealt, which project each worker gets, how many
 * workers run, spec globs, and the leak check across workers' dumps (a planted leak: a secret one
 * worker registered, found in what another worker saw). The check across dumps runs in a child
 * process, so that the planted secrets never enter this run's own registry.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryDump } from '../../helpers/leak-registry';
import {
  expandSpec,
  expectedSeconds,
  globToRegExp,
  readTimings,
  saveTimings,
  secondsFrom,
  splitFiles,
  workerCount,
  workerProject,
} from '../../helpers/run-workers';

describe('run-tests workers (run-workers.ts)', () => {
  it('deals files longest first to the least loaded worker, each list in run order', () => {
    const seconds: Record<string, number> = { a: 1, b: 50, c: 30, d: 25, e: 1, f: 2 };
    const files = ['a', 'b', 'c', 'd', 'e', 'f'];
    const shares = splitFiles(files, 2, (f) => seconds[f]!);
    // b (50) to 1, c (30) to 2, d (25) to 2 (55), f (2) to 1 (52), a (1) to 1 (53), e (1) to 1 (54).
    expect(shares).to.deep.equal([
      ['a', 'b', 'e', 'f'],
      ['c', 'd'],
    ]);
    expect(shares.flat().sort()).to.deep.equal(files);
    expect(splitFiles(['a'], 3, () => 1)).to.deep.equal([['a']]); // never an empty worker
    expect(splitFiles(files, 1)).to.deep.equal([files]);
  });

  it('expects the named slow files, and others by their suite', () => {
    expect(expectedSeconds('lib/test/e2e/realworld-skew.test.js')).to.be.above(30);
    expect(expectedSeconds('lib/test/unit/config/config.test.js')).to.equal(1);
    expect(expectedSeconds('lib/test/e2e/some-new.test.js')).to.equal(12);
  });

  it('keeps the files’ wall times between runs and deals the next run by them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-timings-'));
    try {
      const path = join(dir, 'file-timings.json');
      expect(readTimings(path)).to.deep.equal({}); // none yet
      saveTimings(path, [
        [{ file: 'lib/test/e2e/a.test.js', ms: 5_000 }],
        [{ file: 'lib/test/e2e/b.test.js', ms: 1 }],
      ]);
      saveTimings(path, [[{ file: 'lib/test/e2e/b.test.js', ms: 9_000 }]]); // a later run updates b only
      expect(readTimings(path)).to.deep.equal({
        'lib/test/e2e/a.test.js': 5_000,
        'lib/test/e2e/b.test.js': 9_000,
      });
      const seconds = secondsFrom(readTimings(path));
      expect(seconds('lib/test/e2e/b.test.js')).to.equal(9);
      expect(seconds('lib/test/e2e/new.test.js')).to.equal(12); // not timed yet: by its suite
      writeFileSync(path, 'not json');
      expect(readTimings(path)).to.deep.equal({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each worker its own project, the first the usual one', () => {
    expect([0, 1, 2].map((i) => workerProject('demo-token-server', i))).to.deep.equal([
      'demo-token-server',
      'demo-token-server-w2',
      'demo-token-server-w3',
    ]);
  });

  it('runs two mocha processes unless TEST_WORKERS says otherwise', () => {
    expect(workerCount({})).to.equal(2);
    expect(workerCount({ TEST_WORKERS: '1' })).to.equal(1);
    expect(workerCount({ TEST_WORKERS: '2' })).to.equal(2);
    expect(workerCount({ TEST_WORKERS: '3' })).to.equal(3);
    expect(workerCount({ TEST_WORKERS: 'many' })).to.equal(2);
    expect(workerCount({ TEST_WORKERS: '0' })).to.equal(2);
    expect(workerCount({ TEST_WORKERS: '99' })).to.equal(8);
  });

  it('expands spec globs like mocha does', () => {
    expect(globToRegExp('lib/test/**/*.test.js').test('lib/test/e2e/a.test.js')).to.equal(true);
    expect(globToRegExp('lib/test/**/*.test.js').test('lib/test/a.test.js')).to.equal(true);
    expect(globToRegExp('lib/test/**/*.test.js').test('lib/test/unit/x/a.test.js')).to.equal(true);
    expect(globToRegExp('lib/test/e2e/*.test.js').test('lib/test/e2e/x/a.test.js')).to.equal(false);
    expect(globToRegExp('lib/test/e2e/*.test.js').test('lib/test/e2e/a.test.jsx')).to.equal(false);
    const root = mkdtempSync(join(tmpdir(), 'run-workers-'));
    try {
      for (const dir of ['lib/test/unit/x', 'lib/test/e2e']) mkdirSync(join(root, dir), { recursive: true });
      for (const file of ['lib/test/unit/x/b.test.js', 'lib/test/unit/a.test.js', 'lib/test/e2e/c.test.js'])
        writeFileSync(join(root, file), '');
      writeFileSync(join(root, 'lib/test/unit/helper.js'), '');
      expect(expandSpec(root, 'lib/test/unit/**/*.test.js')).to.deep.equal([
        'lib/test/unit/a.test.js',
        'lib/test/unit/x/b.test.js',
      ]);
      expect(expandSpec(root, 'lib/test/e2e/c.test.js')).to.deep.equal(['lib/test/e2e/c.test.js']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe('the leak check across workers (leaksAcrossWorkers)', () => {
    // Made up here, never registered in this process.
    const credential = ['Qx7Zk2Vb', 'cR9dLp3s', 'Ht5n'].join('');
    const clientKey = ['Wm4Ty8Rn', 'gK2jBv6f', 'Ux1e'].join('');

    function dump(over: Partial<RegistryDump>): RegistryDump {
      return { secrets: [], responses: [], logs: [], documents: [], ...over };
    }

    type Result = { ok: boolean; line: string; findings: string[] };

    /**
     * leaksAcrossWorkers over each scenario's dumps (undefined: no file), in one child process, with
     * a fresh registry per scenario.
     */
    function check(scenarios: Array<Array<RegistryDump | undefined>>): Result[] {
      const root = mkdtempSync(join(tmpdir(), 'leak-dumps-'));
      try {
        const dirs = scenarios.map((dumps, s) => {
          const dir = join(root, String(s));
          mkdirSync(dir);
          dumps.forEach((d, i) => {
            if (d !== undefined) writeFileSync(join(dir, `worker-${i + 1}.json`), JSON.stringify(d));
          });
          return { dir, workers: dumps.length };
        });
        const helpers = join(__dirname, '..', '..', 'helpers');
        const script = `
          const results = [];
          for (const { dir, workers } of ${JSON.stringify(dirs)}) {
            for (const name of ['run-tests.js', 'leak-registry.js'])
              delete require.cache[require.resolve(${JSON.stringify(helpers)} + '/' + name)];
            const { leaksAcrossWorkers } = require(${JSON.stringify(helpers)} + '/run-tests.js');
            results.push(leaksAcrossWorkers(dir, workers));
          }
          process.stdout.write(JSON.stringify(results));`;
        return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Result[];
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }

    const registeredBy1 = dump({
      secrets: [
        { value: credential, kind: 'credential', origin: 'POST /api/secret' },
        // Allowed in worker 1's response 0 only (its creation).
        { value: clientKey, kind: 'client key', origin: 'POST /api/client', allowedIn: 0 },
      ],
      responses: [{ method: 'POST', url: '/api/client', status: 201, text: `{"client_key":"${clientKey}"}` }],
    });

    it('passes when no worker shows another worker’s secret; fails on one in another worker’s responses, log lines or documents, or on a missing dump', () => {
      const clean = dump({
        responses: [{ method: 'GET', url: '/api/status', status: 200, text: '{"ok":true}' }],
        logs: [{ name: 'a function process', lines: ['{"message":"started"}'] }],
      });
      const planted = [
        dump({ responses: [{ method: 'GET', url: '/api/realm', status: 200, text: `x${credential}x` }] }),
        dump({ logs: [{ name: 'a function process', lines: ['ok', `leaked ${credential.slice(2, 12)}`] }] }),
        dump({ documents: [{ name: 'a database snapshot', text: `{"v":"${clientKey}"}` }] }),
        // The client key is allowed in worker 1's response 0, not in worker 2's first response.
        dump({ responses: [{ method: 'POST', url: '/api/client', status: 201, text: clientKey }] }),
      ];
      const [passing, ...results] = check([
        [registeredBy1, clean],
        ...planted.map((p) => [registeredBy1, p]),
        [registeredBy1, undefined],
      ]);
      expect(passing!.findings).to.deep.equal([]);
      expect(passing!.ok).to.equal(true);
      expect(passing!.line).to.match(/across 2 workers: 2 secrets against 2 responses, 1 log lines/);
      const missing = results.pop()!;
      results.forEach((result, i) => {
        expect(result.ok, JSON.stringify(planted[i])).to.equal(false);
        expect(result.findings.join('\n')).to.match(/registered by worker 1: .* appears in .*worker 2/);
      });
      expect(missing.ok).to.equal(false);
      expect(missing.findings[0]).to.match(/worker 2 left no readable leak dump/);
    });

    it('does not count a public prefix (whsec_) with two characters of a secret as a fragment of it', () => {
      const secret = ['whsec_Ab', 'Q7zK2mXw', 'P9rT4vLs'].join('');
      const byWorker1 = dump({
        secrets: [{ value: secret, kind: 'webhook secret', origin: 'POST /api/webhook' }],
      });
      const response = (text: string) =>
        dump({ responses: [{ method: 'POST', url: '/api/webhook', status: 201, text }] });
      const [prefixOnly, sixMore] = check([
        [byWorker1, response('{"secret":"whsec_AbZZZZZZZZZZ"}')],
        [byWorker1, response('{"secret":"whsec_ZZc_AbQ7zKZZ"}')],
      ]);
      expect(prefixOnly!.findings).to.deep.equal([]);
      expect(sixMore!.findings.join('\n')).to.match(/the webhook secret registered by .* appears in/);
    });

    it('finds a token whole outside the token routes but not in them, and a whole value in a log line', () => {
      const token = ['Tk9Lm2Qw', 'Zr7Xc4Vb', 'Np3s'].join('');
      const byWorker1 = dump({
        secrets: [
          { value: token, kind: 'token', origin: 'GET /api/token' },
          { value: credential, kind: 'credential', origin: 'POST /api/secret' },
        ],
      });
      const response = (url: string, text: string) =>
        dump({ responses: [{ method: 'GET', url, status: 200, text }] });
      const [inTokenRoute, inStatus, inLog] = check([
        [byWorker1, response('/api/token?realm=r&key=k', `{"token":"${token}"}`)],
        [byWorker1, response('/api/status', `{"x":1,"t":"${token}"}`)],
        [byWorker1, dump({ logs: [{ name: 'a function process', lines: ['one', `two ${credential}`] }] })],
      ]);
      expect(inTokenRoute!.findings).to.deep.equal([]);
      expect(inStatus!.findings).to.have.length(1);
      expect(inStatus!.findings[0]).to.match(
        /the token registered by .* appears in the response to GET \/api\/status/,
      );
      expect(inLog!.findings.join('\n')).to.match(
        /the credential registered by .* appears in the log of .*, line 2$/m,
      );
    });
  });
});
