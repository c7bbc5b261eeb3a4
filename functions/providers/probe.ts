/**
 * A realm's probe (README "Probes: tokens killed from outside"): one cheap GET that needs a valid token, whose answer
 * says whether the token is still alive. WeChat Official Account tokens die without notice when
 * another system fetches one with the same appid; the probe is how the broker notices.
 */
import { codeMatches } from './extract';
import { getByPath } from './dot-path';
import type { RealmConfig, RealmProbe } from './realm-config';
import { buildRequest } from './request';
import { PARENT_TOKEN, type SecretValues } from './template';
import { sendUpstream } from './upstream';

/** dead: the provider said the token is invalid or expired; unknown: no usable answer. */
export type ProbeVerdict = 'alive' | 'dead' | 'unknown';

/**
 * Calls the probe with `token` as ${token} (and the secret's values for any $key_N). Never throws:
 * a probe that cannot be made or answered says 'unknown', so that the token is left alone.
 */
export async function probeToken(
  config: RealmConfig & { probe: RealmProbe },
  values: SecretValues,
  token: string,
  options: { allowPrivate: boolean },
): Promise<{ verdict: ProbeVerdict; code?: unknown }> {
  const { probe } = config;
  try {
    const built = buildRequest(
      { ...config, url: probe.url, method: 'GET', arguments: probe.arguments },
      {
        ...values,
        [PARENT_TOKEN]: token,
      },
    );
    const answer = await sendUpstream(built, {
      allowPrivate: options.allowPrivate,
      timeoutMs: config.timeout_ms,
    });
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return { verdict: 'unknown' };
    }
    const code = getByPath(body, probe.error_path);
    if (code !== undefined && codeMatches(probe.dead_values, code)) return { verdict: 'dead', code };
    const ok = answer.status >= 200 && answer.status < 300 && (code === undefined || codeMatches([0], code));
    return ok ? { verdict: 'alive' } : { verdict: 'unknown', code };
  } catch {
    return { verdict: 'unknown' };
  }
}
