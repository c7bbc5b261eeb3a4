/**
 * Credentials echoed by hostile providers (test/fakes/echo-provider.ts) never come back out: real
 * function processes on the Firestore emulator fetch tokens from a provider that echoes what it was
 * sent in every way (near a 300-character cut, JSON-escaped, a fragment alone, raw with a TAB,
 * percent-encoded in either case, as the HTTP Basic blob, as PHP/Python JSON, as the error code,
 * with HTTP 400). The credentials hold `"`, `\`, a TAB, `/`, `+`, `%`, `&`, `=` and non-ASCII.
 *
 * The rule checked (SPEC §4): no run of 8 or more characters of any credential, nor of any of its
 * spellings on the wire, anywhere: the 502 answers (message and details.providerMessage) of both
 * functions, /api/status, every log line, and the raw Firestore documents (the stored lastError).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ECHO_MODES, echoRealm, startEchoProvider, type EchoProvider } from '../fakes/echo-provider';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';

const RUN = 8;

/** Each credential as the request carries it (written here independently of the server's code). */
function wireSpellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [
    value,
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    new URLSearchParams({ v: value }).toString().slice(2),
    json,
    json
      .replace(/\//g, '\\/')
      .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  ];
}

/** Every run of RUN characters of each text. */
function runsOf(texts: string[]): Set<string> {
  const out = new Set<string>();
  for (const t of texts) for (let i = 0; i + RUN <= t.length; i++) out.add(t.slice(i, i + RUN));
  return out;
}

/** The first run of `forbidden` found in `text`, or undefined. */
function findRun(text: string, forbidden: Set<string>): string | undefined {
  for (let i = 0; i + RUN <= text.length; i++) {
    const run = text.slice(i, i + RUN);
    if (forbidden.has(run)) return run;
  }
  return undefined;
}

interface ErrorBody {
  error: { code: string; message: string; details?: { providerMessage?: string; providerCode?: string } };
}

describe('hardening: providers that echo credentials (function processes, emulator)', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let echo: EchoProvider;
  let full: FunctionProcess;
  let cache: FunctionProcess;

  before(async () => {
    env = testEnv({ store: 'firestore' });
    await clearEmulator(emulatorHostFromEnv(), env.projectId);
    echo = await startEchoProvider();
    [full, cache] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
  });
  after(async () => {
    await Promise.all([full?.stop(), cache?.stop()]);
    await echo?.close();
  });

  it('shows no run of 8 characters of any credential, in any spelling, anywhere', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      request<ErrorBody>(`${full.url}${path}`, {
        method,
        bearer: env.adminKey,
        ...(body === undefined ? {} : { body }),
      });
    const values = {
      key_1: `id-${randomBytes(6).toString('hex')}`,
      key_2: `s"e\\c\tr/é+%&=${randomBytes(12).toString('base64url')}`,
      key_3: `scope ${randomBytes(6).toString('hex')}/+é`,
    };
    const basic = Buffer.from(`${values.key_1}:${values.key_2}`).toString('base64');
    const forbidden = runsOf([...Object.values(values).flatMap(wireSpellings), basic]);

    const answers: Array<{ what: string; text: string }> = [];
    for (const mode of ECHO_MODES) {
      const realm = `echo-${mode}`;
      expect(
        (await admin('POST', '/api/realm', { id: realm, config: echoRealm(echo.url, mode) })).status,
      ).to.equal(200);
      expect((await admin('POST', '/api/secret', { realm, key: 'main', ...values })).status).to.equal(200);
      for (const p of [full, cache]) {
        const r = await request<ErrorBody>(`${p.url}/api/token?realm=${realm}&key=main&flush=true`, {
          bearer: env.adminKey,
        });
        expect(r.status, `${mode} on ${p.target}: ${r.text}`).to.equal(502);
        answers.push({ what: `${mode} on ${p.target}`, text: r.text });
        if (mode === 'raw' || mode === 'fragment' || mode === 'basic') {
          // The provider's words are still passed on, with the credential blanked.
          expect(r.body.error.details?.providerMessage, mode).to.match(/\*\*\*\*/);
          expect(r.body.error.details?.providerMessage, mode).to.match(/secret|authentication/);
        }
      }
      expect(echo.calls(mode), `the provider was asked (${mode})`).to.be.at.least(1);
    }
    const status = await admin('GET', '/api/status');
    expect(status.status).to.equal(200);
    answers.push({ what: '/api/status', text: status.text });
    const stored = JSON.stringify(await snapshotDatabase());
    expect(stored, 'the stored lastError is in the snapshot').to.match(/lastError/);
    answers.push({ what: 'the raw Firestore documents', text: stored });
    for (const p of [full, cache]) {
      p.logs.forEach((line, i) => answers.push({ what: `${p.target} log line ${i + 1}`, text: line }));
    }
    expect(answers.length).to.be.greaterThan(40);
    for (const { what, text } of answers) {
      const run = findRun(text, forbidden);
      expect(
        run,
        `a run of a credential (${JSON.stringify(run)}) in ${what}: ${text.slice(0, 400)}`,
      ).to.equal(undefined);
    }
  });
});
