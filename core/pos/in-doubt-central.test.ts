import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPosSystem } from './pos-system.ts';
import { PendingReversals } from './pending-reversals.ts';
import { startChild } from '../../test/harness/pos/in-doubt-support.ts';
import { enrolTill } from '../../test/harness/host/enrol.ts';
import { resolveCard } from '../card/wallet.ts';
import { startHostServer } from '../host/server/http-server.ts';
import { freshDatabase, releaseTestServer } from '../../test/harness/host/pg-test-support.ts';

/**
 * The in-doubt window of a till on the central host (core/host/server/, PostgreSQL): the host
 * commits the debit, the till process is SIGKILLed before its own books commit. The reversal it
 * wrote ahead of the debit is sent by the first sync after the restart, once.
 */
const GEN3 = resolveCard('gen3-active').profile;
const CARD = GEN3.card.number;
const FAR = new Date('9999-12-31T23:59:59Z');

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await releaseTestServer();
});

describe('a till on the central host killed with a debit in doubt', () => {
  it('the central host committed the debit, the till died before booking it: reversed exactly once after the restart, nothing charged, reconciliation agrees', async () => {
    const db = await freshDatabase('indoubt');
    const live = await startHostServer({ connectionString: db.url, poolSize: 2 });
    const hostToken = await enrolTill(live, 'T0001');
    cleanups.push(async () => {
      await live.close();
      await db.drop();
    });
    const dir = mkdtempSync(join(tmpdir(), 'sscard-in-doubt-central-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'till.db');

    // The till is set up and the card enrolled at the central host, before the day.
    const setup = openPosSystem({ dbPath, hostUrl: live.url, hostToken, hostTimeoutMs: 5_000 });
    setup.register(GEN3);
    await setup.enrolled();
    setup.close();
    const before = await live.host.balances(CARD);

    const child = startChild(dbPath, 'die-after-apply', [
      '--host-url',
      live.url,
      '--host-token',
      hostToken,
      '--at',
      'system',
    ]);
    const paymentId = await child.said('applied');
    const exit = await child.exit;
    expect(exit.signal, exit.stderr).toBe('SIGKILL');
    expect(await live.host.balances(CARD)).not.toEqual(before);

    const pos = openPosSystem({ dbPath, hostUrl: live.url, hostToken, hostTimeoutMs: 5_000 });
    try {
      expect(new PendingReversals(pos.store.db).armed()).toMatchObject([{ paymentId, inFlight: false }]);
      expect(pos.ledger.payment(paymentId)).toBeNull();
      const synced = await pos.sync({ now: FAR });
      expect(synced).toMatchObject({ reversalsSettled: 1, pending: 0 });
      expect(await live.host.balances(CARD)).toEqual(before);
      const rec = await pos.reconcile();
      expect(rec.agree, JSON.stringify(rec.mismatches)).toBe(true);
      expect(rec.timedOutReversed).toEqual([paymentId]);
      // Once.
      expect((await pos.sync({ now: FAR })).reversalsSettled).toBe(0);
      const records = await live.host.records(pos.ledger.terminalId);
      expect(records.filter((r) => r.refPaymentId === paymentId && r.kind === 'reversal')).toHaveLength(1);
      expect(new PendingReversals(pos.store.db).armed()).toEqual([]);
    } finally {
      pos.close();
    }
  }, 90_000);
});
