/**
 * After the master key changes, what was sealed under the old one cannot be opened: replacing a
 * secret must still work (its old token is discarded unread), and listings must not break.
 */
import { expect } from 'chai';
import { freshState } from '../../functions/token/decide';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { TEST_PROJECT_ID } from '../helpers/processes';

describe('master key rotation (emulator)', function () {
  this.timeout(30_000);
  const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
  const oldStore = openStore(
    { store: 'firestore', projectId },
    new Sealer(Buffer.alloc(32, 1)),
    'rotation-old',
  );
  const newStore = openStore(
    { store: 'firestore', projectId },
    new Sealer(Buffer.alloc(32, 2)),
    'rotation-new',
  );

  before(async () => clearEmulator(emulatorHostFromEnv(), projectId));
  after(async () => {
    await oldStore.close();
    await newStore.close();
  });

  it('replaces a secret whose token was sealed under the old key, keeping the call counter', async () => {
    const now = Date.now();
    await oldStore.putRealm({ id: 'r', comment: '', config: {}, createdAt: now, updatedAt: now });
    const secret = {
      realm: 'r',
      key: 'k',
      values: { key_1: 'old-credential-value' },
      rev: 'v1',
      createdAt: now,
      updatedAt: now,
    };
    await oldStore.putSecret(secret, (cur) => freshState('r', 'k', 'v1', cur));
    await oldStore.mutateTokenState('r', 'k', (cur) => ({
      next: {
        ...cur!,
        token: 'sealed-under-old-key',
        expiresAt: now + 60_000,
        callsDay: '2026-11-24',
        callsToday: 7,
      },
      result: null,
    }));

    let opened: string | undefined;
    try {
      await newStore.getTokenState('r', 'k');
    } catch (err) {
      opened = (err as { code?: string }).code;
    }
    expect(opened).to.equal('INTERNAL'); // the old token cannot be opened with the new key
    expect((await newStore.listTokenStates()).map((s) => s.hasToken)).to.deep.equal([true]);

    const outcome = await newStore.putSecret(
      { ...secret, values: { key_1: 'new-credential-value' }, rev: 'v2' },
      (cur) => freshState('r', 'k', 'v2', cur),
    );
    expect(outcome).to.equal('replaced');
    const state = await newStore.getTokenState('r', 'k');
    expect(state?.token).to.equal(undefined);
    expect(state?.callsToday).to.equal(7);
    expect((await newStore.getSecret('r', 'k'))?.values).to.deep.equal({ key_1: 'new-credential-value' });
  });
});
