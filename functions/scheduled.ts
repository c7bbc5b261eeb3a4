/**
 * The scheduled refresh: Cloud Scheduler invokes tokenServerRefresh every minute, and it refreshes
 * every due token through TokenEngine.refreshDue, the code path of POST /api/refresh (a query on
 * the due time: engine/refresh-due.ts). Traffic refreshes due tokens too; the schedule makes sure
 * that idle secrets stay fresh, so that the first request after a quiet hour is a hit and not a
 * wait for the provider. Each run also scans pushed tickets' freshness (platforms/ticket-freshness.ts)
 * and finishes WeChat components' kept authorization codes and unfinished syncs
 * (platforms/authorizer-followups.ts).
 */
import { DEFAULT_REFRESH_CONCURRENCY, type DueRunSummary } from './engine/refresh-due';
import { AppError } from './errors';
import { probeTokens } from './engine/probe';
import { log } from './log';
import { checkQuotas } from './quota/check';
import { scanTicketFreshness, type FreshnessSummary } from './platforms/ticket-freshness';
import {
  finishAuthorizerFollowUps,
  isFollowUpComponent,
  type FollowUpSummary,
} from './platforms/authorizer-followups';
import type { Component } from './platforms/component-api';
import type { Runtime } from './runtime';

/** At most this many refreshes run at once in one scheduled run (as POST /api/refresh's default). */
export const SCHEDULED_REFRESH_CONCURRENCY = DEFAULT_REFRESH_CONCURRENCY;
/**
 * A run starts no refresh after this long, so that runs a minute apart rarely overlap (overlapping
 * is safe: each refresh is a lease); what is left is still due and comes first in the next run.
 */
export const SCHEDULED_REFRESH_BUDGET_MS = 45_000;

/** What Cloud Scheduler tells the function (firebase-functions' ScheduledEvent). */
export interface ScheduledRun {
  jobName?: string;
  scheduleTime: string;
}

function elapsedMs(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
}

/**
 * One scheduled run. Provider failures are not errors of the run (the engine logs each one and
 * /api/status shows it); a run that cannot work at all (no master key) throws, so that the job is
 * marked failed in Cloud Scheduler.
 */
export async function runScheduledRefresh(
  runtime: Runtime,
  run: ScheduledRun,
  concurrency = SCHEDULED_REFRESH_CONCURRENCY,
  budgetMs = SCHEDULED_REFRESH_BUDGET_MS,
): Promise<DueRunSummary> {
  const started = process.hrtime.bigint();
  if (runtime.keys.masterKey === undefined) {
    const message =
      runtime.keys.problems.masterKey ?? 'No master key is configured: tokens cannot be refreshed';
    log('ERROR', `scheduled refresh not ready: ${message}`, {
      event: 'scheduled_refresh',
      outcome: 'not_ready',
      job: run.jobName,
      scheduleTime: run.scheduleTime,
    });
    throw new AppError('NOT_READY', message);
  }
  const summary = await runtime.engine.refreshDue(concurrency, budgetMs);
  const probes = await probeTokens({
    store: runtime.store,
    allowPrivateUpstreams: runtime.config.allowPrivateUpstreams,
    instanceId: runtime.instanceId,
    getToken: (req) => runtime.engine.getToken(req),
  });
  // At most hourly per secret (claimed in its token state): WeChat's quota count against ours.
  const quota = await checkQuotas({
    store: runtime.store,
    allowPrivateUpstreams: runtime.config.allowPrivateUpstreams,
    instanceId: runtime.instanceId,
  });
  // Pushed tickets not renewed for 25 minutes: reported stale, and a push asked for (§11.2).
  // Its walk also collects the WeChat components the follow-ups below look at (one walk, not two).
  const components: Component[] = [];
  const tickets = await scanTicketFreshness(
    { store: runtime.store, allowPrivate: runtime.config.allowPrivateUpstreams },
    (secret, config) => {
      if (isFollowUpComponent(secret, config)) components.push({ secret, config });
    },
  ).catch((err: unknown): FreshnessSummary => {
    log('WARNING', `ticket freshness scan failed: ${err instanceof Error ? err.message : 'unknown error'}`, {
      event: 'ticket_freshness',
      outcome: 'error',
      code: err instanceof AppError ? err.code : 'INTERNAL',
    });
    return { scanned: 0, stale: 0, startPushSent: 0, startPushFailed: 0 };
  });
  // Kept authorization codes and unfinished authorizer syncs of WeChat components (each claimed by one run).
  const followUps = await finishAuthorizerFollowUps(runtime, components).catch(
    (err: unknown): FollowUpSummary | undefined => {
      log(
        'WARNING',
        `authorizer follow-ups failed: ${err instanceof Error ? err.message : 'unknown error'}`,
        {
          event: 'authorizer_followups',
          outcome: 'error',
          code: err instanceof AppError ? err.code : 'INTERNAL',
        },
      );
      return undefined;
    },
  );
  // Webhook events due for (another) attempt, among them those lost with the instance that made them.
  const webhooks = await runtime.ops.sweep();
  const busy = summary.refreshed + summary.failed + probes.probed + quota.checked + tickets.startPushSent > 0;
  log(
    summary.failed > 0 ? 'WARNING' : busy ? 'INFO' : 'DEBUG',
    `scheduled refresh: ${summary.refreshed} refreshed, ${summary.failed} failed, ${summary.skipped} skipped${summary.complete ? '' : ' (time budget spent: the next run continues)'}`,
    {
      event: 'scheduled_refresh',
      outcome: summary.failed > 0 ? 'partial' : 'ok',
      refreshed: summary.refreshed,
      failed: summary.failed,
      skipped: summary.skipped,
      complete: summary.complete,
      probed: probes.probed,
      probedDead: probes.dead,
      probedRefreshed: probes.refreshed,
      quotaChecked: quota.checked,
      quotaForeign: quota.foreign,
      ticketsScanned: tickets.scanned,
      ticketsStale: tickets.stale,
      startPushSent: tickets.startPushSent,
      startPushFailed: tickets.startPushFailed,
      codesFinished: followUps?.codesStored,
      syncsContinued: followUps?.syncsContinued,
      webhooksDelivered: webhooks.delivered,
      webhooksRetried: webhooks.retried,
      latencyMs: elapsedMs(started),
      job: run.jobName,
      scheduleTime: run.scheduleTime,
      instance: runtime.instanceId,
    },
  );
  return summary;
}

/** The onSchedule handler: the instance's runtime (built once), then one run. */
export function scheduledRefresh(runtime: () => Promise<Runtime>): (run: ScheduledRun) => Promise<void> {
  return async (run) => {
    let rt: Runtime;
    try {
      rt = await runtime();
    } catch (err) {
      // Configuration errors name variables, never values (config.ts).
      const code = err instanceof AppError ? err.code : 'INTERNAL';
      log('ERROR', `scheduled refresh not ready: ${err instanceof Error ? err.message : code}`, {
        event: 'scheduled_refresh',
        outcome: 'not_ready',
        code,
        job: run.jobName,
        scheduleTime: run.scheduleTime,
      });
      throw err;
    }
    await runScheduledRefresh(rt, run);
  };
}
