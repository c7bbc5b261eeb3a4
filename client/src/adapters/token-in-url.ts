/** The access_token query parameter of an SDK's API URL: read it, or swap it for another token. */

const PARAM = /([?&]access_token=)([^&#]*)/;

export function tokenInUrl(url: string): string | undefined {
  const m = PARAM.exec(url);
  if (m === null) return undefined;
  try {
    return decodeURIComponent(m[2] ?? '');
  } catch {
    return m[2];
  }
}

/** The same URL with another token; every other byte of it as it was. */
export function withTokenInUrl(url: string, token: string): string {
  return url.replace(PARAM, (_all, head: string) => `${head}${encodeURIComponent(token)}`);
}
