import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankCounter, type Branch, type MergeOptions } from './counter.ts';
import { openCardStore, type CardStore } from '../ledger/card-store.ts';
import { openPosSystem, type PosSystem } from '../pos/pos-system.ts';
import { resolveCard } from '../card/wallet.ts';
import { parseProfile, type CardProfile } from '../card/profile.ts';
import { cardNumberCheckChar } from '../rules/card-number.ts';
import { makeBankCardNumber } from '../rules/bank-card.ts';
import { idCheckChar } from '../rules/ssn.ts';
import { checkEligibility, oneCardPerPerson } from '../rules/eligibility.ts';
import { latestVersion } from '../db/migrate.ts';
import { fixedClock } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';
import { renderMessage } from '../../state-machines/messages.ts';

const NOW = '2026-11-26T02:00:00Z'; // 10:00 in Beijing
/** The gen2 fixture's bank transaction password (its copies keep it). */
const GEN2_PASSWORD = '246810';

let dir = '';
const toClose: { close(): void }[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-merge-'));
});

afterEach(() => {
  while (toClose.length) toClose.pop()?.close();
  rmSync(dir, { recursive: true, force: true });
});

const BRANCH: Branch = { id: 'GZ-TH-001', city: '广州', bank: 'this', areaCode: '440100' };

/** The cleanup R7.4 allows: another bank's card from another city, at the issuing locality. */
const CLEANUP: MergeOptions = {
  mergedCardRegion: 'other-city-in-province',
  mergedCardBank: 'other',
  atIssuingLocality: true,
};

function setup() {
  const dbPath = join(dir, 'bank.db');
  const clock = fixedClock(NOW);
  const store = openCardStore(dbPath, clock);
  toClose.push(store);
  const counter = new BankCounter({ store, clock, branch: BRANCH });
  return { dbPath, store, counter };
}

function ok<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

/**
 * A copy of the bundled gen2 card (李娜) with new numbers: card number and PAN with their
 * check characters computed, another chip serial, issued in `areaCode` (深圳 by default).
 * `ssnBody` (17 digits, same birth date, even sequence: female) makes it another person's.
 */
function gen2Copy(n: number, options: { areaCode?: string; ssnBody?: string } = {}): CardProfile {
  const base = resolveCard('gen2').profile;
  const areaCode = options.areaCode ?? '440300';
  const body = `B${areaCode.slice(0, 4)}${String(n).padStart(3, '0')}`;
  const pan = makeBankCardNumber(900 + n);
  if (!pan.ok) throw new Error(pan.reason.en);
  const ssn = options.ssnBody ? options.ssnBody + idCheckChar(options.ssnBody) : base.holder.ssn;
  return parseProfile(
    {
      ...base,
      id: `gen2-copy-${n}`,
      card: {
        ...base.card,
        number: body + cardNumberCheckChar(body),
        areaCode,
        chipSerial: `0BBAE46DB7E4${n.toString(16).toUpperCase().padStart(4, '0')}`,
      },
      holder: { ...base.holder, ssn },
      financial: { ...base.financial!, pan: pan.pan },
    },
    `gen2 copy ${n}`,
  );
}

/** The person's card here (the gen2 fixture, 广州) and another card of hers from 深圳. */
function twoCards(store: CardStore) {
  const kept = resolveCard('gen2').profile;
  const other = gen2Copy(1);
  store.open(kept);
  store.open(other);
  return { kept, other, keptId: kept.card.number, otherId: other.card.number, ssn: kept.holder.ssn };
}

const mergeCount = (store: CardStore) =>
  store.db.prepare('SELECT count(*) FROM card_merges').pluck().get() as number;

/** Σ of every account, card and system. */
const totals = (store: CardStore) =>
  store.db
    .prepare(
      `SELECT COALESCE(SUM(CASE WHEN card_id IS NOT NULL THEN balance_fen END), 0) AS cards,
              COALESCE(SUM(balance_fen), 0) AS all_accounts FROM accounts`,
    )
    .get() as { cards: number; all_accounts: number };

function openPos(dbPath: string): PosSystem {
  const pos = openPosSystem({ dbPath, clock: fixedClock(NOW), hostTimeoutMs: 2000 });
  pos.terminal.start();
  toClose.push(pos);
  return pos;
}

/** One reserve (financial account) payment at the till. */
async function payReserve(pos: PosSystem, p: CardProfile, amountFen: number, password: string) {
  const t = pos.terminal;
  const reader = pos.reader as VirtualReader;
  reader.insert(pos.register(p));
  await t.settled();
  if (t.snapshot.matches('session')) {
    t.send({ type: 'AMOUNT_ENTERED', amountFen, method: 'reserve' });
    await t.settled();
  }
  if (/awaiting(Pin|Password)/.test(t.stateName())) {
    t.send({ type: 'PIN_ENTERED', pin: password });
    await t.settled();
  }
  const text = renderMessage(t.message());
  const last = t.snapshot.context.last;
  reader.remove();
  await t.settled();
  return { result: last?.result ?? 'refused', text };
}

describe('one person, one card (一人一卡归并)', () => {
  it('R7.1: only two cards of the same person merge; afterwards she has one live card', () => {
    const { store, counter } = setup();
    const { keptId, otherId, ssn } = twoCards(store);
    const stranger = gen2Copy(2, { ssnBody: '44010419790923004' });
    store.open(stranger);
    const strangerId = stranger.card.number;

    // Two live cards for one SSN: the state the cleanup resolves.
    expect(oneCardPerPerson(ssn, store.ledger.listCards())).toMatchObject({
      ok: false,
      reason: { rule: 'R7.1' },
    });
    const before = counter.liveCardsOf(ssn);
    expect(before.map((c) => [c.cardId, c.region])).toEqual([
      [keptId, 'same-city'],
      [otherId, 'other-city-in-province'],
    ]);
    expect(oneCardPerPerson(ssn, before).ok).toBe(false);

    // Another person's card is refused, with a bilingual reason; nothing recorded.
    const foreign = counter.merge(keptId, strangerId, CLEANUP);
    expect(foreign).toMatchObject({ ok: false, rule: 'R7.1' });
    expect(foreign.ok || foreign.zh).toContain('不属于同一人');
    expect(foreign.ok || foreign.en).toContain('different people');
    expect(foreign.ok || foreign.zh).not.toContain(ssn); // masked
    expect(counter.merge(keptId, keptId, CLEANUP)).toMatchObject({ ok: false, rule: 'R7.1' });
    expect(counter.merge(keptId, 'B99999999', CLEANUP)).toMatchObject({ ok: false, rule: 'card' });
    expect(mergeCount(store)).toBe(0);
    expect(ok(counter.history(strangerId)).entries.at(-1)).toMatchObject({
      event: 'ONE_CARD_MERGE',
      refused: { rule: 'R7.1' },
    });

    // The same person: merged. The kept card is her one card now.
    const merged = ok(counter.merge(keptId, otherId, CLEANUP));
    expect(merged).toMatchObject({ keptCardId: keptId, mergedCardId: otherId, ssn });
    const live = counter.liveCardsOf(ssn.toLowerCase());
    expect(live).toEqual([{ cardId: keptId, ssn, status: 'active', bank: 'this', region: 'same-city' }]);
    expect(oneCardPerPerson(ssn, live)).toEqual({ ok: true, card: live[0] });
    // What eligibility sees for a new application: this bank's card here, so replace instead.
    const eligibility = checkEligibility(
      { nationality: 'CHN', livesWorksOrInsuredInGuangdong: true, foreigner: false },
      live,
      { city: '广州' },
    );
    expect(eligibility.reasons.filter((r) => r.rule === 'R7.1').map((r) => r.verdict)).toEqual(['cannot']);
    expect(eligibility.reasons.some((r) => r.rule === 'R5.2')).toBe(false);

    // Both cards list the merge; the stranger's none.
    expect(counter.mergesOf(keptId)).toEqual([
      expect.objectContaining({ keptCardId: keptId, mergedCardId: otherId }),
    ]);
    expect(counter.mergesOf(otherId)).toEqual(counter.mergesOf(keptId));
    expect(counter.mergesOf(strangerId)).toEqual([]);

    // A card is merged once; a merged card is not kept; a card holding merges is not merged.
    const third = gen2Copy(3, { areaCode: '440600' }); // 佛山
    store.open(third);
    const thirdId = third.card.number;
    const again = counter.merge(thirdId, otherId, CLEANUP);
    expect(again).toMatchObject({ ok: false, rule: 'R7.1' });
    expect(again.ok || again.zh).toContain('已归并');
    expect(counter.merge(otherId, thirdId, CLEANUP)).toMatchObject({ ok: false, rule: 'R7.1' });
    expect(counter.merge(thirdId, keptId, CLEANUP)).toMatchObject({ ok: false, rule: 'R7.1' });
    expect(mergeCount(store)).toBe(1);
    // …but a second card of hers from elsewhere merges into the same kept card.
    ok(counter.merge(keptId, thirdId, CLEANUP));
    expect(counter.mergesOf(keptId).map((m) => m.mergedCardId)).toEqual([otherId, thirdId]);
    expect(counter.liveCardsOf(ssn).map((c) => c.cardId)).toEqual([keptId]);
  });

  it("R7.2: contribution records go to the kept card, the merged card's financial account keeps working, its medical account is local-only", async () => {
    const { store, counter, dbPath } = setup();
    const { keptId, otherId, other, ssn } = twoCards(store);
    expect(store.db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(latestVersion()).toBeGreaterThanOrEqual(60); // the merge table arrived in migration 60

    const r = ok(counter.merge(keptId, otherId, CLEANUP));
    expect(r).toMatchObject({
      contributionRecordsHeldBy: keptId,
      medicalScope: 'local-only',
      mergedRegion: 'other-city-in-province',
      mergedBank: 'other',
      branchId: BRANCH.id,
      at: new Date(NOW).toISOString(),
      historyRecordedFor: [keptId, otherId],
    });
    expect(r.steps.map((s) => s.zh)).toEqual([
      expect.stringContaining('参保缴费记录保留'),
      expect.stringContaining('金融账户照常使用'),
      expect.stringContaining('医保账户暂仅支持本地使用'),
    ]);
    for (const s of r.steps) expect(s.en.length).toBeGreaterThan(0);

    // Persisted in card_merges (STRICT), merged card once.
    const row = store.db.prepare('SELECT * FROM card_merges').get() as Record<string, unknown>;
    expect(row).toMatchObject({
      kept_card_id: keptId,
      merged_card_id: otherId,
      ssn,
      merged_region: 'other-city-in-province',
      merged_bank: 'other',
      medical_scope: 'local-only',
      branch_id: BRANCH.id,
    });
    expect(
      store.db.prepare(`SELECT strict FROM pragma_table_list WHERE name = 'card_merges'`).pluck().get(),
    ).toBe(1);
    expect(() =>
      store.db
        .prepare(
          `INSERT INTO card_merges (kept_card_id, merged_card_id, ssn, merged_region, merged_bank, medical_scope, branch_id, at)
           VALUES (?, ?, ?, 'other-city-in-province', 'other', 'local-only', 'X', 't')`,
        )
        .run(keptId, otherId, ssn),
    ).toThrow(/UNIQUE/);

    // Both histories have the merge; the lifecycle state does not move (from = to).
    for (const [cardId, words] of [
      [keptId, '参保缴费记录由本卡承接'],
      [otherId, '医保账户暂仅支持本地使用'],
    ] as const) {
      const last = ok(counter.history(cardId)).entries.at(-1)!;
      expect(last).toMatchObject({
        event: 'ONE_CARD_MERGE',
        eventZh: '一人一卡归并',
        eventEn: 'one-person-one-card merge',
        from: 'active',
        to: 'active',
        refused: null,
        branch: BRANCH.id,
      });
      expect(last.note?.zh).toContain(words);
    }

    // The merged card's financial account keeps working: the till takes a reserve payment.
    const reserveBefore = store.balances(otherId).reserve!;
    const pos = openPos(dbPath);
    const paid = await payReserve(pos, other, 1_500, GEN2_PASSWORD);
    expect(paid.result).toBe('paid');
    expect(store.balances(otherId).reserve).toBe(reserveBefore - 1_500);
    expect(counter.mergesOf(otherId)[0]!.medicalScope).toBe('local-only');
  });

  it('R7.3: one-person-one-card is not cancellation: status and balances unchanged (unlike close)', () => {
    const { store, counter } = setup();
    const { keptId, otherId } = twoCards(store);
    const balancesBefore = { kept: store.balances(keptId), other: store.balances(otherId) };
    expect(balancesBefore.other).toEqual({ reserve: 500_000, medicalCurrent: 128_000, medicalPrior: 35_000 });
    const journalBefore = store.ledger.journal({ cardId: otherId }).length;
    const totalsBefore = totals(store);

    const r = ok(counter.merge(keptId, otherId, CLEANUP));
    expect(r.mergedCardStatus).toBe('active');
    expect(r.mergedCardBalances).toEqual(balancesBefore.other);

    // Nothing closed, nothing moved, nothing posted.
    expect(store.ledger.getCard(otherId)!.status).toBe('active');
    expect(store.ledger.getCard(keptId)!.status).toBe('active');
    expect(store.balances(otherId)).toEqual(balancesBefore.other);
    expect(store.balances(keptId)).toEqual(balancesBefore.kept);
    expect(store.ledger.journal({ cardId: otherId })).toHaveLength(journalBefore);
    expect(totals(store)).toEqual(totalsBefore);
    expect(store.ledger.checkConsistency()).toEqual([]);
    expect(ok(counter.progress(otherId)).state).toBe('active');

    // Cancellation is another business: it still needs the medical account's clearing (R14)…
    expect(counter.close(otherId, { medicalAccountClosedAtInsuranceOffice: false })).toMatchObject({
      ok: false,
      rule: 'R14',
    });
    // …and it, not the merge, closes the card and pays its balances out.
    const closed = ok(counter.close(otherId, { medicalAccountClosedAtInsuranceOffice: true }));
    expect(closed).toMatchObject({ state: 'closed', medicalPaidOutFen: 163_000, reservePaidOutFen: 500_000 });
    expect(store.ledger.getCard(otherId)!.status).toBe('closed');
    expect(store.balances(otherId)).toEqual({ reserve: 0, medicalCurrent: 0, medicalPrior: 0 });
    // The merge record stays; a closed card is not merged (again).
    expect(counter.mergesOf(otherId)).toHaveLength(1);
    const closedCopy = gen2Copy(4);
    store.open(closedCopy);
    ok(counter.close(closedCopy.card.number, { medicalAccountClosedAtInsuranceOffice: true }));
    expect(counter.merge(keptId, closedCopy.card.number, CLEANUP)).toMatchObject({ ok: false, rule: 'R7.3' });
  });

  it("R7.4: only at the issuing locality, only another bank's card from another city of the province", () => {
    const { store, counter } = setup();
    const { keptId, otherId } = twoCards(store);
    const balancesBefore = store.balances(otherId);

    const refusals: [MergeOptions, string, string][] = [
      [{ ...CLEANUP, atIssuingLocality: false }, '发卡地', 'issuing locality'],
      [{ ...CLEANUP, mergedCardRegion: 'same-city' }, '本地他行卡', "another bank's card in the same city"],
      [{ ...CLEANUP, mergedCardBank: 'this' }, '异地本行卡', "this bank's card from elsewhere"],
      [
        { ...CLEANUP, mergedCardBank: 'this', mergedCardRegion: 'other-province' },
        '异地本行卡',
        "this bank's card from elsewhere",
      ],
      [{ ...CLEANUP, mergedCardBank: 'this', mergedCardRegion: 'same-city' }, '补换领', 'replace'],
      [{ ...CLEANUP, mergedCardRegion: 'other-province' }, '省内异地他行卡', 'another province'],
    ];
    for (const [options, zh, en] of refusals) {
      const r = counter.merge(keptId, otherId, options);
      expect(r, JSON.stringify(options)).toMatchObject({ ok: false, rule: 'R7.4' });
      if (r.ok) continue;
      expect(r.zh).toContain(zh);
      expect(r.en).toContain(en);
    }
    expect(mergeCount(store)).toBe(0);
    expect(store.balances(otherId)).toEqual(balancesBefore);
    expect(counter.liveCardsOf(store.ledger.getCard(keptId)!.ssn)).toHaveLength(2);
    // Every refusal is in the history of both cards.
    for (const cardId of [keptId, otherId]) {
      const refused = ok(counter.history(cardId)).entries.filter((e) => e.refused?.rule === 'R7.4');
      expect(refused).toHaveLength(refusals.length);
    }
    // The schema holds R7.4 too.
    expect(() =>
      store.db
        .prepare(
          `INSERT INTO card_merges (kept_card_id, merged_card_id, ssn, merged_region, merged_bank, medical_scope, branch_id, at)
           VALUES (?, ?, 's', 'same-city', 'other', 'local-only', 'X', 't')`,
        )
        .run(keptId, otherId),
    ).toThrow(/CHECK/);

    // The one cleanup allowed.
    expect(ok(counter.merge(keptId, otherId, CLEANUP))).toMatchObject({ mergedCardId: otherId });
  });
});
