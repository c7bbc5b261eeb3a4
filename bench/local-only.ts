/**
 * The bench process itself runs Google client libraries in-process (the counting scenarios build
 * runtimes from the stack's environment, not from process.env), so it must never let them probe the
 * cloud metadata server: loaded first by bench/index.ts, before any Google library, as
 * functions/local-mode.ts is by the functions.
 */
process.env.METADATA_SERVER_DETECTION = 'none';
