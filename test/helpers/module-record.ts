/**
 * Loaded into a function process with `NODE_OPTIONS=--require …/module-record.js`: appends the file
 * name of every module the process loads (CommonJS, as it is loaded) to MODULE_RECORD_FILE, one per
 * line, so a test can see what a request made the process load (test/e2e/cold-start-modules.test.ts).
 */
import { appendFileSync } from 'node:fs';
import Module from 'node:module';

const file = process.env.MODULE_RECORD_FILE;
if (file !== undefined && file !== '') {
  const proto = Module.prototype as unknown as { load: (this: unknown, filename: string) => void };
  const load = proto.load;
  proto.load = function recorded(this: unknown, filename: string): void {
    appendFileSync(file, `${filename}\n`);
    load.call(this, filename);
  };
}
