import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPosSystem } from '../core/pos/pos-system.ts';
import { startChild } from '../test/harness/pos/in-doubt-support.ts';
import { cli } from './run-for-test.ts';
import { systemClock } from '../core/time.ts';

/**
 * The CLI's till commands (pay, sync, settle, reconcile) run the start-up recovery first,
 * quietly: a debit the host applied that a till killed mid-debit never booked is reversed
 * before `sscard pay` takes the next payment, with one line on stderr; nothing at all when
 * nothing is owed.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-recover-cli-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

const PAY = ['pay', '--card', 'gen3-active', '--amount', '1.00', '--pin', '258014', '--json'];

describe('sscard till commands recover at start', () => {
  it('fresh ledger: pay, sync, settle and reconcile print nothing on stderr', async () => {
    const db = freshDb();
    for (const argv of [PAY, ['sync'], ['settle'], ['reconcile']]) {
      const r = await cli(...argv, '--db', db);
      expect(r.code, `${argv[0]}: ${r.out}`).toBe(0);
      expect(r.err, argv[0]).toBe('');
    }
  });

  it('after a till was SIGKILLed mid-debit, pay reverses that debit before paying', async () => {
    const db = freshDb();
    const child = startChild(db, 'die-after-apply', ['--at', 'system']);
    const id = await child.said('applied');
    expect((await child.exit).signal).toBe('SIGKILL');

    const r = await cli(...PAY, '--db', db);
    expect(r.code, r.out).toBe(0);
    const paid = JSON.parse(r.out) as { paymentId: string; approved: boolean };
    expect(paid.approved).toBe(true);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toContain(`reversed 1 debit(s)`);
    expect(r.err).toContain(id);

    const pos = openPosSystem({ dbPath: db, clock: systemClock });
    try {
      // The reversal reached the host before the new payment did.
      const order = pos.store.db
        .prepare<[string, string, string], { payment_id: string; kind: string }>(
          `SELECT payment_id, kind FROM host_records
           WHERE payment_id IN (?, ?) OR ref_payment_id = ? ORDER BY rowid`,
        )
        .all(id, paid.paymentId, id)
        .map(
          (x) =>
            `${x.kind} ${x.payment_id === id ? 'crashed' : x.payment_id === paid.paymentId ? 'new' : 'R'}`,
        );
      expect(order).toEqual(['payment crashed', 'reversal R', 'payment new']);
    } finally {
      pos.close();
    }
    // Done once: the next commands have nothing to say on stderr, and the books agree.
    const rec = await cli('reconcile', '--db', db);
    expect(rec.code, rec.out).toBe(0);
    expect(rec.err).toBe('');
    expect(rec.out).toContain(id); // listed as timed out and reversed (nets to zero)
  }, 60_000);
});
