import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BankCounter, type Branch } from './counter.ts';
import type { Application } from './types.ts';
import { openCardStore, type CardStore } from '../ledger/card-store.ts';
import { openPosSystem, type PosSystem } from '../pos/pos-system.ts';
import { resolveCard } from '../card/wallet.ts';
import { verifySecret } from '../card/pin.ts';
import type { CardProfile } from '../card/profile.ts';
import { checkCardNumber } from '../rules/card-number.ts';
import { checkBankCardNumber } from '../rules/bank-card.ts';
import { idCheckChar } from '../rules/ssn.ts';
import { fixedClock } from '../time.ts';
import type { PaymentMethod } from '../host/types.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';
import { renderMessage } from '../../state-machines/messages.ts';

const NOW = '2026-11-26T02:00:00Z'; // 10:00 in Beijing
const NEW_PIN = '258014';
const FINANCIAL_PASSWORD = '864209';

let dir = '';
const toClose: { close(): void }[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-bank-'));
});

afterEach(() => {
  while (toClose.length) toClose.pop()?.close();
  rmSync(dir, { recursive: true, force: true });
});

const BRANCH: Branch = { id: 'GZ-TH-001', city: '广州', bank: 'this' };

function setup(branch: Partial<Branch> = {}) {
  const dbPath = join(dir, 'bank.db');
  const clock = fixedClock(NOW);
  const store = openCardStore(dbPath, clock);
  toClose.push(store);
  const counter = new BankCounter({ store, clock, branch: { ...BRANCH, ...branch } });
  return { dbPath, clock, store, counter };
}

/** A mainland adult applying at the outlet; the ID's check character computed, not typed. */
function mainlandAdult(change: Partial<Application> = {}): Application {
  const body = '44010619850314123'; // 440106 天河区, born 1985-03-14, sequence 123 (odd: male)
  const id = body + idCheckChar(body);
  return {
    name: '陈建国',
    sex: 'male',
    birthDate: '1985-03-14',
    nation: '01',
    nationality: 'CHN',
    docType: 'id',
    docNumber: id,
    ssn: id,
    phone: '13800138000',
    address: '广州市天河区体育西路1号',
    birthplace: '440106',
    idImagesUploaded: true,
    photo: null,
    livesWorksOrInsuredInGuangdong: true,
    channel: 'bank-outlet',
    mode: 'normal',
    ...change,
  };
}

function ok<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

/** Applies and takes the card through normal issuance to the outlet (R10.1 steps 3–6). */
function cardAtOutlet(counter: BankCounter, app: Application = mainlandAdult()): string {
  const { cardId } = ok(counter.apply(app, 'normal'));
  ok(counter.advance(cardId, 'CITY_BRANCH_RECEIVED'));
  ok(counter.advance(cardId, 'OUTLET_RECEIVED'));
  return cardId;
}

async function activeCard(counter: BankCounter): Promise<string> {
  const cardId = cardAtOutlet(counter);
  ok(await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }));
  return cardId;
}

function openPos(dbPath: string): PosSystem {
  const pos = openPosSystem({ dbPath, clock: fixedClock(NOW), hostTimeoutMs: 2000 });
  pos.terminal.start();
  toClose.push(pos);
  return pos;
}

/** One payment at the till (as in core/pos/pos.test.ts); returns what the till ended with. */
async function pay(
  pos: PosSystem,
  p: CardProfile,
  amountFen: number,
  pin: string,
  method: PaymentMethod = 'medical',
) {
  const t = pos.terminal;
  const reader = pos.reader as VirtualReader;
  reader.insert(pos.register(p));
  await t.settled();
  if (t.snapshot.matches('session')) {
    t.send({ type: 'AMOUNT_ENTERED', amountFen, method });
    await t.settled();
  }
  if (/awaiting(Pin|Password)/.test(t.stateName())) {
    t.send({ type: 'PIN_ENTERED', pin });
    await t.settled();
  }
  const text = renderMessage(t.message());
  const last = t.snapshot.context.last;
  reader.remove();
  await t.settled();
  return { result: last?.result ?? 'refused', text };
}

const profileOf = (counter: BankCounter, cardId: string) => counter.profileOf(cardId) as CardProfile;

/** Σ of every account, card and system: 0 in double entry, whatever happens. */
const totals = (store: CardStore) =>
  store.db
    .prepare(
      `SELECT COALESCE(SUM(CASE WHEN card_id IS NOT NULL THEN balance_fen END), 0) AS cards,
              COALESCE(SUM(balance_fen), 0) AS all_accounts FROM accounts`,
    )
    .get() as { cards: number; all_accounts: number };

describe('bank counter', () => {
  it('R10.1: normal issuance, seven steps, with progress and a failure re-submitted', async () => {
    const { counter, store } = setup();
    // Steps 1–2 (one person one card, photo) are the application's validation; steps 3–4:
    const app = mainlandAdult({ photo: Uint8Array.of(0xff, 0xd8, 0xff, 0xe0) });
    const applied = ok(counter.apply(app, 'normal'));
    const { cardId, applicationId, receipt } = applied;
    expect(applied.progress).toMatchObject({ state: 'inProduction', zh: '制卡中' });
    for (const text of [
      '社会保障卡申领回执',
      applicationId,
      cardId,
      '陈建国',
      '普通制卡',
      '广州',
      '2026-11-26 10:00:00',
    ])
      expect(receipt).toContain(text);
    expect(receipt).not.toContain(app.ssn); // masked

    // The card exists from now on: gen 3, not activated, initial PIN, fresh numbers.
    const card = store.ledger.getCard(cardId)!;
    expect(card).toMatchObject({
      generation: 3,
      status: 'not-activated',
      ssn: app.ssn,
      holderName: '陈建国',
    });
    expect(checkCardNumber(cardId)).toBeNull();
    expect(checkBankCardNumber(card.pan!).ok).toBe(true);
    expect(card.pan).toMatch(/^622262371\d{9}$/);
    expect(store.security(cardId)).toMatchObject({ pinInitial: true, pinTriesLeft: 3 });
    expect(store.balances(cardId)).toEqual({ reserve: 0, medicalCurrent: null, medicalPrior: null });
    const profile = profileOf(counter, cardId);
    expect(profile.card).toMatchObject({ issueDate: '2026-11-26', expiryDate: '2036-11-26', photo: true });
    // The stored application keeps the form, not the photo's bytes.
    const stored = store.db
      .prepare('SELECT * FROM bank_applications WHERE id = ?')
      .get(applicationId) as Record<string, string>;
    expect(stored).toMatchObject({
      mode: 'normal',
      account_type: 'class-1',
      status: 'accepted',
      card_id: cardId,
    });
    expect(JSON.parse(stored.application_json!).photo).toEqual({ jpegBytes: 4 });

    // The outlet cannot receive a card that is still in production.
    const early = counter.advance(cardId, 'OUTLET_RECEIVED');
    expect(early).toMatchObject({ ok: false, rule: 'R10.1' });
    expect(early.ok || early.zh).toContain('制卡中');

    // Step 5: progress, a failed production and its reason, re-submitted.
    ok(counter.advance(cardId, { type: 'PRODUCTION_FAILED', reason: '照片不合格' }));
    expect(ok(counter.progress(cardId))).toMatchObject({
      state: 'productionFailed',
      zh: '制卡失败：照片不合格',
      en: 'production failed: 照片不合格',
      productionFailure: '照片不合格',
    });
    ok(counter.advance(cardId, 'RESUBMIT'));
    expect(ok(counter.progress(cardId))).toMatchObject({ state: 'inProduction', productionAttempts: 2 });

    // Step 6: the city branch, then the outlet receive the card.
    ok(counter.advance(cardId, 'CITY_BRANCH_RECEIVED'));
    expect(ok(counter.advance(cardId, 'OUTLET_RECEIVED'))).toMatchObject({ state: 'atOutlet' });

    // Step 7: 领卡启用.
    const done = ok(
      await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }),
    );
    expect(done).toMatchObject({
      state: 'active',
      zh: '领卡启用',
      pinSet: true,
      crossBranch: false,
      note: null,
    });
    expect(store.ledger.getCard(cardId)!.status).toBe('active');
    expect(store.security(cardId).pinInitial).toBe(false);
    expect(verifySecret(store.ledger.getBankPassword(cardId)!, FINANCIAL_PASSWORD)).toBe(true);
    expect(
      store.db.prepare('SELECT status FROM bank_applications WHERE id = ?').pluck().get(applicationId),
    ).toBe('completed');

    const h = ok(counter.history(cardId));
    expect(h.entries.map((e) => [e.event, e.to])).toEqual([
      ['xstate.init', 'applied'],
      ['SUBMIT_NORMAL', 'inProduction'],
      ['OUTLET_RECEIVED', 'inProduction'],
      ['PRODUCTION_FAILED', 'productionFailed'],
      ['RESUBMIT', 'inProduction'],
      ['CITY_BRANCH_RECEIVED', 'atCityBranch'],
      ['OUTLET_RECEIVED', 'atOutlet'],
      ['ACTIVATE', 'active'],
    ]);
    expect(h.entries[2]!.refused?.rule).toBe('R10.1');
    expect(h.entries.filter((e) => e.refused === null).map((e) => e.zh)).toEqual([
      '申请已受理',
      '制卡中',
      '制卡失败',
      '制卡中',
      '市分行已接收',
      '网点已接收（待领卡启用）',
      '领卡启用',
    ]);
    expect(h.entries.at(-1)).toMatchObject({
      eventZh: '领卡启用',
      en: 'collected and active',
      branch: BRANCH.id,
    });
    // The history never holds the PIN or the password.
    const raw = JSON.stringify(store.db.prepare('SELECT * FROM lifecycle_events').all());
    expect(raw).not.toContain(NEW_PIN);
    expect(raw).not.toContain(FINANCIAL_PASSWORD);
  });

  it('R10.2: instant issuance fault (printed, system still 制卡中) → 制卡补登 → verified in normal state', async () => {
    const { counter, store } = setup();
    const { cardId, receipt } = ok(counter.apply(mainlandAdult({ mode: 'instant' }), 'instant'));
    expect(receipt).toContain('即时制卡');
    expect(ok(counter.progress(cardId)).state).toBe('instantPrinting');

    // The card face printed, but 省卡系统 still says 制卡中.
    expect(ok(counter.printInstant(cardId, 'pending'))).toMatchObject({ state: 'printedButPending' });
    expect(ok(counter.progress(cardId)).zh).toContain('制卡中');
    // Nothing but 制卡补登 moves it on: neither handing it over nor the state check.
    const handOver = await counter.activate(cardId, {
      newPin: NEW_PIN,
      financialPassword: FINANCIAL_PASSWORD,
    });
    expect(handOver).toMatchObject({ ok: false, rule: 'R10.2' });
    expect(handOver.ok || handOver.zh).toContain('制卡补登');
    expect(counter.verifyNormalState(cardId)).toMatchObject({ ok: false, rule: 'R10.2' });
    expect(store.security(cardId).pinInitial).toBe(true); // the refused activation wrote nothing

    expect(ok(counter.makeUpRegistration(cardId))).toMatchObject({ state: 'printed' });
    // Not handed over before its state was checked.
    expect(
      await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }),
    ).toMatchObject({
      ok: false,
      rule: 'R10.1',
    });
    // The check finds the system still says 制卡中: back to 制卡补登, then checked again.
    expect(ok(counter.verifyNormalState(cardId, { normal: false }))).toMatchObject({
      state: 'printedButPending',
    });
    ok(counter.makeUpRegistration(cardId));
    expect(ok(counter.verifyNormalState(cardId))).toMatchObject({ state: 'atOutlet' });

    ok(await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }));
    expect(store.ledger.getCard(cardId)!.status).toBe('active');
    const h = ok(counter.history(cardId));
    expect(h.entries.filter((e) => !e.refused).map((e) => e.to)).toEqual([
      'applied',
      'instantPrinting',
      'printedButPending',
      'printed',
      'printedButPending',
      'printed',
      'atOutlet',
      'active',
    ]);
    expect(h.entries.find((e) => e.event === 'MAKE_UP_REGISTRATION')).toMatchObject({ eventZh: '制卡补登' });
  });

  it('R1.4: activation refuses 123456 as the new PIN', async () => {
    const { counter, store } = setup();
    const cardId = cardAtOutlet(counter);
    const r = await counter.activate(cardId, { newPin: '123456', financialPassword: FINANCIAL_PASSWORD });
    expect(r).toMatchObject({ ok: false, rule: 'R1.4' });
    expect(r.ok || r.zh).toContain('123456');
    expect(
      await counter.activate(cardId, { newPin: '12345', financialPassword: FINANCIAL_PASSWORD }),
    ).toMatchObject({
      ok: false,
      rule: 'R1.4',
    });
    expect(await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: '' })).toMatchObject({
      ok: false,
      rule: 'R10.1',
    });
    expect(await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: '12ab56' })).toMatchObject({
      ok: false,
      rule: 'R1.2',
    });
    // Nothing was changed by the refusals.
    expect(store.ledger.getCard(cardId)!.status).toBe('not-activated');
    expect(store.security(cardId).pinInitial).toBe(true);
    expect(verifySecret(store.ledger.getBankPassword(cardId)!, FINANCIAL_PASSWORD)).toBe(false);
    expect(ok(counter.progress(cardId)).state).toBe('atOutlet');

    ok(await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }));
    expect(store.security(cardId)).toMatchObject({ pinInitial: false, pinTriesLeft: 3 });
  });

  it('R10.1: after activation the POS pays with the new PIN (openPosSystem on the same file)', async () => {
    const { counter, store, dbPath } = setup();
    const cardId = cardAtOutlet(counter);
    const pos = openPos(dbPath);
    // Before 领卡启用 the till refuses the card.
    const before = await pay(pos, profileOf(counter, cardId), 1250, '123456');
    expect(before.result).not.toBe('paid');
    expect(before.text).toContain('尚未启用');

    ok(await counter.activate(cardId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }));
    // R4.1: 95000 comes into being at the first medical funding; the reserve gets a deposit.
    store.ledger.fund(cardId, 'medical_current', 50_000, 'test-funding-medical');
    store.ledger.fund(cardId, 'reserve', 10_000, 'test-funding-reserve');

    const profile = profileOf(counter, cardId);
    expect((await pay(pos, profile, 1250, NEW_PIN)).result).toBe('paid');
    expect(store.balances(cardId).medicalCurrent).toBe(50_000 - 1250);
    // The financial password the counter set is the one the bank checks.
    expect((await pay(pos, profile, 700, FINANCIAL_PASSWORD, 'reserve')).result).toBe('paid');
    expect(store.balances(cardId).reserve).toBe(10_000 - 700);
    // And the initial PIN is gone from the chip.
    expect((await pay(pos, profile, 100, '123456')).result).not.toBe('paid');
    expect(store.balances(cardId).medicalCurrent).toBe(50_000 - 1250);
  });

  it('R13: loss report and release, also cross-region; the POS refuses a lost card', async () => {
    const { counter, store, dbPath } = setup();
    const cardId = await activeCard(counter);
    store.ledger.fund(cardId, 'medical_current', 20_000, 'test-funding');
    const pos = openPos(dbPath);
    const profile = profileOf(counter, cardId);

    // Reported lost at another branch (跨地区挂失).
    expect(ok(counter.reportLoss(cardId, { crossRegion: true }))).toMatchObject({
      state: 'lossReported',
      zh: '挂失',
    });
    expect(store.ledger.getCard(cardId)!.status).toBe('loss-reported');
    const lost = await pay(pos, profile, 500, NEW_PIN);
    expect(lost.result).not.toBe('paid');
    expect(lost.text).toContain('挂失');
    expect(counter.reportLoss(cardId, { crossRegion: false })).toMatchObject({ ok: false, rule: 'R13' });

    // Released, also cross-region: the card pays again.
    expect(ok(counter.releaseLoss(cardId, { crossRegion: true }))).toMatchObject({ state: 'active' });
    expect(store.ledger.getCard(cardId)!.status).toBe('active');
    expect((await pay(pos, profile, 500, NEW_PIN)).result).toBe('paid');
    expect(counter.releaseLoss(cardId, { crossRegion: false })).toMatchObject({ ok: false, rule: 'R13' });

    // And locally.
    ok(counter.reportLoss(cardId, { crossRegion: false }));
    ok(counter.releaseLoss(cardId, { crossRegion: false }));
    const reports = store.db
      .prepare(
        'SELECT cross_region, branch, released_at IS NOT NULL AS released, release_cross_region FROM loss_reports ORDER BY id',
      )
      .all();
    expect(reports).toEqual([
      { cross_region: 1, branch: BRANCH.id, released: 1, release_cross_region: 1 },
      { cross_region: 0, branch: BRANCH.id, released: 1, release_cross_region: 0 },
    ]);
    expect(ok(counter.history(cardId)).entries.map((e) => e.eventZh)).toContain('解挂');
  });

  it('R2.1: a replacement is issued as gen 3 with the initial PIN and the accounts move over (conservation)', async () => {
    const { counter, store } = setup();
    // A gen 2 card already in use (imported), with reserve, 95000 and 95001.
    const gen2 = resolveCard('gen2').profile;
    store.open(gen2);
    const oldId = gen2.card.number;
    const before = store.balances(oldId);
    expect(before).toEqual({ reserve: 500_000, medicalCurrent: 128_000, medicalPrior: 35_000 });
    const totalsBefore = totals(store);

    // A lost card is reported lost first (R13).
    expect(counter.replace(oldId, 'lost')).toMatchObject({ ok: false, rule: 'R13' });
    ok(counter.reportLoss(oldId, { crossRegion: true }));
    const r = ok(counter.replace(oldId, 'lost', { crossRegion: true }));
    const newId = r.newCardId;
    expect(newId).not.toBe(oldId);
    expect(r.moved).toEqual(before);
    expect(r.receipt).toContain('补换卡回执');
    expect(r.receipt).toContain('三代社保卡');
    expect(r.progress.state).toBe('instantPrinting');

    // The new card: gen 3, new numbers, initial PIN, not activated, same holder.
    const fresh = store.ledger.getCard(newId)!;
    expect(fresh).toMatchObject({
      generation: 3,
      status: 'not-activated',
      ssn: gen2.holder.ssn,
      holderName: '李娜',
    });
    expect(fresh.pan).not.toBe(gen2.financial!.pan);
    expect(checkCardNumber(newId)).toBeNull();
    expect(store.security(newId).pinInitial).toBe(true);
    expect(profileOf(counter, newId).card.chipSerial).not.toBe(gen2.card.chipSerial);

    // The accounts moved over in one balanced posting; nothing was created or lost.
    expect(store.balances(newId)).toEqual(before);
    expect(store.balances(oldId)).toEqual({ reserve: 0, medicalCurrent: 0, medicalPrior: 0 });
    expect(totals(store)).toEqual(totalsBefore);
    expect(totalsBefore.all_accounts).toBe(0);
    expect(store.ledger.checkConsistency()).toEqual([]);
    const moves = store.ledger.journal({ txnId: `replacement:${oldId}:${newId}` });
    expect(moves).toHaveLength(6);
    expect(moves.reduce((s, l) => s + l.amountFen, 0)).toBe(0);
    expect(new Set(moves.map((l) => l.kind))).toEqual(new Set(['replacement-transfer']));

    // The old card is closed, its lifecycle 'replaced'.
    expect(store.ledger.getCard(oldId)!.status).toBe('closed');
    const oldHistory = ok(counter.history(oldId));
    expect(oldHistory.state).toBe('replaced');
    expect(oldHistory.entries.at(-1)!.note?.zh).toContain(newId);
    expect(counter.reportLoss(oldId, { crossRegion: false })).toMatchObject({ ok: false });

    // The holder collects the new card: PIN changed from 123456 (R1.4).
    ok(counter.printInstant(newId));
    ok(counter.verifyNormalState(newId));
    expect(
      await counter.activate(newId, { newPin: '123456', financialPassword: FINANCIAL_PASSWORD }),
    ).toMatchObject({
      ok: false,
      rule: 'R1.4',
    });
    ok(await counter.activate(newId, { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD }));
    expect(store.ledger.getCard(newId)!.status).toBe('active');
  });

  it('R14: closing with a medical account requires its closing first; then medical before financial', async () => {
    const { counter, store, dbPath } = setup();
    const cardId = await activeCard(counter);
    store.ledger.fund(cardId, 'medical_current', 30_000, 'test-funding-95000');
    store.ledger.fund(cardId, 'medical_prior', 5_000, 'test-funding-95001');
    store.ledger.fund(cardId, 'reserve', 20_000, 'test-funding-reserve');

    const refused = counter.close(cardId, { medicalAccountClosedAtInsuranceOffice: false });
    expect(refused).toMatchObject({ ok: false, rule: 'R14' });
    expect(refused.ok || refused.zh).toContain('医保');
    expect(store.ledger.getCard(cardId)!.status).toBe('active');
    expect(store.balances(cardId)).toEqual({ reserve: 20_000, medicalCurrent: 30_000, medicalPrior: 5_000 });
    // R13: not at another branch.
    expect(
      counter.close(cardId, { medicalAccountClosedAtInsuranceOffice: true, crossRegion: true }),
    ).toMatchObject({
      ok: false,
      rule: 'R13',
    });

    const closed = ok(counter.close(cardId, { medicalAccountClosedAtInsuranceOffice: true }));
    expect(closed).toMatchObject({
      state: 'closed',
      hadMedicalAccount: true,
      medicalPaidOutFen: 35_000,
      reservePaidOutFen: 20_000,
    });
    expect(closed.steps.map((s) => s.zh)).toEqual([
      expect.stringContaining('销医保账户'),
      expect.stringContaining('销金融账户'),
      '银行收回社保卡',
    ]);
    expect(store.balances(cardId)).toEqual({ reserve: 0, medicalCurrent: 0, medicalPrior: 0 });
    expect(store.ledger.getCard(cardId)!.status).toBe('closed');
    // Medical first, then financial, in the journal too.
    const kinds = store.ledger
      .journal({ cardId })
      .filter((l) => l.kind.startsWith('closing'))
      .map((l) => l.kind);
    expect(kinds).toEqual(['closing-medical', 'closing-medical', 'closing-withdrawal']);
    expect(store.ledger.checkConsistency()).toEqual([]);
    expect(totals(store)).toEqual({ cards: 0, all_accounts: 0 });

    const pos = openPos(dbPath);
    const r = await pay(pos, profileOf(counter, cardId), 100, NEW_PIN);
    expect(r.text).toContain('注销');
    expect(ok(counter.history(cardId)).entries.map((e) => [e.event, e.refused?.rule ?? null])).toEqual(
      expect.arrayContaining([
        ['CLOSE', 'R14'],
        ['CLOSE', 'R13'],
        ['CLOSE', null],
      ]),
    );
  });

  it('R14: no medical account → financial account closed directly', async () => {
    const { counter, store } = setup();
    const cardId = await activeCard(counter);
    store.ledger.fund(cardId, 'reserve', 8_800, 'test-funding-reserve');
    expect(store.balances(cardId).medicalCurrent).toBeNull();
    // Nothing to register at the medical insurance office.
    const closed = ok(counter.close(cardId, { medicalAccountClosedAtInsuranceOffice: false }));
    expect(closed).toMatchObject({
      hadMedicalAccount: false,
      medicalPaidOutFen: 0,
      reservePaidOutFen: 8_800,
    });
    expect(closed.steps.map((s) => s.zh)).toEqual([expect.stringContaining('销金融账户'), '银行收回社保卡']);
    expect(store.balances(cardId)).toEqual({ reserve: 0, medicalCurrent: null, medicalPrior: null });
    expect(store.ledger.getCard(cardId)!.status).toBe('closed');
    expect(ok(counter.progress(cardId))).toMatchObject({ state: 'closed', zh: '销卡销户（卡片已收回）' });
  });

  it("R13: another bank's card can be activated here but its PIN only if the local system allows", async () => {
    const { counter: issuing, store, dbPath } = setup();
    const here = new BankCounter({
      store,
      clock: issuing.clock,
      branch: { ...BRANCH, id: 'SZ-FT-002', city: '深圳' },
    });
    const withSystem = new BankCounter({
      store,
      clock: issuing.clock,
      branch: { ...BRANCH, id: 'FS-CC-003', city: '佛山', canSetOtherBankPin: true },
    });
    const activation = { newPin: NEW_PIN, financialPassword: FINANCIAL_PASSWORD };

    // This bank's card from another branch: activated here, PIN set.
    const own = cardAtOutlet(issuing);
    const a = ok(await here.activate(own, activation));
    expect(a).toMatchObject({ pinSet: true, crossBranch: true, state: 'active' });
    expect(a.note?.zh).toContain('异地');
    expect(store.security(own).pinInitial).toBe(false);

    // Another bank's card, at an outlet whose 省卡系统 cannot set its PIN.
    const other = cardAtOutlet(issuing);
    const b = ok(await here.activate(other, { ...activation, cardBank: 'other' }));
    expect(b).toMatchObject({ pinSet: false, crossBranch: true, state: 'active' });
    expect(b.note?.zh).toContain('他行');
    expect(b.note?.en).toContain('PIN');
    expect(store.ledger.getCard(other)!.status).toBe('active');
    expect(verifySecret(store.ledger.getBankPassword(other)!, FINANCIAL_PASSWORD)).toBe(true);
    expect(store.security(other).pinInitial).toBe(true);
    expect(ok(here.history(other)).entries.at(-1)!.note?.zh).toContain('他行');
    // The till still refuses its initial PIN.
    store.ledger.fund(other, 'medical_current', 10_000, 'test-funding');
    const pos = openPos(dbPath);
    const r = await pay(pos, profileOf(here, other), 100, '123456');
    expect(r.result).not.toBe('paid');
    expect(r.text).toContain('初始密码');

    // Another bank's card where the local system allows it: PIN set.
    const third = cardAtOutlet(issuing);
    expect(ok(await withSystem.activate(third, { ...activation, cardBank: 'other' }))).toMatchObject({
      pinSet: true,
    });
    expect(store.security(third).pinInitial).toBe(false);
  });
});
