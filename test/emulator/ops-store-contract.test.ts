/**
 * One contract, two ops stores (functions/ops/ops-store.ts): webhooks, the audit log, the outbox and
 * the audit key behave alike in memory (memory-ops.ts) and on Firestore (firestore-ops.ts, emulator),
 * so that what the unit tests show of webhooks and audit holds on the deployed store.
 */
import { expect } from 'chai';
import { ManualClock } from '../../functions/clock';
import { auditWrite, type AuditAction } from '../../functions/ops/audit/record';
import { outboxWrite } from '../../functions/ops/codec';
import { FirestoreOps } from '../../functions/ops/firestore-ops';
import { MemoryOps } from '../../functions/ops/memory-ops';
import type { OpsStore, WebhookRecord } from '../../functions/ops/ops-store';
import { FirestoreStore } from '../../functions/store/firestore/firestore-store';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { TEST_PROJECT_ID } from '../helpers/processes';

const sealer = new Sealer(Buffer.alloc(32, 5));

function webhook(id: string): WebhookRecord {
  return {
    id,
    url: `https://hooks.example.com/${id}`,
    events: ['token.refresh_failed'],
    comment: id,
    secret: `whsec_contract_${id}`,
    createdAt: 1_000,
  };
}

const audit = (action: AuditAction, target: string, hashes: string[] = []) =>
  auditWrite({ actor: 'admin', action, target, requestId: `req-${target}`, hashes });

/** `tick()`: time passes between two records (the memory store's clock; Firestore's commits differ anyway). */
interface Subject {
  ops: OpsStore;
  tick: () => void;
}

function contract(name: string, fresh: () => Promise<Subject>, done: () => Promise<void>): void {
  describe(`ops store contract: ${name}`, function () {
    this.timeout(60_000);
    let ops: OpsStore;
    let tick: () => void;
    beforeEach(async () => {
      ({ ops, tick } = await fresh());
    });
    after(done);

    it('creates, gets (secret opened), lists by id and deletes webhooks, each with its audit record', async () => {
      for (const id of ['wh_b', 'wh_a', 'wh_c'])
        await ops.createWebhook(webhook(id), [audit('webhook.create', id)]);
      expect(await ops.getWebhook('wh_a')).to.deep.equal(webhook('wh_a'));
      expect(await ops.getWebhook('wh_none')).to.equal(null);
      const first = await ops.listWebhooks({ limit: 2 });
      expect(first.list.map((w) => w.id)).to.deep.equal(['wh_a', 'wh_b']);
      expect(first.total).to.equal(3);
      expect(first.next).to.equal('wh_b');
      const rest = await ops.listWebhooks({ limit: 2, after: 'wh_b' });
      expect(rest.list.map((w) => w.id)).to.deep.equal(['wh_c']);
      expect(rest.next).to.equal(undefined);
      expect(await ops.deleteWebhook('wh_a', [audit('webhook.delete', 'wh_a')])).to.equal(true);
      expect(await ops.deleteWebhook('wh_a', [audit('webhook.delete', 'wh_a')])).to.equal(false);
      expect(await ops.getWebhook('wh_a')).to.equal(null);
      const deletes = await ops.listAudit({ limit: 10, action: 'webhook.delete' });
      expect(deletes.list.map((r) => r.target)).to.deep.equal(['wh_a']); // the refused delete recorded nothing
      expect((await ops.listAudit({ limit: 10, action: 'webhook.create' })).total).to.equal(3);
    });

    it('lists audit records newest first, filtered by action, target and hash, paged by position', async () => {
      await ops.recordSide([audit('realm.put', 'r1')]);
      tick();
      await ops.recordSide([audit('secret.put', 'r1/k', ['hmac-sha256:aa', 'hmac-sha256:bb'])]);
      tick();
      await ops.recordSide([audit('secret.put', 'r1/j', ['hmac-sha256:bb'])]);
      const all = await ops.listAudit({ limit: 10 });
      expect(all.list.map((r) => r.target)).to.deep.equal(['r1/j', 'r1/k', 'r1']);
      expect(all.total).to.equal(3);
      expect(all.list[1]).to.deep.include({
        actor: 'admin',
        action: 'secret.put',
        requestId: 'req-r1/k',
        outcome: 'ok',
      });
      expect((await ops.listAudit({ limit: 10, action: 'secret.put' })).total).to.equal(2);
      expect((await ops.listAudit({ limit: 10, target: 'r1' })).list.map((r) => r.action)).to.deep.equal([
        'realm.put',
      ]);
      const byHash = await ops.listAudit({ limit: 10, hash: 'hmac-sha256:bb' });
      expect(byHash.list.map((r) => r.target)).to.deep.equal(['r1/j', 'r1/k']);
      const page1 = await ops.listAudit({ limit: 2 });
      expect(page1.next).to.not.equal(undefined);
      const page2 = await ops.listAudit({
        limit: 2,
        ...(page1.next === undefined ? {} : { after: page1.next }),
      });
      expect(page2.list.map((r) => r.target)).to.deep.equal(['r1']);
      expect(page2.next).to.equal(undefined);
      const since = all.list[1]?.at ?? 0;
      expect((await ops.listAudit({ limit: 10, since })).list.map((r) => r.target)).to.deep.equal([
        'r1/j',
        'r1/k',
      ]);
    });

    it('takes a due outbox entry once, keeps a retry until it is due, and removes a delivered one', async () => {
      const entry = {
        id: 'evt_contract',
        type: 'token.recovered',
        data: { realm: 'r', key: 'k' },
        createdAt: 1,
        nextAttemptAt: 1,
        attempts: 0,
      };
      await ops.recordSide([outboxWrite(entry)]);
      expect(await ops.dueOutbox(10)).to.deep.equal(['evt_contract']);
      const claimed = await ops.claimOutbox('evt_contract', 60_000);
      expect(claimed?.entry).to.deep.include({ id: 'evt_contract', type: 'token.recovered', attempts: 0 });
      expect(claimed?.entry.data).to.deep.equal({ realm: 'r', key: 'k' });
      expect(await ops.claimOutbox('evt_contract', 60_000)).to.equal(null); // held by the first claim
      const later = (claimed?.now ?? 0) + 3_600_000;
      await ops.settleOutbox('evt_contract', {
        done: false,
        targets: ['wh_x'],
        attempts: 1,
        nextAttemptAt: later,
      });
      expect(await ops.dueOutbox(10)).to.deep.equal([]);
      expect(await ops.claimOutbox('evt_contract', 60_000)).to.equal(null); // not due
      await ops.settleOutbox('evt_contract', { done: true });
      expect(await ops.claimOutbox('evt_contract', 60_000)).to.equal(null);
      expect(await ops.claimOutbox('evt_none', 60_000)).to.equal(null);
    });

    it('stores one audit key: the first created wins, a reseal replaces it', async () => {
      expect(await ops.getAuditKey()).to.equal(null);
      expect(await ops.createAuditKey('sealed-one')).to.equal('sealed-one');
      expect(await ops.createAuditKey('sealed-two')).to.equal('sealed-one');
      await ops.replaceAuditKey('sealed-three');
      expect(await ops.getAuditKey()).to.equal('sealed-three');
    });
  });
}

contract(
  'memory',
  async () => {
    const clock = new ManualClock();
    return {
      ops: new MemoryOps(new MemoryStore(sealer, clock), sealer, clock),
      tick: () => clock.advance(1),
    };
  },
  async () => undefined,
);

let firestore: FirestoreStore | undefined;
contract(
  'firestore (emulator)',
  async () => {
    const host = emulatorHostFromEnv();
    const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
    await clearEmulator(host, projectId);
    if (firestore === undefined) {
      const store = openStore(
        { store: 'firestore', projectId, emulatorHost: host },
        sealer,
        'ops-store-contract',
      );
      if (!(store instanceof FirestoreStore)) throw new Error('not a Firestore store');
      firestore = store;
    }
    const store = firestore;
    return { ops: new FirestoreOps(store.db, sealer, () => store.conditionalDb()), tick: () => undefined };
  },
  async () => {
    await firestore?.close();
    // The audit key these cases store is no sealed value: a later file's functions must not find it.
    await clearEmulator(emulatorHostFromEnv(), process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID);
  },
);
