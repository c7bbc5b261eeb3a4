/**
 * The due scan behind the scheduled refresh and POST /api/refresh: one indexed query on the token
 * documents' due time (`dueAt <= now`, token/due-time.ts), read in bounded pages of a projection
 * (realm, key, dueAt: never the sealed token), each due token refreshed through the engine with
 * bounded parallelism, until the work is done or the run's time budget is spent. Reads and memory
 * grow with the number of due tokens, not with the number of secrets; what a run leaves undone is
 * still due, so the next run finds it first (the query is ordered by due time).
 */
import type { Clock } from '../clock';
import type { DueEntry, DuePosition, Store } from '../store/store';
import type { RefreshSummary } from './types';

/**
 * Refreshes at once, by default (POST /api/refresh and the scheduled run). Chosen from a
 * measurement: README "Costs" (refresh throughput on the emulator with a fake provider).
 */
export const DEFAULT_REFRESH_CONCURRENCY = 32;
/**
 * POST /api/refresh stops starting refreshes after this long, so that it answers within
 * tokenServer's 60 s timeout (refreshes in flight finish within their 15 s lease).
 */
export const REFRESH_ROUTE_BUDGET_MS = 30_000;

/** Entries per page of the due query (bounded memory: one page and the refreshes in flight). */
export const DUE_PAGE_SIZE = 200;
/** Token documents written without `dueAt` (by the previous version) backfilled per run. */
export const BACKFILL_PER_RUN = 2_000;

export type RefreshOutcome = 'refreshed' | 'failed' | 'skipped';

export interface DueRunOptions {
  store: Store;
  clock: Clock;
  /** Refresh one secret if it is still due (the engine's refreshOne: it decides under its lease). */
  refreshOne: (realm: string, key: string) => Promise<RefreshOutcome>;
  /** Refreshes at once. */
  concurrency: number;
  /** No new refresh starts after this many ms; those in flight finish (each bounded by its lease). */
  budgetMs: number;
  pageSize?: number;
  backfillPerRun?: number;
}

export interface DueRunSummary extends RefreshSummary {
  /** False when the time budget ran out with due tokens left: the next run continues. */
  complete: boolean;
}

export async function refreshDueTokens(o: DueRunOptions): Promise<DueRunSummary> {
  const started = o.clock.now();
  const pageSize = o.pageSize ?? DUE_PAGE_SIZE;
  const summary: DueRunSummary = { refreshed: 0, failed: 0, skipped: 0, complete: true };
  // Documents of the previous version have no dueAt, so the query cannot see them: give a bounded
  // number of them one per run (a no-op costing nothing once all have it).
  await o.store.backfillDueTimes(o.backfillPerRun ?? BACKFILL_PER_RUN);
  // One "now" for the whole run: tokens falling due meanwhile are the next run's.
  const now = o.clock.now();

  const queue: DueEntry[] = [];
  let after: DuePosition | undefined;
  let exhausted = false;
  let fetching: Promise<void> | undefined;
  const fetchPage = (): Promise<void> =>
    (fetching ??= (async () => {
      const page = await o.store.listDueTokens({
        now,
        limit: pageSize,
        ...(after === undefined ? {} : { after }),
      });
      queue.push(...page.list);
      after = page.next;
      exhausted = page.next === undefined;
    })().finally(() => {
      fetching = undefined;
    }));

  const next = async (): Promise<DueEntry | undefined> => {
    for (;;) {
      if (o.clock.now() - started >= o.budgetMs) {
        if (queue.length > 0 || !exhausted) summary.complete = false;
        return undefined;
      }
      const entry = queue.shift();
      if (entry !== undefined) return entry;
      if (exhausted) return undefined;
      await fetchPage();
    }
  };
  const worker = async (): Promise<void> => {
    for (let entry = await next(); entry !== undefined; entry = await next()) {
      const outcome = await o.refreshOne(entry.realm, entry.key).catch((): RefreshOutcome => 'failed');
      summary[outcome]++;
    }
  };
  await fetchPage();
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  return summary;
}
