import { createSim, drive, fetchAll } from '../sim';
async function main(): Promise<void> {
  const t = Date.now();
  const sim = await createSim({ secrets: 1000, lifetimeMs: 7_200_000, instances: ['tokenServer', 'tokenServerCache'], seed: 1 });
  await fetchAll(sim);
  console.log('setup', Date.now() - t, sim.provider.calls.length);
  const t2 = Date.now();
  const r = await drive(sim, { untilMs: sim.startedAt + 600_000, tickMs: 1000, intervalMs: 10_000 });
  console.log('drive 600s', Date.now() - t2, r);
}
void main();
