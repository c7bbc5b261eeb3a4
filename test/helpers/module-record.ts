/**
 * Loaded into a function process with `NODE_OPTIONS=--require …/module-record.js`: appends the file
 * name of every module the process loads (CommonJS, as it is loaded) to MODULE_RECORD_FILE, one per
 * line, and a line `> response <url>` when a response is ended, so a test can see what a request made
 * the process load before it was answered, and what was loaded after
 * (test/e2e/cold-start-modules.test.ts).
 */
import { appendFileSync } from 'node:fs';
import { ServerResponse } from 'node:http';
import Module from 'node:module';

/** The line the record has for a response's end. */
export const RESPONSE_MARK = '> response ';

const file = process.env.MODULE_RECORD_FILE;
if (file !== undefined && file !== '') {
  const proto = Module.prototype as unknown as { load: (this: unknown, filename: string) => void };
  const load = proto.load;
  proto.load = function recorded(this: unknown, filename: string): void {
    appendFileSync(file, `${filename}\n`);
    load.call(this, filename);
  };
  const response = ServerResponse.prototype as unknown as {
    end: (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  };
  const end = response.end;
  ServerResponse.prototype.end = function ended(this: ServerResponse, ...args: unknown[]): ServerResponse {
    if (!this.writableEnded) appendFileSync(file, `${RESPONSE_MARK}${this.req?.url ?? '?'}\n`);
    return end.apply(this, args);
  } as typeof ServerResponse.prototype.end;
}
