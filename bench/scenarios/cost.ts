/**
 * Scenario 5, cost per request: Firestore document reads and writes per token request on each path,
 * counted in-process. The real HTTP handlers of tokenServer and tokenServerCache (the same route
 * tables, runtime, engine and edge cache as deployed) run against the Firestore emulator through a
 * counting Store (bench/counting-store.ts), with the fake provider upstream. Each path is compared
 * with its floor: 0 reads for a memory hit, 1 read for a database hit, a constant per refresh.
 */
import { type HttpHandler } from '../../functions/http/app';
import { callHandler } from '../../test/helpers/fake-express';
import { type CountingStore, type Counts } from '../counting-store';
import { row, type Row } from '../report';
import { REALM, type Stack } from '../stack';
import { countedInstance, type CountedInstance } from './ops-counting';
import { round } from '../stats';

export interface PathCost {
  path: string;
  function: 'tokenServer' | 'tokenServerCache' | 'both';
  requests: number;
  readsPerRequest: number;
  writesPerRequest: number;
  transactionsPerRequest: number;
  calls: Record<string, number>;
  floor: string;
  /** Whether the path costs no more than its floor ('n/a' where the floor is the measured constant itself). */
  atFloor: boolean | 'n/a';
  note?: string;
}

export interface CostResult {
  method: string;
  paths: PathCost[];
  /**
   * One refresh (secret and realm reads, the lease transaction, the result transaction), without the
   * request's own first read; and whether 1 and 100 concurrent misses cost the same.
   */
  refreshConstant: { reads: number; writes: number; sameUnderConcurrency: boolean };
  seconds: number;
}

interface Instance {
  name: 'tokenServer' | 'tokenServerCache';
  handler: HttpHandler;
  store: CountingStore;
}

export async function costPerRequest(stack: Stack): Promise<CostResult> {
  const started = Date.now();
  // Each instance a runtime of its own (its own Firestore connection, ops store and hooks) whose
  // store is the counting one, so the side writes a change commits are counted too.
  const opened: CountedInstance[] = [];
  const make = async (name: Instance['name']): Promise<Instance> => {
    const counted = await countedInstance(stack, true);
    opened.push(counted);
    return { name, store: counted.store, handler: name === 'tokenServer' ? counted.server : counted.cache };
  };
  const server = await make('tokenServer');
  const cache = await make('tokenServerCache');
  const clientKey = await stack.addClient('bench-cost');

  const ask = async (i: Instance, key: string): Promise<string> => {
    const res = await callHandler(i.handler, {
      url: `/api/token?realm=${REALM}&key=${key}`,
      bearer: clientKey,
    });
    const body = res.body as { source?: string };
    if (res.status !== 200) throw new Error(`${i.name} answered ${res.status}: ${res.text}`);
    return body.source ?? '?';
  };
  const paths: PathCost[] = [];
  const record = (
    p: Omit<PathCost, 'readsPerRequest' | 'writesPerRequest' | 'transactionsPerRequest' | 'calls'>,
    c: Counts,
  ): PathCost => {
    const cost: PathCost = {
      ...p,
      readsPerRequest: round(c.reads / p.requests, 3),
      writesPerRequest: round(c.writes / p.requests, 3),
      transactionsPerRequest: round(c.transactions / p.requests, 3),
      calls: c.calls,
    };
    paths.push(cost);
    return cost;
  };
  const untilRefreshed = async (key: string, generation: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (((await stack.store.getTokenState(REALM, key))?.generation ?? 0) <= generation) {
      if (Date.now() > deadline) throw new Error(`the background refresh of ${key} did not finish`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  // Warm both instances (runtime, client-key cache, Firestore client) on a secret of their own.
  await stack.addSecret('cost-warm');
  await ask(server, 'cost-warm');
  await ask(cache, 'cost-warm');

  // A miss: no token yet, one request → the provider. Then the same with 100 concurrent requests.
  await stack.addSecret('cost-miss');
  server.store.take();
  await ask(server, 'cost-miss');
  const miss = record(
    {
      path: 'miss: no token → upstream',
      function: 'tokenServer',
      requests: 1,
      floor: 'a constant per refresh',
      atFloor: 'n/a',
    },
    server.store.take(),
  );
  await stack.addSecret('cost-crowd');
  await Promise.all(Array.from({ length: 100 }, () => ask(server, 'cost-crowd')));
  const crowd = server.store.take();
  record(
    {
      path: 'miss, 100 concurrent requests on one instance (per request)',
      function: 'tokenServer',
      requests: 100,
      floor: 'the miss constant / 100',
      atFloor: crowd.reads === miss.readsPerRequest && crowd.writes === miss.writesPerRequest,
      note: `${crowd.reads} reads and ${crowd.writes} writes in all: the same as one miss (single flight)`,
    },
    crowd,
  );

  // Hits, sequential: each request pays its own way.
  const N = 100;
  for (let i = 0; i < N; i++) await ask(server, 'cost-miss');
  record(
    { path: 'database hit', function: 'tokenServer', requests: N, floor: '1 read', atFloor: false },
    server.store.take(),
  );
  await ask(cache, 'cost-miss');
  cache.store.take();
  const sources = new Set<string>();
  for (let i = 0; i < N; i++) sources.add(await ask(cache, 'cost-miss'));
  record(
    {
      path: 'memory hit',
      function: 'tokenServerCache',
      requests: N,
      floor: '0 reads',
      atFloor: false,
      note: `sources: ${[...sources].join(', ')}; the cache re-reads the database at most every 30 s per secret`,
    },
    cache.store.take(),
  );
  // Database hits as under load: 50 concurrent requests share one read (single flight).
  for (let b = 0; b < 4; b++) await Promise.all(Array.from({ length: 50 }, () => ask(server, 'cost-miss')));
  record(
    {
      path: 'database hit, 50 concurrent requests (per request)',
      function: 'tokenServer',
      requests: 200,
      floor: '1 read',
      atFloor: true,
      note: 'concurrent identical requests in one instance share one read',
    },
    server.store.take(),
  );

  // A new client key on an instance: one lookup, cached for TOKEN_SERVER_CLIENT_CACHE_MS (30 s).
  const otherKey = await stack.addClient('bench-cost-2');
  {
    const res = await callHandler(server.handler, {
      url: `/api/token?realm=${REALM}&key=cost-miss`,
      bearer: otherKey,
    });
    if (res.status !== 200) throw new Error(`first use of a client key answered ${res.status}`);
  }
  record(
    {
      path: 'database hit, first use of a client key on this instance',
      function: 'tokenServer',
      requests: 1,
      floor: '1 read + 1 client lookup per key per instance per 30 s',
      atFloor: false,
    },
    server.store.take(),
  );

  // A due token: the request is served from the database and a refresh runs beside it.
  const before = await stack.store.getTokenState(REALM, 'cost-miss');
  if (before === null) throw new Error('cost-miss has no token state');
  await stack.store.mutateTokenState(REALM, 'cost-miss', (cur) => ({
    next: cur === null ? null : { ...cur, refreshAt: Date.now() - 1000 },
    result: null,
  }));
  server.store.take();
  const dueSource = await ask(server, 'cost-miss');
  await untilRefreshed('cost-miss', before.generation);
  record(
    {
      path: 'due: database hit + refresh beside it',
      function: 'tokenServer',
      requests: 1,
      floor: '1 read + the refresh constant',
      atFloor: false,
      note: `answered from ${dueSource} at once`,
    },
    server.store.take(),
  );

  // Two instances ask for a new secret at once: one takes the lease, the other waits (polls).
  await stack.addSecret('cost-two');
  server.store.take();
  cache.store.take();
  await Promise.all([ask(server, 'cost-two'), ask(cache, 'cost-two')]);
  const a = server.store.take();
  const b = cache.store.take();
  record(
    {
      path: 'miss on two instances at once (holder + waiter, per instance)',
      function: 'both',
      requests: 2,
      floor: 'holder: the miss constant; waiter: its polls',
      atFloor: 'n/a',
      note: `tokenServer ${a.reads} reads/${a.writes} writes, tokenServerCache ${b.reads} reads/${b.writes} writes`,
    },
    {
      reads: a.reads + b.reads,
      writes: a.writes + b.writes,
      transactions: a.transactions + b.transactions,
      calls: mergeCalls(a.calls, b.calls),
      readsBy: mergeCalls(a.readsBy, b.readsBy),
    },
  );

  const refreshReads = miss.readsPerRequest - (miss.calls.getTokenState ?? 0);
  for (const p of paths) {
    if (p.path === 'database hit') p.atFloor = p.readsPerRequest <= 1 && p.writesPerRequest === 0;
    if (p.path === 'memory hit') p.atFloor = p.readsPerRequest === 0 && p.writesPerRequest === 0;
    if (p.path.startsWith('database hit, first use'))
      p.atFloor = p.readsPerRequest <= 2 && p.writesPerRequest === 0;
    if (p.path.startsWith('due:'))
      p.atFloor = p.readsPerRequest <= 1 + refreshReads && p.writesPerRequest <= miss.writesPerRequest;
  }
  await Promise.all(opened.map((c) => c.close()));
  return {
    method:
      'in-process: the deployed handlers and runtime on the Firestore emulator through a counting Store; a get = 1 read, a query = 1 read per document (min 1), a read-modify-write = 1 read per attempt + 1 write when it writes',
    paths,
    refreshConstant: {
      reads: refreshReads,
      writes: miss.writesPerRequest,
      sameUnderConcurrency: crowd.reads === miss.readsPerRequest && crowd.writes === miss.writesPerRequest,
    },
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

function mergeCalls(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function costRows(r: CostResult): Row[] {
  const s = '5 Firestore cost per request';
  const find = (prefix: string) => r.paths.find((p) => p.path.startsWith(prefix));
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  const show = (p: PathCost | undefined) =>
    p === undefined ? 'not measured' : `${n(p.readsPerRequest, 'read')}, ${n(p.writesPerRequest, 'write')}`;
  const memory = find('memory hit');
  const db = find('database hit');
  const due = find('due:');
  return [
    row(
      s,
      'memory hit (tokenServerCache)',
      show(memory),
      'floor 0 reads',
      '= floor',
      memory?.atFloor === true,
    ),
    row(s, 'database hit (tokenServer)', show(db), 'floor 1 read', '= floor', db?.atFloor === true),
    row(
      s,
      'refresh (miss → upstream)',
      `${show(find('miss:'))} (a refresh: ${r.refreshConstant.reads} reads, ${r.refreshConstant.writes} writes); 100 concurrent: ${r.refreshConstant.sameUnderConcurrency ? 'the same in all' : 'MORE'}`,
      'floor: a constant per refresh',
      'constant',
      r.refreshConstant.sameUnderConcurrency,
    ),
    row(
      s,
      'due token (hit + refresh beside it)',
      show(due),
      `1 read + ${r.refreshConstant.reads} reads, ${r.refreshConstant.writes} writes`,
      '≤ hit + refresh',
      due?.atFloor === true,
    ),
  ];
}
