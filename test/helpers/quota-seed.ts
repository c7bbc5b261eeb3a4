/** The WeChat realm `wx` and its secret `main` of the quota tests, seeded straight into a store. */
import { presetConfig } from '../../functions/providers/presets';
import type { Store } from '../../functions/store/store';

/** A wechat_offiaccount realm fetching from `tokenUrl`, its secret with a fresh, counting token state. */
export async function seedQuotaSecret(
  store: Store,
  tokenUrl: string,
  values: { key_1: string; key_2: string },
  at: number,
): Promise<void> {
  const config = { ...presetConfig('wechat_offiaccount'), url: tokenUrl };
  await store.putRealm({ id: 'wx', comment: '', config, createdAt: at, updatedAt: at });
  await store.putSecret(
    { realm: 'wx', key: 'main', values, rev: 'r1', createdAt: at, updatedAt: at },
    (cur) => ({
      realm: 'wx',
      key: 'main',
      secretRev: 'r1',
      generation: (cur?.generation ?? 0) + 1,
      quotaCalls: 0,
    }),
  );
}
