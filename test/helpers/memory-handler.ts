/**
 * For in-process handler tests on a memory store (test/unit/http): a fake provider for the suite,
 * logs silenced during each test, and a fresh store with its keys and a manual clock.
 */
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../functions/clock';
import type { ResolvedKeys } from '../../functions/keys/keys';
import { setLogSink } from '../../functions/log';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';
import { startFakeProvider, type FakeProvider } from '../fakes/providers';

/** Registers the suite's hooks; the fake provider, once `before` has run. */
export function quietSuiteWithFake(): () => FakeProvider {
  let fake: FakeProvider | undefined;
  let restoreSink: ReturnType<typeof setLogSink> | undefined;
  before(async () => {
    fake = await startFakeProvider();
  });
  after(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    restoreSink = setLogSink(() => undefined);
  });
  afterEach(() => {
    if (restoreSink !== undefined) setLogSink(restoreSink);
  });
  return () => {
    if (fake === undefined) throw new Error('the fake provider starts in before()');
    return fake;
  };
}

export interface MemoryParts {
  adminKey: string;
  keys: ResolvedKeys;
  clock: ManualClock;
  store: MemoryStore;
}

/** A new memory store under a new master key, with an admin key and a clock at now. */
export function memoryParts(): MemoryParts {
  const adminKey = randomBytes(32).toString('base64url');
  const masterKey = randomBytes(32);
  const clock = new ManualClock(Date.now());
  return {
    adminKey,
    keys: { adminKey, masterKey, problems: {} },
    clock,
    store: new MemoryStore(new Sealer(masterKey), clock),
  };
}
