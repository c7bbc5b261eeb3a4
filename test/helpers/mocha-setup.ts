/**
 * Mocha root hooks (required by .mocharc.json). Test processes never probe the GCE metadata server
 * and always use a `demo-` project, even when mocha is run directly instead of through run-tests;
 * after the last test, any function process or emulator a suite forgot to stop is stopped.
 */
import { setLogSink } from '../../functions/log';
import { stopAllChildren, TEST_PROJECT_ID } from './processes';

/**
 * Log lines written by in-process code during the run (kept, not printed, unless TEST_ECHO_LOGS=1):
 * tests may assert on them, and the leak test reads them.
 */
export const capturedLogLines: string[] = [];
if (process.env.TEST_ECHO_LOGS !== '1') setLogSink((line) => capturedLogLines.push(line));

process.env.METADATA_SERVER_DETECTION ??= 'none';
process.env.GOOGLE_CLOUD_PROJECT ??= TEST_PROJECT_ID;

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopAllChildren();
  },
};
