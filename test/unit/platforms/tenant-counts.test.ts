/**
 * tenantCounts (platforms/tenant-counts.ts) from Store.countChildren's counts, and a count that fails
 * (a composite index not deployed): that row goes without `tenants`, the others keep theirs, and the
 * log says why. The counting itself, on both stores: test/emulator/tenant-counts.test.ts.
 */
import { expect } from 'chai';
import { setLogSink } from '../../../functions/log';
import { tenantCounts } from '../../../functions/platforms/tenant-counts';
import type { ChildCounts } from '../../../functions/store/child-counts';
import type { Store } from '../../../functions/store/store';

describe('tenantCounts', () => {
  it('turns counts into states, and leaves out a row whose count failed (logged)', async () => {
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      const store = {
        countChildren: (parent: string): Promise<ChildCounts> =>
          parent === 'p/broken'
            ? Promise.reject(new Error('FAILED_PRECONDITION: The query requires an index'))
            : Promise.resolve({ total: 10, revoked: 3, withError: 2 }),
      } as unknown as Store;
      const counts = await tenantCounts(store, [
        { realm: 'p', key: 'ok' },
        { realm: 'p', key: 'broken' },
      ]);
      expect([...counts.keys()]).to.deep.equal(['p:ok']);
      expect(counts.get('p:ok')?.tenants).to.deep.equal({
        total: 10,
        authorized: 5,
        unauthorized: 3,
        needs_reauthorization: 2,
      });
      expect(lines.join('\n')).to.include('tenant_count_failed').and.include('p/broken');
    } finally {
      setLogSink(previous);
    }
  });

  it('counts nothing on a store without countChildren', async () => {
    expect((await tenantCounts({} as Store, [{ realm: 'p', key: 'ok' }])).size).to.equal(0);
  });
});
