/**
 * A forwarding proxy in front of a fake provider that kills the function process making a chosen
 * call while that call is in flight (the `platform` scenario's "holders killed mid-refresh"):
 * arm(path, when) picks the next request to `path`, and the process that sent it (found from the
 * connection's two ports by test/helpers/socket-owner.ts: /proc/net/tcp gives the socket's inode,
 * /proc/PID/fd the process holding it) is SIGKILLed either
 * - 'before' the request reaches the provider (the attempt was recorded, nothing rotated), or
 * - 'after' the provider answered (it rotated the refresh token; the answer dies with the holder).
 * Every other request is forwarded as it came and its answer returned as it went (through
 * `rewrite` when given: e.g. shorter token lifetimes than a fake answers). Linux only.
 */
import * as http from 'node:http';
import { pidOwningPort } from '../../test/helpers/socket-owner';
import { listenOnLoopback } from '../../test/helpers/ports';

export type KillPoint = 'before' | 'after';

export interface KillRecord {
  pid: number;
  point: KillPoint;
  path: string;
}

export interface HolderKiller {
  readonly url: string;
  /** The next request to `path` (from one of `pids()`) gets its sender SIGKILLed at `point`. */
  arm(path: string, point: KillPoint): void;
  armed(): boolean;
  readonly kills: KillRecord[];
  /** Armed requests whose sender was not among the candidate processes (not killed). */
  readonly unmatched: number;
  close(): Promise<void>;
}

/**
 * `target`: the provider's base URL; `pids()`: the processes that may be killed; `onKill` is told
 * after each kill (to start a replacement).
 */
export async function startHolderKiller(
  target: string,
  pids: () => readonly number[],
  onKill: (pid: number) => void,
  rewrite: (path: string, body: Buffer) => Buffer = (_path, body) => body,
): Promise<HolderKiller> {
  let armedFor: { path: string; point: KillPoint } | undefined;
  let unmatched = 0;
  const kills: KillRecord[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://proxy').pathname;
      let victim: number | undefined;
      let point: KillPoint | undefined;
      if (armedFor !== undefined && armedFor.path === path) {
        point = armedFor.point;
        // The sender's side of this connection: its local port is our remote port, and back.
        victim = pidOwningPort(req.socket.remotePort ?? 0, pids(), req.socket.localPort ?? 0);
        if (victim === undefined) unmatched++;
        else armedFor = undefined;
      }
      const kill = (): void => {
        if (victim === undefined || point === undefined) return;
        try {
          process.kill(victim, 'SIGKILL');
        } catch {
          // already gone
        }
        kills.push({ pid: victim, point, path });
        onKill(victim);
        req.socket.destroy();
      };
      if (victim !== undefined && point === 'before') return kill();
      const headers = { ...req.headers };
      delete headers.host;
      delete headers['content-length'];
      fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers: headers as Record<string, string>,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
      })
        .then(async (upstream) => {
          const body = Buffer.from(await upstream.arrayBuffer());
          if (victim !== undefined) return kill();
          res.writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'application/json',
          });
          res.end(rewrite(path, body));
          return undefined;
        })
        .catch(() => {
          res.writeHead(502).end();
        });
      return undefined;
    });
  });
  // Longer than the callers' keep-alive (a connection closed as it is reused is a failed call).
  server.keepAliveTimeout = 65_000;
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    arm(path, at) {
      armedFor = { path, point: at };
    },
    armed: () => armedFor !== undefined,
    kills,
    get unmatched() {
      return unmatched;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
