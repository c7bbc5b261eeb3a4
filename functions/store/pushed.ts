/**
 * Pushed values: what a provider sends to the event route for a secret (README "Pushed tickets"), kept
 * in their own document `pushed/{realm}:{key}`, apart from the secret (which admins replace) and
 * its token document (which the engine rewrites on every refresh). The ticket (and a pending
 * authorization code) is sealed with the document's path as associated data; everything else is
 * bookkeeping without secrets.
 */
import { mismatch, type Shape } from './doc-shape';
import { AppError } from '../errors';
import type { Sealer } from './seal';
import { secretDocId } from './doc-id';

export const PUSHED_COLLECTION = 'pushed';

/** A message handled recently: its digest and the store time it was handled (duplicates are no-ops). */
export interface RecentMessage {
  id: string;
  at: number;
}

/** Every time is store time (epoch ms), except ticketCreatedAt: the provider's own CreateTime. */
export interface PushedState {
  realm: string;
  key: string;
  /** The newest ticket (sealed at rest). */
  ticket?: string;
  /** The CreateTime (ms) of the message that carried it: an older message never replaces it. */
  ticketCreatedAt?: number;
  /** When it arrived (store time): its age and freshness count from here. */
  ticketArrivedAt?: number;
  /** When the broker last asked the provider to push again (recorded before the call is sent). */
  startPushAt?: number;
  /**
   * When the freshness scan found the ticket stale or missing (store time): a stale episode, which a
   * stored ticket ends (platforms/ticket-freshness.ts). Its start and end are webhook events.
   */
  staleSince?: number;
  /** Messages handled in the replay window, newest last, bounded. */
  recent?: RecentMessage[];
  /**
   * On an authorizer's document (platforms/authorization-events.ts): the CreateTime (ms) and
   * InfoType of the newest authorization event applied or being applied (an older one changes
   * nothing), and whether it is done.
   */
  authorizationAt?: number;
  authorizationEvent?: string;
  authorizationDone?: boolean;
  /** An authorization code not yet exchanged (sealed at rest), and when it expires (ms). */
  pendingCode?: string;
  pendingCodeExpiresAt?: number;
  /**
   * On a component's document (platforms/authorizer-followups.ts): the authorizers whose code is
   * kept for later, the cursor of a sync that has not finished, and until when (store time) a
   * scheduled run has claimed that work.
   */
  pendingAuthorizers?: string[];
  syncCursor?: string;
  followUpUntil?: number;
}

export interface PushedRead {
  state: PushedState | null;
  /** Store time of the read. */
  now: number;
}

/** A pure decision on the current state at store time `now` (may run more than once). */
export type PushedMutator<R> = (
  current: PushedState | null,
  now: number,
) => { next?: PushedState; result: R };

export function pushedPath(realm: string, key: string): string {
  return `${PUSHED_COLLECTION}/${secretDocId(realm, key)}`;
}

const pushedDoc: Shape = {
  realm: 'string',
  key: 'string',
  'ticket?': 'string',
  'ticketCreatedAt?': 'number',
  'ticketArrivedAt?': 'number',
  'startPushAt?': 'number',
  'staleSince?': 'number',
  'recent?': { array: { object: { id: 'string', at: 'number' } } },
  'authorizationAt?': 'number',
  'authorizationEvent?': 'string',
  'authorizationDone?': 'boolean',
  'pendingCode?': 'string',
  'pendingCodeExpiresAt?': 'number',
  'pendingAuthorizers?': { array: 'string' },
  'syncCursor?': 'string',
  'followUpUntil?': 'number',
};

export function encodePushed(p: PushedState, sealer: Sealer): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...p };
  if (p.ticket !== undefined) doc.ticket = sealer.seal(p.ticket, pushedPath(p.realm, p.key));
  if (p.pendingCode !== undefined)
    doc.pendingCode = sealer.seal(p.pendingCode, `${pushedPath(p.realm, p.key)}#pendingCode`);
  for (const [k, v] of Object.entries(doc)) if (v === undefined) delete doc[k];
  return doc;
}

/**
 * `open: false` leaves the sealed ticket out (its times stay): what status needs, and a document
 * sealed under a key this instance lacks cannot break a listing.
 */
export function decodePushed(d: Record<string, unknown>, sealer: Sealer, open = true): PushedState {
  const field = mismatch(pushedDoc, d);
  if (field !== undefined) {
    throw new AppError(
      'INTERNAL',
      `A stored pushed-values document is not in this version's format (${field})`,
      {
        details: { field },
      },
    );
  }
  const p = d as unknown as PushedState;
  const state: PushedState = { ...p };
  if (p.pendingCode !== undefined) {
    if (open) state.pendingCode = sealer.open(p.pendingCode, `${pushedPath(p.realm, p.key)}#pendingCode`);
    else delete state.pendingCode;
  }
  if (p.ticket === undefined) return state;
  if (open) state.ticket = sealer.open(p.ticket, pushedPath(p.realm, p.key));
  else delete state.ticket;
  return state;
}
