/**
 * Operations (audit log, webhooks) for one runtime: the ops store beside the main store, the audit
 * hasher, and the token hook that adds webhook events and report audits to token state commits and
 * starts delivery once they are committed, and the pushed-values hook that adds ticket events.
 */
import type { Clock, Random } from '../clock';
import { log } from '../log';
import type * as MemoryStoreModule from '../store/memory/memory-store';
import { FirestoreStore } from '../store/firestore/firestore-store';
import type { Sealer } from '../store/seal';
import type { PushedChangeHook, SideWrite, TokenChangeHook } from '../store/side-writes';
import type { Store } from '../store/store';
import { AuditKey } from './audit/audit-key';
import { reportAuditCommitted, reportAuditWrites } from './audit/report-context';
import { outboxWrite } from './codec';
import { FirestoreOps } from './firestore-ops';
import type * as MemoryOpsModule from './memory-ops';
import { OUTBOX_COLLECTION, type OpsStore } from './ops-store';
import type * as Deliver from './webhooks/deliver';
import type { DeliveryDeps, SweepSummary } from './webhooks/deliver';
import { tokenEvents } from './webhooks/events';
import { ticketEvents } from './webhooks/ticket-events';

export interface Ops {
  store: OpsStore;
  /** The audit HMAC key (its hasher: undefined without a master key), kept across key rotations. */
  auditKey: AuditKey;
  /** Delivers the due outbox entries (scheduled run, POST /api/refresh). */
  sweep(): Promise<SweepSummary>;
}

export interface OpsOptions {
  store: Store;
  sealer: Sealer;
  masterKey: Buffer | undefined;
  clock: Clock;
  random: Random;
  allowPrivate: boolean;
  /** Webhook delivery waits (DeliveryDeps); the defaults when absent. */
  webhookRetryMinMs?: number;
  webhookLeaseMs?: number;
}

/* eslint-disable @typescript-eslint/no-require-imports -- what a Firestore instance never uses, and
   webhook delivery (its URL guard), are loaded on first use (README "Cold start") */
function opsStoreFor(o: OpsOptions): OpsStore {
  if (o.store instanceof FirestoreStore) {
    const store = o.store;
    return new FirestoreOps(store.db, o.sealer, () => store.conditionalDb());
  }
  const { MemoryStore } = require('../store/memory/memory-store') as typeof MemoryStoreModule;
  if (o.store instanceof MemoryStore) {
    const { MemoryOps } = require('./memory-ops') as typeof MemoryOpsModule;
    return new MemoryOps(o.store, o.sealer, o.clock);
  }
  throw new Error(`No ops store for a ${o.store.kind} store of this kind`);
}

function delivery(): typeof Deliver {
  return require('./webhooks/deliver') as typeof Deliver;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** Builds the runtime's Ops and sets the main store's token hook. */
export function createOps(o: OpsOptions): Ops {
  const store = opsStoreFor(o);
  const deps: DeliveryDeps = {
    ops: store,
    clock: o.clock,
    random: o.random,
    allowPrivate: o.allowPrivate,
    ...(o.webhookRetryMinMs === undefined ? {} : { retryMinMs: o.webhookRetryMinMs }),
    ...(o.webhookLeaseMs === undefined ? {} : { leaseMs: o.webhookLeaseMs }),
  };
  // Delivered at once by this instance; what is lost with it is swept by the next run.
  const deliverNow = (writes: readonly SideWrite[]): void => {
    for (const w of writes) {
      if (w.collection !== OUTBOX_COLLECTION) continue;
      delivery()
        .deliverEntry(deps, w.id)
        .catch((err: unknown) => {
          log('WARNING', `webhook delivery failed: ${err instanceof Error ? err.message : 'unknown error'}`, {
            event: 'webhook_delivery',
            eventId: w.id,
            outcome: 'error',
          });
        });
    }
  };
  const hook: TokenChangeHook = {
    writesFor: (before, after, now): SideWrite[] => [
      ...tokenEvents(before, after, now).map(outboxWrite),
      ...reportAuditWrites(before, after),
    ],
    committed: (writes) => {
      reportAuditCommitted(writes);
      deliverNow(writes);
    },
  };
  o.store.tokenHook = hook;
  const pushedHook: PushedChangeHook = {
    writesFor: (before, after, now): SideWrite[] => ticketEvents(before, after, now).map(outboxWrite),
    committed: deliverNow,
  };
  o.store.pushedHook = pushedHook;
  // A sweep that fails (database unreachable) leaves the entries due for the next run; the refresh
  // run it is part of goes on.
  const sweep = (): Promise<SweepSummary> =>
    delivery()
      .sweepOutbox(deps)
      .catch((err: unknown) => {
        log('WARNING', `webhook sweep failed: ${err instanceof Error ? err.message : 'unknown error'}`, {
          event: 'webhook_sweep',
          outcome: 'error',
        });
        return { delivered: 0, retried: 0 };
      });
  return { store, auditKey: new AuditKey(store, o.sealer, o.masterKey), sweep };
}
