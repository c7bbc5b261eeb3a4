/**
 * The real tokenctl binary (`node lib/cli/index.js`), spawned as a user runs it: with only the
 * environment given (plus PATH), its output collected.
 */
import { join } from 'node:path';
import { repoRoot, spawnTracked } from './processes';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built binary's entry point. */
export const tokenctlPath = (): string => join(repoRoot(), 'lib', 'cli', 'index.js');

/** Runs the real binary with only the environment given (plus PATH), feeding `stdin` if any. */
export async function tokenctl(args: string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  const child = spawnTracked(process.execPath, [tokenctlPath(), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.child.stdin?.end(stdin);
  const { code } = await child.exited;
  return { code, stdout, stderr };
}
