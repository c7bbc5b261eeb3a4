/**
 * The fake provider as a process, for `npm start`'s quick start and for benchmarks:
 *
 *   node lib/test/fakes/provider-main.js [--port 8099] [--latency 0]
 *
 * Prints one JSON line on stdout: {"url": "...", "presets": {name: {url, values}}}, so that a script
 * can create realms (with the preset configs pointed at the fake) and secrets from it. Stops on
 * SIGINT/SIGTERM.
 */
import { realmFor, startFakeProvider, FAKE_PATHS, type FakePresetName } from './providers';

export interface ProviderMainOptions {
  port: number;
  latencyMs: number;
}

/** Parses --port N and --latency MS (also --port=N); throws on anything else. */
export function parseProviderArgs(argv: readonly string[]): ProviderMainOptions {
  const options: ProviderMainOptions = { port: 0, latencyMs: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = inline ?? argv[++i];
    const number = Number(value);
    if (value === undefined || !Number.isInteger(number) || number < 0)
      throw new Error(`${flag} needs a whole number`);
    if (flag === '--port' && number <= 65535) options.port = number;
    else if (flag === '--latency') options.latencyMs = number;
    else throw new Error(`unknown option ${flag} (use --port N --latency MS)`);
  }
  return options;
}

async function main(): Promise<void> {
  let options: ProviderMainOptions;
  try {
    options = parseProviderArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const fake = await startFakeProvider({ port: options.port, latencyMs: options.latencyMs });
  const presets: Record<string, { url: unknown; values: Record<string, string> }> = {};
  for (const name of Object.keys(FAKE_PATHS) as FakePresetName[]) {
    presets[name] = { url: realmFor(name, fake.url).url, values: fake.credentials(name) };
  }
  process.stdout.write(`${JSON.stringify({ url: fake.url, presets })}\n`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) void main();
