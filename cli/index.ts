#!/usr/bin/env node
/** The tokenctl binary: wires the real process into runCli and sets the exit code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processIo } from './io';
import { runCli } from './program';

function packageVersion(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

// `tokenctl ... | head -1` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

void runCli(process.argv.slice(2), processIo(process), { version: packageVersion() }).then((code) => {
  process.exitCode = code;
});
