/**
 * The one log line per request, in Cloud Logging's structured format: `severity`, `message`, `time`,
 * the request's fields, and trace correlation from X-Cloud-Trace-Context (or traceparent).
 */
import { expect } from 'chai';
import { traceFields } from '../../../functions/http/trace';
import { adminApp, SEED_REALM, type AdminApp } from '../admin/admin-harness';

const PROJECT = 'demo-token-server';
const TRACE_ID = '105445aa7843bc8bf206b12000100000';

type LogEntry = Record<string, unknown>;

function requestLines(app: AdminApp): LogEntry[] {
  return app.logs.map((line) => JSON.parse(line) as LogEntry).filter((entry) => entry.event === 'request');
}

function lastRequestLine(app: AdminApp): LogEntry {
  const lines = requestLines(app);
  const last = lines[lines.length - 1];
  if (last === undefined) throw new Error('no request log line');
  return last;
}

describe('request log line', () => {
  let app: AdminApp;
  beforeEach(async () => {
    app = await adminApp();
  });
  afterEach(() => app.close());

  it('is one JSON line per request with severity, message, time, route, status and latency', async () => {
    await app.call('GET', '/healthz');
    await app.call('GET', '/api/realm?page=1');
    const lines = requestLines(app);
    expect(lines).to.have.length(2);
    const entry = lines[1] as LogEntry;
    expect(entry).to.include({
      severity: 'INFO',
      message: 'GET /api/realm 200',
      event: 'request',
      function: 'tokenServer',
      method: 'GET',
      route: '/api/realm',
      status: 200,
    });
    expect(entry.time).to.be.a('string');
    expect(new Date(entry.time as string).toISOString()).to.equal(entry.time);
    expect(entry.latencyMs).to.be.a('number').and.to.be.at.least(0);
    expect(entry.requestId).to.be.a('string');
    // No trace header, no trace fields (and no keys whose value is undefined or null).
    expect(Object.keys(entry).filter((k) => k.startsWith('logging.googleapis.com/'))).to.deep.equal([]);
    expect(Object.values(entry)).to.not.include(null);
  });

  it('carries trace, span and sampling from X-Cloud-Trace-Context', async () => {
    await app.call('GET', '/healthz', undefined, {
      headers: { 'x-cloud-trace-context': `${TRACE_ID}/1;o=1` },
    });
    expect(lastRequestLine(app)).to.include({
      'logging.googleapis.com/trace': `projects/${PROJECT}/traces/${TRACE_ID}`,
      'logging.googleapis.com/spanId': '0000000000000001',
      'logging.googleapis.com/trace_sampled': true,
    });
  });

  it('names realm, key and error code, with WARNING for 4xx, and never the bearer key', async () => {
    await app.call('POST', '/api/realm', SEED_REALM);
    const secretValue = 'credential-value-that-must-not-be-logged';
    await app.call('POST', '/api/secret', { realm: 'wxgzh', key: 'main', key_1: secretValue });
    await app.call('GET', '/api/token?realm=wxgzh&key=nope');
    expect(lastRequestLine(app)).to.include({
      severity: 'WARNING',
      message: 'GET /api/token 404',
      route: '/api/token',
      status: 404,
      realm: 'wxgzh',
      key: 'nope',
      code: 'NOT_FOUND',
    });
    await app.call('GET', '/api/realm', undefined, { bearer: 'a-wrong-key-that-must-not-be-logged-either' });
    expect(lastRequestLine(app)).to.include({ status: 401, code: 'UNAUTHENTICATED' });
    const all = app.logs.join('\n');
    expect(all).to.not.include(secretValue);
    expect(all).to.not.include('a-wrong-key-that-must-not-be-logged-either');
    expect(all).to.not.include(app.adminKey ?? '(no admin key)');
  });

  it('logs an unmatched route as such', async () => {
    await app.call('GET', '/nowhere');
    expect(lastRequestLine(app)).to.include({ route: 'unmatched', status: 404, code: 'NOT_FOUND' });
  });
});

describe('traceFields', () => {
  it('reads X-Cloud-Trace-Context with and without span and options', () => {
    expect(traceFields({ cloudTraceContext: `${TRACE_ID}/12345678901234567890;o=0` }, 'p')).to.deep.equal({
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE_ID}`,
      'logging.googleapis.com/spanId': 'ab54a98ceb1f0ad2',
      'logging.googleapis.com/trace_sampled': false,
    });
    expect(traceFields({ cloudTraceContext: TRACE_ID.toUpperCase() }, 'p')).to.deep.equal({
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE_ID}`,
    });
  });

  it('falls back to W3C traceparent', () => {
    const traceparent = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
    expect(traceFields({ traceparent }, 'p')).to.deep.equal({
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE_ID}`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    });
  });

  it('prefers X-Cloud-Trace-Context when both are present', () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const fields = traceFields(
      { cloudTraceContext: `${TRACE_ID}/1`, traceparent: `00-${other}-00f067aa0ba902b7-01` },
      'p',
    );
    expect(fields['logging.googleapis.com/trace']).to.equal(`projects/p/traces/${TRACE_ID}`);
  });

  it('leaves out anything malformed instead of logging it', () => {
    for (const cloudTraceContext of [
      '',
      'not-a-trace',
      `${TRACE_ID}x/1`,
      '00000000000000000000000000000000/1',
      `${TRACE_ID}/1;o=1\n{"severity":"ERROR"}`,
    ]) {
      expect(traceFields({ cloudTraceContext }, 'p'), cloudTraceContext).to.deep.equal({});
    }
    expect(traceFields({ traceparent: `ff-${TRACE_ID}-00f067aa0ba902b7-01` }, 'p')).to.deep.equal({});
    expect(traceFields({ traceparent: 'garbage' }, 'p')).to.deep.equal({});
    // A span id beyond 64 bits is dropped, the trace kept.
    expect(traceFields({ cloudTraceContext: `${TRACE_ID}/99999999999999999999` }, 'p')).to.deep.equal({
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE_ID}`,
    });
  });
});
