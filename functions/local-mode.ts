/**
 * Run locally (the Firestore emulator or the memory store), the functions must never reach for the
 * cloud metadata server, an address off this machine that Google client libraries probe to find a
 * project and credentials. This module is the first that functions/index.ts loads, so that it runs
 * before any Google library does: in local mode it sets METADATA_SERVER_DETECTION=none, whatever the
 * user set. A deployed function (neither variable set) is left as it is.
 *
 * The one write to the environment; config.ts stays its only reader for configuration.
 */
export function keepLocalRunsLocal(env: NodeJS.ProcessEnv): void {
  const local =
    (env.FIRESTORE_EMULATOR_HOST !== undefined && env.FIRESTORE_EMULATOR_HOST !== '') ||
    env.TOKEN_SERVER_STORE === 'memory';
  if (local) env.METADATA_SERVER_DETECTION = 'none';
}

keepLocalRunsLocal(process.env);
