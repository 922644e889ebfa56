import { describe, expect, it } from 'vitest';
import { hostFixture } from '../../test/harness/host/test-support.ts';

/** Beijing is UTC+8: 21 June 00:00 in Beijing is 20 June 16:00 UTC. */
const EVE_OF_21_JUNE_2025 = '2025-06-20T15:59:59.000Z';
const JUNE_21_2025 = '2025-06-20T16:00:00.000Z';

describe('medical accounts 95000/95001 (R4.1, R4.2)', () => {
  it('R4.1: 95000 is created at the first medical funding', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { reserve: 5000 });
    expect(await f.host.balances(card)).toEqual({ reserve: 5000, medicalCurrent: null, medicalPrior: null });

    f.ledger.fund(card, 'medical_current', 12_000, 'first-medical-funding');
    expect(await f.host.balances(card)).toEqual({
      reserve: 5000,
      medicalCurrent: 12_000,
      medicalPrior: null,
    });
    expect(f.ledger.getAccount(card, 'medical_current')?.code).toBe('95000');
  });

  it('R4.2: on 21 June the whole 95000 balance carries over into 95001, creating it', async () => {
    const f = hostFixture({}, '2025-06-20T02:00:00.000Z');
    const card = f.card('A00000001', { current: 30_000 });
    const empty = f.card('A00000002', { current: 0 });
    const none = f.card('A00000003', { reserve: 100 });
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 30_000, medicalPrior: null });

    f.clock.set(EVE_OF_21_JUNE_2025);
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 30_000, medicalPrior: null });

    f.clock.set(JUNE_21_2025);
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 30_000 });
    expect(f.ledger.getAccount(card, 'medical_prior')?.code).toBe('95001');
    // 95001 comes into being on 21 June for every card with a 95000, empty or not.
    expect(await f.host.balances(empty)).toMatchObject({ medicalCurrent: 0, medicalPrior: 0 });
    // A card without a medical account gets none.
    expect(await f.host.balances(none)).toMatchObject({ medicalCurrent: null, medicalPrior: null });

    const lines = f.ledger.journal({ txnId: `carry-over:2025:${card}` });
    expect(lines.map((l) => [l.accountKind, l.amountFen, l.kind])).toEqual([
      ['medical_current', -30_000, 'carry-over'],
      ['medical_prior', 30_000, 'carry-over'],
    ]);
    expect(f.ledger.checkConsistency()).toEqual([]);
  });

  it('R4.2: the carry-over run twice on 21 June moves the money once', async () => {
    const f = hostFixture({}, '2025-05-01T02:00:00.000Z');
    const card = f.card('A00000001', { current: 30_000, prior: 1_000 });
    expect(f.host.runCarryOver()).toEqual([]); // first use: records 2024 as done

    f.clock.set(JUNE_21_2025);
    expect(f.host.runCarryOver()).toEqual([{ year: 2025, cards: 1, movedFen: 30_000 }]);
    expect(f.host.runCarryOver()).toEqual([]);
    f.clock.advance(3 * 3600_000);
    expect(f.host.runCarryOver()).toEqual([]);
    // A restarted host (no cache) on the same database moves nothing either.
    expect(f.another().runCarryOver()).toEqual([]);
    expect(await f.another().balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 31_000 });

    // Money funded into 95000 later that day stays there until next year.
    f.ledger.fund(card, 'medical_current', 500, 'later-on-21-june');
    expect(f.host.runCarryOver()).toEqual([]);
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 500, medicalPrior: 31_000 });
    expect(f.ledger.journal({ cardId: card }).filter((l) => l.kind === 'carry-over')).toHaveLength(2);
    expect(f.db.prepare('SELECT year, cards, moved_fen FROM host_carry_overs').all()).toEqual([
      { year: 2025, cards: 1, moved_fen: 30_000 },
    ]);
  });

  it('R4.2: starting in November moves nothing until next 21 June', async () => {
    const f = hostFixture({}, '2025-11-05T02:00:00.000Z');
    const card = f.card('A00000001', { current: 8_000 });
    expect(await f.host.balances(card)).toEqual({ reserve: null, medicalCurrent: 8_000, medicalPrior: null });
    expect(f.host.runCarryOver()).toEqual([]);

    f.clock.set('2026-06-20T15:59:59.000Z');
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 8_000, medicalPrior: null });

    f.clock.set('2026-06-20T16:00:00.000Z');
    expect(await f.host.balances(card)).toMatchObject({ medicalCurrent: 0, medicalPrior: 8_000 });
    expect(f.host.runCarryOver()).toEqual([]);
    expect(f.ledger.journal({ txnId: `carry-over:2026:${card}` })).toHaveLength(2);
  });

  it('R4.2: years the host missed are caught up once each, the money moving once', () => {
    const f = hostFixture({}, '2024-07-01T02:00:00.000Z');
    f.card('A00000001', { current: 2_000 });
    expect(f.host.runCarryOver()).toEqual([]);
    f.clock.set('2026-07-01T02:00:00.000Z');
    expect(f.host.runCarryOver()).toEqual([
      { year: 2025, cards: 1, movedFen: 2_000 },
      { year: 2026, cards: 0, movedFen: 0 },
    ]);
    expect(f.ledger.balances('A00000001')).toMatchObject({ medicalCurrent: 0, medicalPrior: 2_000 });
  });

  it('R4.2: every host operation runs a due carry-over first, payments included', async () => {
    const f = hostFixture({}, '2025-06-20T02:00:00.000Z');
    const card = f.card('A00000001', { current: 3_000, prior: 0 });
    expect(await f.host.cardStatus(card)).toBe('active');
    f.clock.set(JUNE_21_2025);
    const r = await f.host.pay({
      paymentId: 'p-after-carry-over',
      terminalId: 'T1',
      merchantId: 'M1',
      cardId: card,
      method: 'medical',
      amountFen: 1_000,
      split: { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 },
      createdAt: JUNE_21_2025,
      mode: 'online',
    });
    expect(r.split).toMatchObject({ medicalCurrentFen: 0, medicalPriorFen: 1_000 });
    expect(f.total()).toBe(0);
    expect(f.ledger.checkConsistency()).toEqual([]);
  });
});
