/**
 * A waiting instance in a process of its own, for the emulator test of waiter wake-up:
 *
 *   node lib/test/fakes/waiter-main.js REALM KEY   (FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT,
 *                                                  WAITER_MASTER_KEY = base64 of the master key)
 *
 * It asks the real engine on the Firestore store for the token, with a clock whose sleeps never end
 * and a provider it must never call: it can only be answered by a write that its store watch reports.
 * It prints JSON lines on stdout: {"event":"watching"}, {"event":"change","at":ms} per report, then
 * {"event":"served","token":...,"at":ms,"openWatches":n} or {"event":"failed","message":...}, and exits.
 */
import type { Clock } from '../../functions/clock';
import { TokenEngine } from '../../functions/engine/engine';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';

const say = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);

async function main(): Promise<void> {
  const [realm = '', key = ''] = process.argv.slice(2);
  const sealer = new Sealer(Buffer.from(process.env.WAITER_MASTER_KEY ?? '', 'base64'));
  const store = openStore(
    {
      store: 'firestore',
      projectId: process.env.GOOGLE_CLOUD_PROJECT ?? '',
      emulatorHost: process.env.FIRESTORE_EMULATOR_HOST,
    },
    sealer,
    'waiter',
  );
  const watch = store.watchTokenState?.bind(store);
  if (watch === undefined) throw new Error('the Firestore store cannot watch');
  let open = 0;
  store.watchTokenState = (r, k, onChange) => {
    say({ event: 'watching' });
    open++;
    const stop = watch(r, k, (read) => {
      say({ event: 'change', at: Date.now() });
      onChange(read);
    });
    return () => {
      open--;
      stop();
    };
  };
  const sleepless: Clock = { now: () => Date.now(), sleep: () => new Promise<void>(() => undefined) };
  const engine = new TokenEngine({
    store,
    clock: sleepless,
    random: Math.random,
    instanceId: 'waiter-process',
    leaseMs: 15_000,
    waitMs: 60_000,
    allowPrivateUpstreams: true,
    fetcher: () => Promise.reject(new Error('the waiter called the provider')),
  });
  try {
    const served = await engine.getToken({ realm, key });
    say({ event: 'served', token: served.token, at: Date.now(), openWatches: open });
  } catch (err) {
    say({ event: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
