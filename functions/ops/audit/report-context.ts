/**
 * The audit of flushes and invalid_token reports. A report changes the token state only when it
 * takes the refresh lease (a report of an old token, or a flush within flush_min_interval, changes
 * nothing and is not recorded); that change is made deep in the engine, collapsed with every other
 * request for the secret. So the token route runs a report inside a context (who, which request),
 * and the store's token hook adds the record to the commit that takes the lease for that secret:
 * once per report, in the same commit as the change it caused.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SideWrite } from '../../store/side-writes';
import type { TokenState } from '../../store/types';
import { AUDIT_COLLECTION, auditWrite, type AuditEntry } from './record';

interface ReportContext {
  entry: AuditEntry & { realm: string; key: string };
  recorded: boolean;
}

const reports = new AsyncLocalStorage<ReportContext>();

/** Runs a flush or report (`work`) so that the lease it takes is recorded with `entry`. */
export function withReportAudit<T>(entry: AuditEntry & { realm: string; key: string }, work: () => T): T {
  return reports.run({ entry, recorded: false }, work);
}

/** The audit record of the current report, when this change is the lease it takes. */
export function reportAuditWrites(before: TokenState | null, after: TokenState | null): SideWrite[] {
  const ctx = reports.getStore();
  if (ctx === undefined || ctx.recorded || after === null) return [];
  if (after.realm !== ctx.entry.realm || after.key !== ctx.entry.key) return [];
  if (after.lease === undefined || after.lease.id === before?.lease?.id) return [];
  const { realm: _realm, key: _key, ...entry } = ctx.entry;
  return [auditWrite(entry)];
}

/** After the commit: the current report has its record. */
export function reportAuditCommitted(writes: readonly SideWrite[]): void {
  const ctx = reports.getStore();
  if (ctx !== undefined && writes.some((w) => w.collection === AUDIT_COLLECTION)) ctx.recorded = true;
}
