import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCardStore } from '../ledger/card-store.ts';
import { BankCounter } from './counter.ts';
import { validateApplication } from './application.ts';
import { resolveCard } from '../card/wallet.ts';
import { parseProfile, type CardProfileInput } from '../card/profile.ts';
import { idCheckChar } from '../rules/ssn.ts';
import { fixedClock } from '../time.ts';
import type { Application } from './types.ts';

/** R2: which generation gets issued, and which existing cards stand in the way. */
const clock = fixedClock('2026-11-26T02:00:00Z');

function setup() {
  const store = openCardStore(join(mkdtempSync(join(tmpdir(), 'sscard-gen-')), 'ledger.db'), clock);
  const counter = new BankCounter({
    store,
    clock,
    branch: { id: 'GZ-001', city: '广州', bank: 'this', areaCode: '440100' },
  });
  return { store, counter };
}

const gen1 = resolveCard('gen1').profile; // 张伟, SSN 440106196804121231

function application(): Application {
  return {
    name: gen1.holder.name,
    sex: gen1.holder.sex,
    birthDate: gen1.holder.birthDate,
    nation: '01',
    nationality: 'CHN',
    docType: 'id',
    docNumber: gen1.holder.ssn,
    phone: '13800138000',
    idImagesUploaded: true,
    photo: null,
    livesWorksOrInsuredInGuangdong: true,
    channel: 'bank-outlet',
    mode: 'normal',
  };
}

describe('R2 which generation gets issued', () => {
  it('R2.2: a holder of a gen 1 card only applies for a gen 3 card directly', () => {
    const { store, counter } = setup();
    store.open(gen1);
    const existing = counter.cardsAgainstApplication(gen1.holder.ssn);
    expect(existing).toEqual([]); // the gen 1 card does not stand in the way
    const check = validateApplication(application(), { today: '2026-11-26', existingCards: existing });
    expect(check.problems.filter((p) => p.rule.startsWith('R5') || p.rule.startsWith('R7'))).toEqual([]);
    store.close();
  });

  it('R2.1/R5.2: a gen 2 card of this bank in the same city does stand in the way (replace it instead)', () => {
    const { store, counter } = setup();
    const p = structuredClone(gen1) as CardProfileInput;
    const body = '44010619680412123';
    p.generation = 2;
    p.holder.ssn = body + idCheckChar(body);
    p.transactionPassword = '246810';
    p.financial = { ...resolveCard('gen2').profile.financial! };
    store.open(parseProfile(p));
    const existing = counter.cardsAgainstApplication(p.holder.ssn);
    expect(existing.length).toBe(1);
    const check = validateApplication(application(), { today: '2026-11-26', existingCards: existing });
    expect(check.ok).toBe(false);
    store.close();
  });

  it('R2.2: an expired gen 2 card is replaced by a gen 3 card with the initial PIN', () => {
    const { store, counter } = setup();
    const expired = resolveCard('gen3-expired').profile;
    const p = structuredClone(resolveCard('gen2').profile) as CardProfileInput;
    p.card.expiryDate = expired.card.expiryDate;
    p.card.issueDate = expired.card.issueDate;
    p.financial = { ...p.financial!, expiry: expired.financial!.expiry };
    store.open(parseProfile(p));
    const r = counter.replace(p.card.number, 'expired');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const fresh = store.ledger.getCard(r.newCardId)!;
    expect(fresh.generation).toBe(3);
    expect(store.security(r.newCardId)).toMatchObject({ pinInitial: true });
    expect(store.ledger.getCard(p.card.number)!.status).toBe('closed');
    store.close();
  });
});
