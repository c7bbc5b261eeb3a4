/**
 * The one error class of tokenctl. Every failure that reaches the user is a CliError carrying the
 * exit code of README "tokenctl: the admin CLI", so that the entry point only has to print it and return its code.
 */
import { AppError, ERROR_CODES } from '../functions/errors';

/** README "tokenctl: the admin CLI": the exit codes that shell scripts can rely on. */
export const EXIT = {
  OK: 0,
  /** The server answered with an error. */
  SERVER_ERROR: 1,
  /** Usage or validation error found before any request was made. */
  USAGE: 2,
  /** The server could not be reached, or it rejected our credentials. */
  UNREACHABLE: ERROR_CODES.UNAUTHENTICATED.exit,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliErrorOptions {
  /** The server's error code (NOT_FOUND, ...) or one of ours (USAGE, UNREACHABLE, ...). */
  code: string;
  exitCode: ExitCode;
  /** HTTP status, when the server answered. */
  status?: number;
  /** The server's `details`, printed as they are: the server never puts credentials there. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class CliError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: CliErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = options.code;
    this.exitCode = options.exitCode;
    this.status = options.status;
    this.details = options.details;
  }
}

/** A usage or validation error found before any request: exit 2. */
export function usageError(message: string): CliError {
  return new CliError(message, { code: 'USAGE', exitCode: EXIT.USAGE });
}

/**
 * The exit code for an error answer of the server. README "tokenctl: the admin CLI": 401 means "authentication failed" (3);
 * every other error answer is "the server answered an error" (1), whatever its HTTP status, because it
 * happened after the request was made (ERROR_CODES' exit 2 for 400s applies to local validation).
 */
export function exitCodeForServerError(status: number, code: string): ExitCode {
  if (status === 401 || code === 'UNAUTHENTICATED') return EXIT.UNREACHABLE;
  return EXIT.SERVER_ERROR;
}

/**
 * A validation error of a schema shared with the server (functions/), raised here before any
 * request: its exit code comes from the error table (INVALID_ARGUMENT → 2), its message names each
 * offending field.
 */
export function fromAppError(err: AppError, what: string): CliError {
  const issues = err.details?.issues;
  const lines = Array.isArray(issues)
    ? issues.map((i: unknown) => {
        const issue = i as { field?: unknown; message?: unknown };
        return `  ${String(issue.field)}: ${String(issue.message)}`;
      })
    : [];
  return new CliError(lines.length > 0 ? `Invalid ${what}:\n${lines.join('\n')}` : err.message, {
    code: err.code,
    exitCode: ERROR_CODES[err.code].exit,
    cause: err,
  });
}
