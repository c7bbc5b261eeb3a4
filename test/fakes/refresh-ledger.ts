/**
 * What a provider that rotates refresh tokens remembers, shared by the rotating fakes
 * (wechat-authorizers.ts, oauth2-rotating.ts). Per subject (an authorizer appid, an OAuth2 grant):
 * the current refresh token and, by the reading of the documentation the test chooses,
 *
 * - 'strict': every successful refresh hands out a new refresh token and the old one is invalid the
 *   moment it rotates (the worst reading of WeChat's documentation);
 * - 'grace': a new one each time, the old one still accepted for `graceMs` after it rotated (reports
 *   of "valid 5 more minutes"); a refresh with it rotates again;
 * - 'stable': the refresh token never changes (WeChat's FAQ reading).
 *
 * Every refresh token it hands out is registered with the run-wide leak check ('refresh token').
 * Counts per subject: refreshes answered, rejections answered.
 */
import { randomBytes } from 'node:crypto';
import { registerSecret } from '../helpers/leak-registry';

export type RotationReading = 'strict' | 'grace' | 'stable';

interface Subject {
  current: string;
  /** Rotated-away values and when they stop being accepted (grace reading). */
  retired: Map<string, number>;
  refreshes: number;
  rejections: number;
}

/** What refresh() answers for a refresh token it does not accept (never a minted value). */
export const REJECTED = '(rejected)';

export class RefreshLedger {
  private readonly subjects = new Map<string, Subject>();

  constructor(
    public reading: RotationReading,
    private readonly prefix: string,
    public graceMs = 300_000,
  ) {}

  /** A new refresh token, registered with the leak check. */
  private mint(): string {
    const value = `${this.prefix}${randomBytes(18).toString('base64url')}`;
    registerSecret(value, 'refresh token', `${this.prefix} fake`);
    return value;
  }

  /** Adds a subject (or authorizes it again): its new refresh token. */
  authorize(subject: string): string {
    const value = this.mint();
    const known = this.subjects.get(subject);
    if (known === undefined) {
      this.subjects.set(subject, { current: value, retired: new Map(), refreshes: 0, rejections: 0 });
    } else {
      known.current = value;
      known.retired.clear();
    }
    return value;
  }

  /** The refresh token the provider holds for a subject now (what an authorizer list shows). */
  current(subject: string): string | undefined {
    return this.subjects.get(subject)?.current;
  }

  subjectIds(): string[] {
    return [...this.subjects.keys()].sort();
  }

  /**
   * A refresh presenting `value`: the refresh token to answer (a new one unless 'stable'), or
   * REJECTED (61023 / invalid_grant). The rotation happens here, when the request arrives, whatever
   * becomes of the answer.
   */
  refresh(subject: string, value: string, now = Date.now()): string {
    const s = this.subjects.get(subject);
    const graceUntil = s?.retired.get(value);
    const accepted =
      s !== undefined &&
      (value === s.current || (this.reading === 'grace' && graceUntil !== undefined && graceUntil > now));
    if (s === undefined || !accepted) {
      if (s !== undefined) s.rejections++;
      return REJECTED;
    }
    s.refreshes++;
    if (this.reading === 'stable') return s.current;
    s.retired.set(s.current, now + this.graceMs);
    s.current = this.mint();
    return s.current;
  }

  refreshes(subject: string): number {
    return this.subjects.get(subject)?.refreshes ?? 0;
  }

  rejections(subject: string): number {
    return this.subjects.get(subject)?.rejections ?? 0;
  }

  totalRejections(): number {
    let n = 0;
    for (const s of this.subjects.values()) n += s.rejections;
    return n;
  }
}
