/**
 * tokenServerCache's in-instance memory cache in front of the engine. A hit costs no store read. An
 * entry is served until the earliest of: its serving deadline (never past it), its refresh due time
 * (so that a due refresh is noticed), half the overlap after it was observed (providers that kill
 * the previous token), and a maximum age (so replaced, deleted or re-created credentials are
 * noticed). All of these are instance-clock times derived from the store's (engine/served.ts).
 */
import type { Clock } from '../clock';
import type { ServedToken, TokenEngine, TokenRequest } from './engine';
import { MIN_SERVE_MS } from '../token/phase';

/**
 * A slower, older answer must not replace a newer token (e.g. one a flush just fetched): within one
 * credentials revision the generation orders them. Across revisions (the secret was re-posted, or
 * deleted and created again, and its generation may start over) the later observation wins.
 */
function isNewer(kept: ServedToken, incoming: ServedToken): boolean {
  if (kept.secretRev === incoming.secretRev) return kept.generation > incoming.generation;
  return kept.observedAt > incoming.observedAt;
}

interface Entry {
  served: ServedToken;
  checkAt: number;
}

export class EdgeCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly engine: Pick<TokenEngine, 'getToken'>,
    private readonly clock: Clock,
    private readonly maxAgeMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** A memory hit, synchronously; undefined when the engine must be asked. */
  peek(req: TokenRequest): ServedToken | undefined {
    if (req.flush === true || req.invalidToken !== undefined) return undefined;
    const entry = this.entries.get(`${req.realm}\u0000${req.key}`);
    const now = this.clock.now();
    if (entry !== undefined && now < entry.checkAt && entry.served.deadline - now >= MIN_SERVE_MS) {
      return { ...entry.served, source: 'memory' };
    }
    return undefined;
  }

  async getToken(req: TokenRequest): Promise<ServedToken> {
    const hit = this.peek(req);
    if (hit !== undefined) return hit;
    const served = await this.engine.getToken(req);
    // An invalid_token report's outcome belongs to that answer only: a plain request served from
    // memory later did not report anything, so the entry keeps the token without it.
    const { outcome: _outcome, ...token } = served;
    this.remember(`${req.realm}\u0000${req.key}`, token);
    return served;
  }

  private remember(id: string, served: ServedToken): void {
    const existing = this.entries.get(id);
    if (existing !== undefined && isNewer(existing.served, served)) return;
    const now = this.clock.now();
    const limits = [
      served.refreshAt > now ? served.refreshAt : now + 5_000,
      served.observedAt + this.maxAgeMs,
      served.deadline - MIN_SERVE_MS,
    ];
    if (served.overlapMs !== undefined) limits.push(served.observedAt + served.overlapMs / 2);
    if (this.entries.size >= this.maxEntries && existing === undefined) this.entries.clear();
    this.entries.set(id, { served, checkAt: Math.min(...limits) });
  }

  /** Drop an entry (the secret was replaced or deleted through this instance). */
  forget(realm: string, key: string): void {
    this.entries.delete(`${realm}\u0000${key}`);
  }
}
