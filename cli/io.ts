/**
 * Everything tokenctl takes from the outside world, passed in: tests run commands with fakes and
 * never spawn the binary; index.ts is the only place that reaches for `process`.
 */
import { readFile } from 'node:fs/promises';
import type { FetchFn } from './api';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** All of standard input as text (for `secret add --stdin` and `realm create --file -`). */
  readStdin: () => Promise<string>;
  readFile: (path: string) => Promise<string>;
  fetch: FetchFn;
  /** Epoch milliseconds, for "in 5m" / "3m ago" in tables. */
  now: () => number;
}

/** Larger input than this is refused: the server takes at most 64 KiB bodies anyway. */
const MAX_INPUT_BYTES = 64 * 1024;

async function readStream(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_INPUT_BYTES) throw new Error(`standard input is larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The real process: stdout/stderr, the environment, stdin, files, global fetch, the clock. */
export function processIo(proc: NodeJS.Process = process): CliIo {
  return {
    stdout: (text) => void proc.stdout.write(text),
    stderr: (text) => void proc.stderr.write(text),
    env: proc.env,
    readStdin: async () => {
      if (proc.stdin.isTTY) {
        proc.stderr.write('Reading from standard input; end with Ctrl-D.\n');
      }
      return readStream(proc.stdin);
    },
    readFile: (path) => readFile(path, 'utf8'),
    fetch: (url, init) => fetch(url, init),
    now: () => Date.now(),
  };
}
