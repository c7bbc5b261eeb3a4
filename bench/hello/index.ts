/**
 * The baselines of the hit-throughput and cold-start benchmarks, served by the same Functions
 * Framework as token-server (`--source=lib/bench/hello`): the cheapest possible HTTP function, the
 * same behind firebase-functions' onRequest wrapper (as every function `firebase deploy` deploys,
 * ours too), and a function that does exactly one firebase-admin document read per request and
 * nothing else. The last two load firebase only when they are the target (as lib/functions/index.js
 * does), so that hello world's cold start is the framework's alone.
 */
import type * as Firebase from './firebase';

export { hello } from './hello';
export declare const helloOnRequest: typeof Firebase.helloOnRequest;
export declare const rawRead: typeof Firebase.rawRead;

for (const name of ['helloOnRequest', 'rawRead'] as const) {
  Object.defineProperty(exports, name, {
    enumerable: true,
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded for its target only
    get: () => (require('./firebase') as typeof Firebase)[name],
  });
}
