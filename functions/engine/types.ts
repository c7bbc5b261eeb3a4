/**
 * What the engine's callers hand it and get back, apart from the engine itself (engine.ts), so that
 * the engine's helpers (dependent.ts, fixed-token.ts, probe.ts, refresh-due.ts) name these types
 * without importing the engine that imports them.
 */
import type { RealmConfig } from '../providers/realm-config';
import type { Rotated } from '../providers/rotated';

export interface TokenRequest {
  realm: string;
  key: string;
  flush?: boolean;
  invalidToken?: string;
}

export type Fetcher = (
  config: RealmConfig,
  values: Record<string, string>,
  options: { allowPrivate: boolean; timeoutMs: number },
) => Promise<{ token: string; lifetimeMs: number; rotated?: Rotated }>;

export interface RefreshSummary {
  refreshed: number;
  failed: number;
  skipped: number;
}
