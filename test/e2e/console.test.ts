/**
 * The console (SPEC §14) in a real headless browser: Debian's Chromium driven by playwright-core,
 * against a real tokenServer process and the fake provider on 127.0.0.1. One browser for the file,
 * a fresh context (its own session storage) per test; every request the page makes is recorded and
 * must go to the function's origin. Screenshots of each view, at a laptop's and a phone's width, go to
 * CONSOLE_SCREENSHOTS (default: token-server-console under the OS temp folder).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { ticketRealm } from '../fakes/tickets';
import { startWechatOpenFake, type WechatOpenFake } from '../fakes/wechat-open';
import { request } from '../helpers/http';
import { registerSecret } from '../helpers/leak-registry';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';

const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS ?? join(tmpdir(), 'token-server-console');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** A realm comment that would run script if it were ever parsed as HTML. */
const HOSTILE_COMMENT = '<img src=x onerror="window.__pwned=1;alert(1)"> WeCom <b>bold</b>';

/** The browser globals that page.evaluate callbacks use (this file is compiled without the DOM lib). */
interface WebStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
}
interface InPageElement {
  querySelector(selector: string): { textContent: string | null } | null;
}
interface InPage {
  sessionStorage: WebStorage;
  localStorage: WebStorage;
  navigator: { clipboard: { readText(): Promise<string> } };
  __pwned?: number;
}

interface Session {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, in order. */
  requests: string[];
  /** Console errors and uncaught exceptions (a CSP or Trusted Types violation is one). */
  problems: string[];
  dialogs: string[];
}

describe('the console in a real browser (SPEC §14)', function () {
  this.timeout(120_000);
  let browser: Browser;
  let env: TestEnv;
  let server: FunctionProcess;
  let fake: FakeProvider;
  let open3p: WechatOpenFake;
  const sessions: Session[] = [];
  const run = Date.now().toString(36);
  const REALM = `con_${run}`;
  /** A third-party platform realm (pushed ticket): its row shows the ticket and Start push. */
  const PLATFORM = `conwxc_${run}`;
  const admin = (): string => env.adminKey;

  /**
   * An admin call; a 503 (the emulator slow to answer its first requests on a loaded machine) is
   * tried again for up to 60 s: every call made here is idempotent.
   */
  async function api(method: string, path: string, body?: unknown): Promise<unknown> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await request(`${server.url}${path}`, {
        method,
        bearer: admin(),
        ...(body === undefined ? {} : { body }),
      });
      if (res.status === 503 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      assert.ok(res.status < 300 || res.status === 502, `${method} ${path}: ${res.status} ${res.text}`);
      return res.body;
    }
  }

  before(async () => {
    [fake, open3p] = await Promise.all([startFakeProvider(), startWechatOpenFake()]);
    env = testEnv();
    [server, browser] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: ['--no-sandbox'],
      }),
    ]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await api('POST', '/api/realm', {
      id: REALM,
      comment: HOSTILE_COMMENT,
      config: realmFor('wecom', fake.url),
    });
    // A healthy secret with a token, one with a wrong secret (an error row), one never fetched (flushed below).
    await api('POST', '/api/secret', { realm: REALM, key: 'main', ...fake.credentials('wecom') });
    await api('POST', '/api/secret', {
      realm: REALM,
      key: 'broken',
      key_1: fake.credentials('wecom').key_1,
      key_2: 'a-wrong-corpsecret-for-the-console-test',
    });
    await api('POST', '/api/secret', { realm: REALM, key: 'flushme', ...fake.credentials('wecom') });
    await api('GET', `/api/token?realm=${REALM}&key=main`);
    await api('GET', `/api/token?realm=${REALM}&key=broken`);
    // A platform secret with no ticket pushed yet (ticket_state missing).
    await api('POST', '/api/realm', { id: PLATFORM, config: ticketRealm('wechat_component', open3p.url) });
    const { appid, secret, token, encodingAesKey } = open3p.account;
    await api('POST', '/api/secret', {
      realm: PLATFORM,
      key: 'main',
      key_1: appid,
      key_2: secret,
      key_3: token,
      key_4: encodingAesKey,
    });
  });

  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
    await fake?.close();
    await open3p?.close();
  });

  afterEach(function () {
    const origin = new URL(server.url).origin;
    for (const s of sessions.splice(0)) {
      void s.context.close();
      const foreign = s.requests.filter((u) => new URL(u).origin !== origin);
      assert.deepEqual(foreign, [], 'requests to another origin');
      assert.ok(!s.requests.some((u) => u.includes(admin())), 'the admin key in a URL');
      assert.deepEqual(s.problems, [], 'errors in the page');
      assert.deepEqual(s.dialogs, [], 'dialogs opened');
    }
  });

  async function open(viewport = LAPTOP, hash = '', path = '/console'): Promise<Session> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const s: Session = { context, page, requests: [], problems: [], dialogs: [] };
    sessions.push(s);
    context.on('request', (r) => s.requests.push(r.url()));
    page.on('pageerror', (err) => s.problems.push(`uncaught: ${err.message}`));
    page.on('console', (m) => {
      // A failed API call (401, 409, 502) is logged by Chromium itself; the page shows it.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) s.problems.push(m.text());
    });
    page.on('dialog', (d) => {
      s.dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${server.url}${path}${hash}`);
    return s;
  }

  async function signIn(s: Session, key = admin()): Promise<void> {
    await s.page.getByLabel('Admin key').fill(key);
    await s.page.getByRole('button', { name: 'Open the console' }).click();
  }

  /** A full-page screenshot once the view has loaded (no list still loading). */
  async function shot(s: Session, name: string): Promise<void> {
    await s.page.locator('[aria-busy="true"]').waitFor({ state: 'detached' });
    await s.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  /** The secrets table's rows as [realm, key, state, calls] of this test's realm. */
  async function tableRows(page: Page): Promise<string[][]> {
    await page.locator('table.secrets tbody tr').first().waitFor();
    await page.locator('section[aria-busy="true"]').waitFor({ state: 'detached' });
    return page.locator('table.secrets tbody tr').evaluateAll(
      (rows: unknown[], labels: string[]) =>
        rows.map((row) =>
          labels.map(
            (label) =>
              (row as InPageElement)
                // The state's badge: a platform row's cell shows its ticket's too.
                .querySelector(`td[data-label="${label}"]${label === 'State' ? ' > .badge' : ''}`)
                ?.textContent?.trim() ?? '',
          ),
        ),
      ['Realm', 'Key', 'State', 'Calls today'],
    );
  }

  it('serves /console with a strict CSP and security headers, and keeps it out of the OpenAPI document', async () => {
    const page = await request(`${server.url}/console`);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'] ?? '', /^text\/html/);
    const csp = page.headers['content-security-policy'] ?? '';
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(csp.split('; ').includes(directive), `CSP lacks ${directive}: ${csp}`);
    }
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(page.text), 'an inline script');
    const script = /src="(console\/app-[0-9a-f]{12}\.js)"/.exec(page.text)?.[1];
    assert.ok(script !== undefined, page.text);
    const asset = await request(`${server.url}/${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers['content-type'] ?? '', /^text\/javascript/);
    assert.match(asset.headers['cache-control'] ?? '', /immutable/);
    assert.equal((await request(`${server.url}/console/nothing.js`)).status, 404);
    // Opened as /console/, the page asks for /console/console/app-….js: served too.
    assert.equal((await request(`${server.url}/console/${script}`)).status, 200);
    const openapi = await request<{ paths: Record<string, unknown> }>(`${server.url}/api/openapi.json`);
    assert.deepEqual(
      Object.keys(openapi.body.paths).filter((p) => p.includes('console')),
      [],
    );
  });

  it('loads at /console/ (with the slash) too, its API calls included', async () => {
    const s = await open(PHONE, '#realms', '/console/');
    await s.page.getByLabel('Admin key').waitFor();
    await shot(s, 'key-phone');
    await signIn(s);
    await s.page.locator(`tr[data-realm="${REALM}"]`).waitFor();
  });

  it('a wrong key shows a clear message and asks again; the right key opens the secrets view', async () => {
    const s = await open();
    await shot(s, 'key-laptop');
    await signIn(s, 'not-the-admin-key-000000000000');
    const alert = s.page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /refused this admin key/);
    assert.equal(
      await s.page.evaluate(() => (globalThis as unknown as InPage).sessionStorage.length),
      0,
      'a refused key is forgotten',
    );
    await shot(s, 'wrong-key-laptop');
    await signIn(s);
    await s.page.getByRole('heading', { name: 'Secrets' }).waitFor();
  });

  it('the secrets table matches /api/status, and filters by realm and state', async () => {
    const s = await open(LAPTOP);
    await signIn(s);
    const status = (await api('GET', '/api/status?limit=25')) as {
      data: { list: Array<{ realm: string; key: string; state: string; calls_today: number }> };
    };
    const rows = await tableRows(s.page);
    assert.deepEqual(
      rows.map(([realm, key, state]) => [realm, key, state]),
      status.data.list.map((e) => [e.realm, e.key, e.state]),
    );
    assert.deepEqual(
      rows.map((r) => (r[3] ?? '').split(' / ')[0]),
      status.data.list.map((e) => String(e.calls_today)),
    );
    // Calls against the realm's daily budget (the default 1000), and the provider's error code.
    await s.page.locator('td[data-label="Calls today"]', { hasText: '/ 1000' }).first().waitFor();
    const broken = s.page.locator(`tr[data-realm="${REALM}"][data-key="broken"]`);
    assert.match(
      (await broken.locator('td[data-label="Last error"]').textContent()) ?? '',
      /provider code 40001/,
    );
    await shot(s, 'secrets-laptop');

    await s.page.getByLabel('Realm').fill(REALM);
    await s.page.getByLabel('State').selectOption('error');
    await s.page.getByRole('button', { name: 'Filter' }).click();
    await s.page.locator('table.secrets tbody tr').nth(1).waitFor({ state: 'detached' });
    assert.deepEqual(
      (await tableRows(s.page)).map(([realm, key, state]) => [realm, key, state]),
      [[REALM, 'broken', 'error']],
    );

    const phone = await open(PHONE, '#secrets');
    await signIn(phone);
    await tableRows(phone.page);
    await shot(phone, 'secrets-phone');
  });

  it('a realm comment with HTML in it is shown as text, and no script runs', async () => {
    const s = await open(LAPTOP, '#realms');
    await signIn(s);
    const cell = s.page.locator(`tr[data-realm="${REALM}"] td[data-label="Comment"]`);
    await cell.waitFor();
    assert.equal(await cell.textContent(), HOSTILE_COMMENT);
    assert.equal(await s.page.locator('img, b').count(), 0, 'an element made from the comment');
    assert.equal(await s.page.evaluate(() => (globalThis as unknown as InPage).__pwned), undefined);
    await s.page.getByRole('heading', { name: 'Presets' }).waitFor();
    await s.page.locator('table.presets td', { hasText: 'wecom' }).first().waitFor();
    await shot(s, 'realms-laptop');
    const phone = await open(PHONE, '#realms');
    await signIn(phone);
    await phone.page.locator('table.presets td').first().waitFor();
    await shot(phone, 'realms-phone');
    assert.equal(s.dialogs.length + phone.dialogs.length, 0);
  });

  it('creating a client shows its key once (with a copy button); revoking it ends the key', async () => {
    const s = await open(LAPTOP, '#clients');
    await s.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await signIn(s);
    await s.page.getByLabel('Name').fill(`console app ${run}`);
    await s.page.getByLabel('Scopes').fill(REALM);
    await s.page.getByRole('button', { name: 'Create' }).click();
    await s.page
      .getByRole('alert')
      .filter({ hasText: `"${REALM}" is not realm/key` })
      .waitFor();
    await s.page.getByLabel('Scopes').fill(`${REALM}/main`);
    await s.page.getByRole('button', { name: 'Create' }).click();
    const shown = s.page.getByTestId('client-key');
    await shown.waitFor();
    const key = (await shown.textContent()) ?? '';
    registerSecret(key, 'client key', 'the console test (created in the browser)');
    assert.ok(key.length >= 32, key);
    const token = await request(`${server.url}/api/token?realm=${REALM}&key=main`, { bearer: key });
    assert.equal(token.status, 200, 'the shown key works');
    await s.page.getByRole('button', { name: 'Copy' }).click();
    await s.page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
    assert.equal(
      await s.page.evaluate(() => (globalThis as unknown as InPage).navigator.clipboard.readText()),
      key,
    );
    await shot(s, 'clients-laptop');
    await s.page.getByRole('button', { name: 'Done' }).click();
    assert.ok(!(await s.page.content()).includes(key), 'the key is still on the page');
    await s.page.reload();
    const row = s.page.locator('tr', { hasText: `console app ${run}` });
    await row.waitFor();
    assert.ok(!(await s.page.content()).includes(key), 'the key shown again after a reload');

    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Confirm revoke' }).click();
    await s.page.getByRole('status').filter({ hasText: 'Revoked' }).waitFor();
    await row.waitFor({ state: 'detached' });
    const refused = await request(`${server.url}/api/token?realm=${REALM}&key=main`, { bearer: key });
    assert.equal(refused.status, 401, 'the revoked key still works');

    const phone = await open(PHONE, '#clients');
    await signIn(phone);
    await phone.page.getByRole('button', { name: 'Create' }).waitFor();
    await shot(phone, 'clients-phone');
  });

  it('Flush makes exactly one upstream call; a second click inside the flush window makes none', async () => {
    const s = await open(LAPTOP);
    await signIn(s);
    const row = s.page.locator(`tr[data-realm="${REALM}"][data-key="flushme"]`);
    await row.waitFor();
    const before = fake.calls('wecom');
    await row.getByRole('button', { name: 'Flush' }).click();
    await s.page
      .getByRole('status')
      .filter({ hasText: `Flushed ${REALM}/flushme` })
      .waitFor();
    assert.equal(fake.calls('wecom'), before + 1);
    await row.getByRole('button', { name: 'Flush' }).click();
    await s.page.getByRole('status').filter({ hasText: 'inside its flush window' }).waitFor();
    assert.equal(fake.calls('wecom'), before + 1, 'a second flush inside the window called the provider');
    const token = fake.currentToken('wecom');
    assert.ok(token !== undefined && !(await s.page.content()).includes(token), 'the token on the page');
    await shot(s, 'flushed-laptop');
    // The README's picture (docs/console.png is a copy): the top of this view, without the empty rest.
    await s.page.screenshot({
      path: join(SCREENSHOTS, 'readme.png'),
      clip: { x: 0, y: 0, ...LAPTOP, height: 540 },
    });
  });

  it('a platform secret shows its pushed ticket; Start push asks the platform once', async () => {
    const s = await open(LAPTOP);
    await signIn(s);
    const row = s.page.locator(`tr[data-realm="${PLATFORM}"][data-key="main"]`);
    await row.waitFor();
    assert.match((await row.locator('td[data-label="State"]').textContent()) ?? '', /ticket\s+missing/);
    // Only platform rows carry the action: none of this file's other realms (the emulator may also
    // hold other files' platform secrets, so the count is of this run's rows).
    const ours = s.page.locator(`tr[data-realm$="_${run}"]`);
    assert.equal(await ours.getByRole('button', { name: 'Start push' }).count(), 1, 'Start push elsewhere');
    const before = open3p.calls('start_push');
    await row.getByRole('button', { name: 'Start push' }).click();
    await s.page
      .getByRole('status')
      .filter({ hasText: `${PLATFORM}/main: the platform was asked to push` })
      .waitFor();
    assert.equal(open3p.calls('start_push'), before + 1);
    await shot(s, 'start-push-laptop');
  });

  it('a new webhook shows its signing secret once and is listed as GET /api/webhook; the audit view lists its record', async () => {
    const s = await open(LAPTOP, '#webhooks');
    await s.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await signIn(s);
    const url = `https://ops.example.com/hooks/${run}`;
    await s.page.getByLabel('URL').fill(url);
    await s.page.getByLabel('budget.exhausted').check();
    await s.page.getByLabel('Comment').fill(HOSTILE_COMMENT);
    await s.page.getByRole('button', { name: 'Create' }).click();
    const shown = s.page.getByTestId('webhook-secret');
    await shown.waitFor();
    const secret = (await shown.textContent()) ?? '';
    registerSecret(secret, 'webhook secret', 'the console test (created in the browser)');
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    await s.page.getByRole('button', { name: 'Copy' }).click();
    await s.page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
    assert.equal(
      await s.page.evaluate(() => (globalThis as unknown as InPage).navigator.clipboard.readText()),
      secret,
    );
    const listed = (await api('GET', '/api/webhook?limit=25')) as {
      data: { list: Array<{ id: string; url: string; events: string[]; comment: string }> };
    };
    const mine = listed.data.list.find((w) => w.url === url);
    assert.ok(mine !== undefined, JSON.stringify(listed));
    assert.deepEqual(mine.events, ['token.refresh_failed', 'token.recovered', 'budget.exhausted']);
    const rows = s.page.locator('table.webhooks tbody tr');
    await s.page.locator(`tr[data-webhook="${mine.id}"]`).waitFor();
    assert.deepEqual(
      await rows.evaluateAll((trs: unknown[]) =>
        trs.map((tr) =>
          ['URL', 'Events', 'Comment', 'ID'].map(
            (label) =>
              (tr as InPageElement).querySelector(`td[data-label="${label}"]`)?.textContent?.trim() ?? '',
          ),
        ),
      ),
      listed.data.list.map((w) => [w.url, w.events.join(', '), w.comment, w.id]),
    );
    assert.equal(await s.page.locator('img, b').count(), 0, 'an element made from the comment');
    await shot(s, 'webhooks-laptop');
    await s.page.getByRole('button', { name: 'Done' }).click();
    assert.ok(!(await s.page.content()).includes(secret), 'the secret is still on the page');
    await s.page.reload();
    await s.page.locator(`tr[data-webhook="${mine.id}"]`).waitFor();
    assert.ok(!(await s.page.content()).includes(secret), 'the secret shown again after a reload');

    // The audit view, newest first, as GET /api/audit answers; then filtered to this webhook.
    await s.page.getByRole('link', { name: 'Audit' }).click();
    const audit = (await api('GET', '/api/audit?limit=50')) as {
      data: { list: Array<{ id: string; action: string; target: string; actor: string }> };
    };
    assert.deepEqual(audit.data.list[0] && [audit.data.list[0].action, audit.data.list[0].target], [
      'webhook.create',
      mine.id,
    ]);
    await s.page.locator(`tr[data-audit="${audit.data.list[0]?.id}"]`).waitFor();
    await s.page.locator('section[aria-busy="true"]').waitFor({ state: 'detached' });
    const auditRows = (): Promise<string[][]> =>
      s.page
        .locator('table.audit tbody tr')
        .evaluateAll((trs: unknown[]) =>
          trs.map((tr) =>
            ['Action', 'Target', 'Actor'].map(
              (label) =>
                (tr as InPageElement).querySelector(`td[data-label="${label}"]`)?.textContent?.trim() ?? '',
            ),
          ),
        );
    assert.deepEqual(
      await auditRows(),
      audit.data.list.map((r) => [r.action, r.target, r.actor]),
    );
    await shot(s, 'audit-laptop');
    await s.page.getByLabel('Action').selectOption('webhook.create');
    await s.page.getByLabel('Target').fill(mine.id);
    await s.page.getByRole('button', { name: 'Filter' }).click();
    await s.page.locator('table.audit tbody tr').nth(1).waitFor({ state: 'detached' });
    assert.deepEqual(await auditRows(), [['webhook.create', mine.id, 'admin']]);

    // Delete, with a confirmation.
    await s.page.getByRole('link', { name: 'Webhooks' }).click();
    const row = s.page.locator(`tr[data-webhook="${mine.id}"]`);
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click();
    await s.page.getByRole('status').filter({ hasText: 'Deleted the webhook' }).waitFor();
    await row.waitFor({ state: 'detached' });
    const after = (await api('GET', '/api/webhook?limit=25')) as { data: { list: Array<{ id: string }> } };
    assert.ok(!after.data.list.some((w) => w.id === mine.id), 'the webhook is still listed');

    const phone = await open(PHONE, '#webhooks');
    await signIn(phone);
    await phone.page.getByRole('button', { name: 'Create' }).waitFor();
    await shot(phone, 'webhooks-phone');
    await phone.page.getByRole('link', { name: 'Audit' }).click();
    await phone.page.locator('table.audit tbody tr').first().waitFor();
    await shot(phone, 'audit-phone');
  });

  it('keeps the key in session storage only: never in a URL, a cookie or local storage; Sign out forgets it', async () => {
    const s = await open(LAPTOP);
    await signIn(s);
    await tableRows(s.page);
    for (const hash of ['#realms', '#clients', '#webhooks', '#audit', '#secrets']) {
      await s.page.getByRole('link', { name: hash.slice(1, 2).toUpperCase() + hash.slice(2) }).click();
      assert.equal(new URL(s.page.url()).hash, hash);
    }
    assert.ok(!s.page.url().includes(admin()));
    assert.deepEqual(await s.context.cookies(), []);
    const storage = await s.page.evaluate(() => {
      const { localStorage, sessionStorage } = globalThis as unknown as InPage;
      const session: Array<string | null> = [];
      for (let i = 0; i < sessionStorage.length; i++)
        session.push(sessionStorage.getItem(sessionStorage.key(i) ?? ''));
      return { local: localStorage.length, session };
    });
    assert.deepEqual(storage, { local: 0, session: [admin()] });
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.getByLabel('Admin key').waitFor();
    assert.equal(await s.page.evaluate(() => (globalThis as unknown as InPage).sessionStorage.length), 0);
    // The key never went anywhere but the Authorization header (recorded requests: afterEach).
  });
});
