/**
 * An audit record: who changed what, under which request, written by the store in the same commit
 * as the change (a side write: store/side-writes.ts). Values the change set appear only as HMACs
 * (hash.ts).
 */
import { randomUUID } from 'node:crypto';
import type { SideWrite } from '../../store/side-writes';
import type { AuditAction } from './action-names';

export const AUDIT_COLLECTION = 'audit';

// The list lives in a module of its own, which the console bundles too.
export { AUDIT_ACTIONS, type AuditAction } from './action-names';

export interface AuditEntry {
  /** "admin", or "client:<id>" for a client's flush or report. */
  actor: string;
  action: AuditAction;
  /** "realm/key", a realm id, a client id, a webhook id. */
  target: string;
  requestId: string;
  /** HMACs of the secret values the change set (never the values). */
  hashes: string[];
  /** What a change that sets no value did, in numbers (keys.reseal: its page's counts). */
  details?: Record<string, string | number | boolean>;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  /** Store time of the commit (epoch ms). */
  at: number;
  outcome: 'ok';
}

/** The side write of one change's record; `at` is the commit's store time. */
export function auditWrite(entry: AuditEntry): SideWrite {
  const id = randomUUID();
  return {
    collection: AUDIT_COLLECTION,
    id,
    doc: {
      id,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      requestId: entry.requestId,
      outcome: 'ok',
      hashes: [...new Set(entry.hashes)],
      ...(entry.details === undefined ? {} : { details: entry.details }),
    },
    stampField: 'at',
  };
}

/** The API's form of a record. */
export function auditView(r: AuditRecord): Record<string, unknown> {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    request_id: r.requestId,
    outcome: r.outcome,
    hashes: r.hashes,
    ...(r.details === undefined ? {} : { details: r.details }),
  };
}
