/**
 * Mocha root hooks (required by .mocharc.json). Test processes never probe the GCE metadata server
 * and always use a `demo-` project, even when mocha is run directly instead of through run-tests;
 * after the last test, any function process or emulator a suite forgot to stop is stopped, and the
 * run-wide leak check (leak-registry.ts) runs over every log line and response body of the run.
 * Under run-tests.ts with several workers, each also writes what it saw to TEST_LEAK_DUMP, for the
 * check across workers.
 */
import { writeFileSync } from 'node:fs';
import { setLogSink } from '../../functions/log';
import { dumpRegistry, findLeaks, recordLogSource, registryCounts } from './leak-registry';
import { stopAllChildren, TEST_PROJECT_ID } from './processes';

/**
 * Log lines written by in-process code during the run (kept, not printed, unless TEST_ECHO_LOGS=1):
 * tests may assert on them, and the leak test reads them.
 */
export const capturedLogLines: string[] = [];
if (process.env.TEST_ECHO_LOGS !== '1') setLogSink((line) => capturedLogLines.push(line));
recordLogSource('this mocha process', capturedLogLines);

process.env.METADATA_SERVER_DETECTION ??= 'none';
process.env.GOOGLE_CLOUD_PROJECT ??= TEST_PROJECT_ID;

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    // The check reads every response and log line of the run once per secret kind's index: on a full
    // run (some 4,600 secrets, 15,000 texts) it took about 30 s, over mocha's 30 s for a hook.
    this.timeout(300_000);
    const started = Date.now();
    await stopAllChildren();
    // One of several workers (run-tests.ts): what it saw goes to the check across all of them.
    const dump = process.env.TEST_LEAK_DUMP;
    if (dump !== undefined && dump !== '')
      writeFileSync(dump, JSON.stringify(dumpRegistry()), { mode: 0o600 });
    // The run-wide leak check over every log line and response body (test/helpers/leak-registry.ts).
    const leaks = findLeaks();
    const seen = registryCounts();
    const secrets = Object.entries(seen.secrets)
      .map(([kind, n]) => `${n} ${kind}s`)
      .join(', ');
    console.log(
      `  leak check: ${secrets} against ${seen.responses} responses and ${seen.logLines} log lines: ` +
        (leaks.length === 0 ? 'none leaked' : `${leaks.length} leaks`) +
        ` (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    if (leaks.length > 0) {
      throw new Error(
        `Secrets leaked during the test run (${leaks.length}):\n${leaks.slice(0, 20).join('\n')}`,
      );
    }
  },
};
