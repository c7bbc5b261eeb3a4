/**
 * A fake OAuth2 token endpoint (RFC 6749 §6) on 127.0.0.1 whose refresh tokens rotate:
 * POST /token, application/x-www-form-urlencoded `grant_type=refresh_token&refresh_token=..&
 * client_id=..&client_secret=..` → {"access_token", "token_type": "Bearer", "expires_in",
 * "refresh_token"}; a refresh token it does not accept → 400 {"error": "invalid_grant"} (RFC 6749
 * §5.2); a wrong client → 401 {"error": "invalid_client"}. Which refresh tokens it accepts is the
 * reading the test chooses (refresh-ledger.ts). Counts refreshes and rejections per grant.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { listenOnLoopback } from '../helpers/ports';
import { registerSecret } from '../helpers/leak-registry';
import { REJECTED, RefreshLedger, type RotationReading } from './refresh-ledger';

export interface OAuth2RotatingFake {
  readonly url: string;
  readonly client: { id: string; secret: string };
  readonly ledger: RefreshLedger;
  /** A new grant (a user's authorization): its refresh token. */
  authorize(grant: string): string;
  calls(): number;
  close(): Promise<void>;
}

export async function startOAuth2RotatingFake(
  reading: RotationReading = 'strict',
  expiresIn = 3600,
): Promise<OAuth2RotatingFake> {
  const client = {
    id: `client-${randomBytes(6).toString('hex')}`,
    secret: `csecret-${randomBytes(12).toString('hex')}`,
  };
  const ledger = new RefreshLedger(reading, 'oauth2rt.');
  /** refresh token → the grant it belongs to (as a real server keeps it). */
  const grantOf = new Map<string, string>();
  let calls = 0;
  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls++;
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('client_id') !== client.id || form.get('client_secret') !== client.secret)
        return send(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      if (form.get('grant_type') !== 'refresh_token')
        return send(res, 400, { error: 'unsupported_grant_type' });
      const presented = form.get('refresh_token') ?? '';
      const grant = grantOf.get(presented);
      const next = grant === undefined ? REJECTED : ledger.refresh(grant, presented);
      if (next === REJECTED || grant === undefined)
        return send(res, 400, { error: 'invalid_grant', error_description: 'The refresh token is invalid' });
      grantOf.set(next, grant);
      const token = `at.${randomBytes(18).toString('base64url')}`;
      registerSecret(token, 'token', 'oauth2-rotating fake');
      return send(res, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: expiresIn,
        refresh_token: next,
      });
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/token`,
    client,
    ledger,
    authorize(grant) {
      const value = ledger.authorize(grant);
      grantOf.set(value, grant);
      return value;
    },
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
