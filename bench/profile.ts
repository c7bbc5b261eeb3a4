/**
 * A small summary of a V8 CPU profile (`--cpu-prof`): where the process spent its active time, by
 * package and by function (self time), and which of our own functions the time was spent under
 * (inclusive time). The profile files themselves are git-ignored; this summary goes into the JSON.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { round } from './stats';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export interface TimeShare {
  name: string;
  ms: number;
  /** Percent of the active (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  activeMs: number;
  samples: number;
  /**
   * Self time by package: token-server (lib/functions), node internals, each npm package, GC, V8,
   * and the Functions Framework's per-request domain bookkeeping.
   */
  byPackage: TimeShare[];
  /** Functions with the most self time. */
  topSelf: TimeShare[];
  /** Our functions (lib/functions) by inclusive time: everything that ran under them. */
  topOursInclusive: TimeShare[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/**
 * The Functions Framework runs every request in a `domain`; while a domain is active, Node's domain
 * async hook tags every new promise and async resource (and re-arms the uncaught-exception capture
 * on every callback), which costs microseconds per promise. These frames are that bookkeeping.
 */
export const DOMAIN_BOOKKEEPING = 'domain bookkeeping (per-request domain of the Functions Framework)';
const DOMAIN_URLS = new Set([
  'node:domain',
  'node:internal/async_hooks',
  'node:internal/process/execution',
  'node:internal/process/report',
]);
const DOMAIN_NATIVE = new Set(['registerDestroyHook']);

function packageOf(url: string, functionName: string): string {
  if (DOMAIN_URLS.has(url) || (url === '' && DOMAIN_NATIVE.has(functionName))) return DOMAIN_BOOKKEEPING;
  if (url === '') return SPECIAL.has(functionName) ? functionName : 'V8 builtins / native';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  if (url.includes('/lib/functions/')) return 'token-server (lib/functions)';
  if (url.includes('/lib/bench/')) return 'bench baseline (lib/bench)';
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const lib = url.indexOf('/lib/');
  if (lib >= 0) return url.slice(lib + 1);
  return url.replace(/^file:\/\//, '');
}

function top(map: Map<string, number>, activeUs: number, n: number): TimeShare[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: round(us / 1000, 1), pct: round((us / activeUs) * 100, 1) }));
}

export function summariseProfile(file: string, topN = 15): ProfileSummary {
  const p = profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (id: number): string => {
    const f = byId.get(id)?.callFrame;
    if (f === undefined) return '?';
    if (f.url === '') return f.functionName || '(anonymous)';
    return `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
  };

  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  const oursInclusive = new Map<string, number>();
  let activeUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    // timeDeltas[i + 1] is the time from this sample to the next one: this sample's share.
    const us = p.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id);
    if (node === undefined) continue;
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    if (pkg === '(idle)') continue;
    activeUs += us;
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    const key = keyOf(id);
    self.set(key, (self.get(key) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame === undefined || !frame.url.includes('/lib/functions/')) continue;
      const k = keyOf(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      oursInclusive.set(k, (oursInclusive.get(k) ?? 0) + us);
    }
  }
  const safeActive = Math.max(1, activeUs);
  return {
    file,
    wallMs: round((p.endTime - p.startTime) / 1000, 0),
    activeMs: round(activeUs / 1000, 0),
    samples: p.samples.length,
    byPackage: top(packages, safeActive, 12),
    topSelf: top(self, safeActive, topN),
    topOursInclusive: top(oursInclusive, safeActive, topN),
  };
}
