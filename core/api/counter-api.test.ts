import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, toFailure, type Core } from './create-core.ts';
import type { ArgsOf } from './contract.ts';
import { changePin, onVirtualCard } from '../bank/pin-services.ts';
import { fixedClock } from '../time.ts';
import { idCheckChar } from '../rules/ssn.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/applications/', import.meta.url));
const PHOTO = readFileSync(join(FIXTURES, 'photo-358x441.jpg')).toString('base64');

/** fixtures/applications/<name>.json as the counter form sends it (the photo as base64). */
function form(name: string): ArgsOf<'counterApply'> {
  const { photoFile, ...fields } = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
  return { ...(fields as ArgsOf<'counterApply'>), ...(photoFile ? { photoJpegBase64: PHOTO } : {}) };
}

let dir: string;
let core: Core;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-counter-api-'));
  core = await createCore({ dbPath: join(dir, 'ledger.db'), clock: fixedClock('2026-03-02T02:00:00Z') });
});

afterEach(async () => {
  await core.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return toFailure(e);
  }
  throw new Error('expected the call to fail');
}

/** The failure names the field and does not carry the secret that was sent. */
async function badArgs(method: string, args: unknown, field: string, secret?: string) {
  const f = await failureOf(core.call(method, args));
  expect(f.code).toBe('BAD_ARGUMENTS');
  expect(f.en).toContain(field);
  if (secret) expect(JSON.stringify(f)).not.toContain(secret);
  return f;
}

async function card(id: string) {
  return (await core.api.listCards({})).find((c) => c.id === id)!;
}

/** An adult's application accepted (normal issuance), brought to the outlet. */
async function cardAtOutlet(): Promise<string> {
  const r = await core.api.counterApply(form('adult-mainland'));
  if (!r.ok) throw new Error(r.en);
  for (const event of ['CITY_BRANCH_RECEIVED', 'OUTLET_RECEIVED'] as const) {
    expect(await core.api.counterAdvance({ cardId: r.walletId, event })).toMatchObject({ ok: true });
  }
  return r.walletId;
}

describe('counterChangePin (R1.4)', () => {
  it('changes the initial PIN; the wallet shows it is no longer initial', async () => {
    const r = await core.api.counterChangePin({
      cardId: 'gen3-initial-pin',
      oldPin: '123456',
      newPin: '864209',
    });
    expect(r).toMatchObject({ ok: true, tookFromTill: false });
    expect((await card('gen3-initial-pin')).pin.initial).toBe(false);
  });

  it('refuses 123456 as the new PIN with R1.4, and a wrong old PIN says how many tries are left', async () => {
    const initial = await core.api.counterChangePin({
      cardId: 'gen3-initial-pin',
      oldPin: '123456',
      newPin: '123456',
    });
    expect(initial).toMatchObject({ ok: false, rule: 'R1.4', code: 'INITIAL_PIN_AS_NEW' });
    expect(initial.zh).toContain('123456');
    const wrong = await core.api.counterChangePin({
      cardId: 'gen3-active',
      oldPin: '000000',
      newPin: '864209',
    });
    expect(wrong).toMatchObject({ ok: false, rule: 'R1.3', code: 'WRONG_OLD_PIN', triesLeft: 2 });
    expect(JSON.stringify(wrong)).not.toContain('864209');
  });

  it('bad arguments name the field and never echo the PIN', async () => {
    await badArgs(
      'counterChangePin',
      { cardId: 'gen3-active', oldPin: '258014', newPin: '86420x' },
      'newPin',
      '86420x',
    );
    await badArgs(
      'counterChangePin',
      { cardId: 'gen3-active', oldPin: '2580', newPin: '864209' },
      'oldPin',
      '2580',
    );
  });
});

describe('counterUnblock', () => {
  it('unblocks a blocked PIN; the PIN stays the same', async () => {
    expect((await card('gen3-pin-blocked')).pin.blocked).toBe(true);
    expect(await core.api.counterUnblock({ cardId: 'gen3-pin-blocked' })).toMatchObject({ ok: true });
    expect((await card('gen3-pin-blocked')).pin).toMatchObject({ blocked: false, triesLeft: 3 });
    const r = await core.api.counterChangePin({
      cardId: 'gen3-pin-blocked',
      oldPin: '731904',
      newPin: '864209',
    });
    expect(r.ok).toBe(true);
  });

  it('a blocked PIN cannot be changed before the unblock (refused, not thrown)', async () => {
    const r = await core.api.counterChangePin({
      cardId: 'gen3-pin-blocked',
      oldPin: '731904',
      newPin: '864209',
    });
    expect(r).toMatchObject({ ok: false, code: 'PIN_BLOCKED', rule: 'R1.3' });
  });

  it('bad arguments: unknown fields are refused by name; an unknown card is NOT_FOUND', async () => {
    await badArgs('counterUnblock', { cardId: 'gen3-pin-blocked', pin: '731904' }, 'pin', '731904');
    expect((await failureOf(core.api.counterUnblock({ cardId: 'no-such-card' }))).code).toBe('NOT_FOUND');
  });
});

describe('counterApply (R3, R5–R12)', () => {
  it('accepts a good application: the receipt, a new card in the wallet, insertable at the till', async () => {
    const r = await core.api.counterApply(form('adult-mainland'));
    if (!r.ok) throw new Error(r.en);
    expect(r.receipt).toContain('社会保障卡申领回执');
    expect(r.progress.state).toBe('inProduction');
    expect(r.accountType).toBe('普通一类账户');
    const issued = await card(r.walletId);
    expect(issued).toMatchObject({
      source: 'issued',
      generation: 3,
      status: 'not-activated',
      holderName: '赵敏',
    });
    expect(issued.pin.initial).toBe(true);
    expect(await core.api.insertCard({ cardId: r.walletId })).toMatchObject({ cardPresent: true });
  });

  it('a child under 7 without a photo, with a guardian, instant issuance', async () => {
    const r = await core.api.counterApply(form('child-under-7'));
    expect(r).toMatchObject({ ok: true, progress: { state: 'instantPrinting' } });
    expect(r.notes.some((n) => n.field === 'photo')).toBe(true);
  });

  it('lists every problem with its field and rule, and writes nothing', async () => {
    const before = (await core.api.listCards({})).length;
    const r = await core.api.counterApply({
      ...form('adult-mainland'),
      docNumber: '440106199203154315',
      idImagesUploaded: false,
      photoJpegBase64: undefined,
      phone: '12',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byField = Object.fromEntries(r.problems.map((p) => [p.field, p.rule]));
    expect(byField).toMatchObject({ docNumber: 'R3.3', idImagesUploaded: 'R9', photo: 'R8', phone: 'R9' });
    expect(r.rule).toBe('R3.3');
    expect(r.zh).toContain('4 处问题');
    expect((await core.api.listCards({})).length).toBe(before);
  });

  it('one person, one card (R5.2): a second application of the same person is refused', async () => {
    expect((await core.api.counterApply(form('adult-mainland'))).ok).toBe(true);
    const again = await core.api.counterApply(form('adult-mainland'));
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.problems.some((p) => p.field === 'existingCards')).toBe(true);
  });

  it('bad arguments: a photo that is not base64, a batch mode, a missing field', async () => {
    await badArgs(
      'counterApply',
      { ...form('adult-mainland'), photoJpegBase64: 'data:image/jpeg;base64,xx' },
      'photoJpegBase64',
    );
    await badArgs('counterApply', { ...form('adult-mainland'), mode: 'batch' }, 'mode');
    const { name: _name, ...noName } = form('adult-mainland');
    await badArgs('counterApply', noName, 'name');
  });
});

describe('counterProgress, counterAdvance, counterPrintInstant (R10)', () => {
  it('normal issuance: a failed production, resubmitted, then the city branch and the outlet', async () => {
    const r = await core.api.counterApply(form('adult-mainland'));
    if (!r.ok) throw new Error(r.en);
    const id = r.walletId;
    await core.api.counterAdvance({ cardId: id, event: 'PRODUCTION_FAILED', reason: '芯片初始化失败' });
    const failed = await core.api.counterProgress({ cardId: id });
    expect(failed).toMatchObject({
      ok: true,
      state: 'productionFailed',
      productionFailure: '芯片初始化失败',
    });
    expect((await core.api.counterAdvance({ cardId: id, event: 'RESUBMIT' })).ok).toBe(true);
    expect(await core.api.counterAdvance({ cardId: id, event: 'CITY_BRANCH_RECEIVED' })).toMatchObject({
      ok: true,
      state: 'atCityBranch',
    });
    expect(await core.api.counterAdvance({ cardId: id, event: 'OUTLET_RECEIVED' })).toMatchObject({
      ok: true,
      state: 'atOutlet',
    });
  });

  it('refuses a step the card is not at, with its rule', async () => {
    const r = await core.api.counterApply(form('adult-mainland'));
    if (!r.ok) throw new Error(r.en);
    const skip = await core.api.counterAdvance({ cardId: r.walletId, event: 'OUTLET_RECEIVED' });
    expect(skip).toMatchObject({ ok: false, rule: 'R10.1' });
    expect((await core.api.counterProgress({ cardId: r.walletId })).ok).toBe(true);
  });

  it('instant issuance with the R10.2 fault: only 制卡补登 moves it on, then the state check', async () => {
    const r = await core.api.counterApply(form('child-under-7'));
    if (!r.ok) throw new Error(r.en);
    const id = r.walletId;
    expect(await core.api.counterPrintInstant({ cardId: id, pending: true })).toMatchObject({
      state: 'printedButPending',
    });
    expect(await core.api.counterAdvance({ cardId: id, event: 'VERIFY_NORMAL_STATE' })).toMatchObject({
      ok: false,
      rule: 'R10.2',
    });
    expect(await core.api.counterAdvance({ cardId: id, event: 'MAKE_UP_REGISTRATION' })).toMatchObject({
      state: 'printed',
    });
    expect(await core.api.counterAdvance({ cardId: id, event: 'VERIFY_NORMAL_STATE' })).toMatchObject({
      state: 'atOutlet',
    });
  });

  it('a card with no lifecycle here is a refusal; bad events are bad arguments', async () => {
    expect(await core.api.counterProgress({ cardId: 'gen3-loss-reported' })).toMatchObject({
      ok: false,
      rule: 'card',
    });
    await badArgs('counterAdvance', { cardId: 'gen3-active', event: 'ACTIVATE' }, 'event');
    await badArgs('counterPrintInstant', { cardId: 'gen3-active', pending: 'yes' }, 'pending');
    await badArgs('counterProgress', { cardId: '' }, 'cardId');
  });
});

describe('counterActivate (R10.1 step 7, R1.4)', () => {
  it('sets the PIN and the financial password; the card is active, its PIN not initial', async () => {
    const id = await cardAtOutlet();
    const r = await core.api.counterActivate({ cardId: id, newPin: '864209', financialPassword: '246810' });
    expect(r).toMatchObject({ ok: true, state: 'active', pinSet: true });
    expect(JSON.stringify(r)).not.toMatch(/864209|246810/);
    expect(await card(id)).toMatchObject({ status: 'active', pin: { initial: false } });
  });

  it("the till's copy of the card learns the new PIN even when it was opened before activation", async () => {
    const id = await cardAtOutlet();
    await core.api.insertCard({ cardId: id }); // the till opens the card (not yet active)
    const r = await core.api.counterActivate({ cardId: id, newPin: '864209', financialPassword: '246810' });
    expect(r).toMatchObject({ ok: true, tookFromTill: true });
    const shared = core.workspace().card(id);
    expect((await onVirtualCard(shared, (rd) => changePin(rd, '864209', '975310'))).ok).toBe(true);
  });

  it('refuses the initial PIN (R1.4) and a card not at the outlet (R10.1)', async () => {
    const id = await cardAtOutlet();
    const initial = await core.api.counterActivate({
      cardId: id,
      newPin: '123456',
      financialPassword: '246810',
    });
    expect(initial).toMatchObject({ ok: false, rule: 'R1.4' });
    expect((await card(id)).status).toBe('not-activated');
    const r = await core.api.counterApply({
      ...form('adult-mainland'),
      name: '钱七',
      docNumber: `44010619850712001${idCheckChar('44010619850712001')}`,
      birthDate: '1985-07-12',
    });
    if (!r.ok) throw new Error(r.en);
    const early = await core.api.counterActivate({
      cardId: r.walletId,
      newPin: '864209',
      financialPassword: '246810',
    });
    expect(early).toMatchObject({ ok: false, rule: 'R10.1' });
  });

  it('bad arguments name the field and never echo the PIN or the password', async () => {
    await badArgs(
      'counterActivate',
      { cardId: 'x', newPin: '86420', financialPassword: '246810' },
      'newPin',
      '86420"',
    );
    await badArgs(
      'counterActivate',
      { cardId: 'x', newPin: '864209', financialPassword: '24681a' },
      'financialPassword',
      '24681a',
    );
  });
});

describe('counterReportLoss, counterReleaseLoss, counterReplace, counterClose (R13, R2.1, R14)', () => {
  it('a loss report stops the card at the till; the release makes it active again', async () => {
    expect(await core.api.counterReportLoss({ cardId: 'gen3-active' })).toMatchObject({
      ok: true,
      state: 'lossReported',
    });
    expect((await card('gen3-active')).status).toBe('loss-reported');
    expect(await core.api.counterReleaseLoss({ cardId: 'gen3-active', crossRegion: true })).toMatchObject({
      ok: true,
      state: 'active',
    });
    expect((await card('gen3-active')).status).toBe('active');
  });

  it('releasing a card that was not reported lost is refused with R13', async () => {
    expect(await core.api.counterReleaseLoss({ cardId: 'gen3-active' })).toMatchObject({
      ok: false,
      rule: 'R13',
    });
    await badArgs('counterReportLoss', { cardId: 'gen3-active', crossRegion: 'yes' }, 'crossRegion');
  });

  it('replacing a lost card: refused before the loss report, then a new gen 3 card with the balances', async () => {
    const before = await card('gen3-active');
    expect(await core.api.counterReplace({ cardId: 'gen3-active', reason: 'lost' })).toMatchObject({
      ok: false,
      rule: 'R13',
    });
    await core.api.counterReportLoss({ cardId: 'gen3-active' });
    await core.api.insertCard({ cardId: 'gen3-active' });
    const r = await core.api.counterReplace({ cardId: 'gen3-active', reason: 'lost' });
    if (!r.ok) throw new Error(r.en);
    expect(r.tookFromTill).toBe(true);
    expect(r.receipt).toContain('补换卡');
    const fresh = await card(r.newCardId);
    expect(fresh).toMatchObject({ generation: 3, status: 'not-activated', pin: { initial: true } });
    expect(fresh.balances).toEqual(before.balances);
    expect((await card('gen3-active')).status).toBe('closed');
    await badArgs('counterReplace', { cardId: 'gen3-active', reason: 'bored' }, 'reason');
  });

  it('closing: refused while the medical account is open (R14), then medical first, reserve second', async () => {
    const refused = await core.api.counterClose({ cardId: 'gen3-active' });
    expect(refused).toMatchObject({ ok: false, rule: 'R14' });
    const r = await core.api.counterClose({
      cardId: 'gen3-active',
      medicalAccountClosedAtInsuranceOffice: true,
    });
    if (!r.ok) throw new Error(r.en);
    expect(r.steps.map((s) => s.zh)).toHaveLength(3);
    expect(r.steps[0]!.zh).toContain('医保');
    expect((await card('gen3-active')).status).toBe('closed');
    await badArgs('counterClose', { cardId: 'gen3-active', medical: true }, 'medical');
  });

  it('the history lists every step, refusals too', async () => {
    await core.api.counterReleaseLoss({ cardId: 'gen3-active' });
    await core.api.counterReportLoss({ cardId: 'gen3-active' });
    const h = await core.api.counterHistory({ cardId: 'gen3-active' });
    if (!h.ok) throw new Error(h.en);
    expect(h.entries.map((e) => e.event)).toEqual(['RELEASE_LOSS', 'REPORT_LOSS']);
    expect(h.entries[0]!.refused?.rule).toBe('R13');
    expect(h.entries[1]!).toMatchObject({ refused: null, to: 'lossReported', zh: '挂失' });
    expect(await core.api.counterHistory({ cardId: 'gen3-loss-reported' })).toMatchObject({
      ok: false,
      rule: 'card',
    });
    await badArgs('counterHistory', {}, 'cardId');
  });
});

describe('counterSsnFromDocument (R3.3, R3.4), counterCheckPhoto (R8)', () => {
  it('makes the SSN from a permit, or says which rule refuses the document', async () => {
    expect(
      await core.api.counterSsnFromDocument({ country: 'hkg', docType: 'hk-macau-permit', doc: 'H12345678' }),
    ).toEqual({ ok: true, ssn: 'HKG012345678', note: null });
    const r = await core.api.counterSsnFromDocument({
      country: 'MAC',
      docType: 'hk-macau-permit',
      doc: 'H12345678',
    });
    expect(r).toMatchObject({ ok: false, rule: 'R3.4' });
    await badArgs(
      'counterSsnFromDocument',
      { country: 'CHN', docType: 'driving-licence', doc: '1' },
      'docType',
    );
  });

  it('passes the fixture photo and lists the rules a bad one breaks', async () => {
    expect(await core.api.counterCheckPhoto({ photoJpegBase64: PHOTO })).toMatchObject({
      ok: true,
      width: 358,
      height: 441,
    });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]).toString('base64');
    const r = await core.api.counterCheckPhoto({ photoJpegBase64: png });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ rule: 'R8.format' });
    await badArgs('counterCheckPhoto', { photoJpegBase64: 'not base64!' }, 'photoJpegBase64');
    await badArgs('counterCheckPhoto', { photoJpegBase64: PHOTO, ageYears: -1 }, 'ageYears');
  });
});
