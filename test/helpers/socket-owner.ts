/**
 * Which of some processes owns a TCP connection to a fake provider (Linux /proc): the fake sees
 * the caller's port (127.0.0.1:port); /proc/net/tcp maps that local port to a socket inode, and a
 * process's /proc/PID/fd links name the inodes it holds. Lets a test SIGKILL exactly the function
 * process that is waiting for an answer the fake holds (and the platform bench's proxy,
 * bench/scenarios/platform-holder-killer.ts, the process that sent a request it holds).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/**
 * The socket inodes bound to local port `port` (IPv4 and IPv6 tables); with `remotePort`, only the
 * one connected to that port (the exact connection, where the local port alone might also match a
 * socket of another process).
 */
function inodesOfLocalPort(port: number, remotePort?: number): Set<string> {
  const hexPort = hex(port);
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const remote = fields[2];
      const inode = fields[9];
      if (local === undefined || inode === undefined || inode === '0') continue;
      if (local.slice(local.lastIndexOf(':') + 1) !== hexPort) continue;
      if (remotePort !== undefined && remote?.slice(remote.lastIndexOf(':') + 1) !== hex(remotePort))
        continue;
      inodes.add(inode);
    }
  }
  return inodes;
}

/**
 * The pid among `pids` holding a socket whose local port is `port` (and, if given, whose remote port
 * is `remotePort`), or undefined.
 */
export function pidOwningPort(
  port: number,
  pids: readonly number[],
  remotePort?: number,
): number | undefined {
  const inodes = inodesOfLocalPort(port, remotePort);
  if (inodes.size === 0) return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] !== undefined && inodes.has(m[1])) return pid;
    }
  }
  return undefined;
}
