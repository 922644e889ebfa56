import { describe, expect, it } from 'vitest';
import {
  branchOffersCardBusiness,
  checkEligibility,
  isLiveCard,
  mostRestrictive,
  oneCardPerPerson,
  type Applicant,
  type ExistingCard,
} from './eligibility.ts';

const GUANGZHOU = { city: '广州' };
const RESIDENT: Applicant = { nationality: 'CHN', livesWorksOrInsuredInGuangdong: true, foreigner: false };

const otherBank = (region: ExistingCard['region'], status?: string): ExistingCard => ({
  bank: 'other',
  region,
  status,
});
const thisBank = (region: ExistingCard['region'], status?: string): ExistingCard => ({
  bank: 'this',
  region,
  status,
});

describe('R5 / R7 eligibility', () => {
  it('R5.1: a Chinese citizen living, working or insured in Guangdong with no card can apply', () => {
    const r = checkEligibility(RESIDENT, [], GUANGZHOU);
    expect(r.verdict).toBe('can');
    expect(r.reasons).toEqual([expect.objectContaining({ rule: 'R5.1', verdict: 'can' })]);
  });

  it('R5.1: Hong Kong, Macau, Taiwan residents and overseas Chinese count as Chinese citizens', () => {
    for (const nationality of ['HKG', 'MAC', 'TWN', 'CHN']) {
      expect(checkEligibility({ ...RESIDENT, nationality }, [], GUANGZHOU).verdict).toBe('can');
    }
  });

  it('R5.1: a Chinese citizen with no tie to Guangdong cannot apply', () => {
    const r = checkEligibility({ ...RESIDENT, livesWorksOrInsuredInGuangdong: false }, [], GUANGZHOU);
    expect(r.verdict).toBe('cannot');
    expect(r.reasons[0]).toMatchObject({ rule: 'R5.1', zh: '申请人须在广东省内居住、就业或参加社会保险' });
  });

  it('R5.1: a foreigner must be employed or insured in Guangdong; living there is not enough', () => {
    const foreigner: Applicant = {
      nationality: 'USA',
      livesWorksOrInsuredInGuangdong: true,
      foreigner: true,
    };
    expect(
      checkEligibility({ ...foreigner, employedOrInsuredInGuangdong: true }, [], GUANGZHOU).verdict,
    ).toBe('can');
    const onlyLives = checkEligibility({ ...foreigner, employedOrInsuredInGuangdong: false }, [], GUANGZHOU);
    expect(onlyLives.verdict).toBe('cannot');
    expect(onlyLives.reasons[0]?.en).toMatch(/living there is not enough/);
    const unknown = checkEligibility(foreigner, [], GUANGZHOU);
    expect(unknown.verdict).toBe('cannot');
    expect(unknown.reasons[0]?.en).toMatch(/confirm and record/);
  });

  it('R5.1: an inconsistent nationality and foreigner flag is refused until the record is fixed', () => {
    expect(
      checkEligibility({ ...RESIDENT, foreigner: true, employedOrInsuredInGuangdong: true }, [], GUANGZHOU),
    ).toMatchObject({ verdict: 'cannot', reasons: [{ rule: 'R5.1' }] });
    expect(checkEligibility({ ...RESIDENT, nationality: 'USA' }, [], GUANGZHOU).verdict).toBe('cannot');
    expect(checkEligibility({ ...RESIDENT, nationality: 'chn' }, [], GUANGZHOU).verdict).toBe('cannot');
  });

  it("R5.2: another bank's card from another province → can", () => {
    const r = checkEligibility(RESIDENT, [otherBank('other-province')], GUANGZHOU);
    expect(r.verdict).toBe('can');
    expect(r.reasons).toContainEqual(expect.objectContaining({ rule: 'R5.2', verdict: 'can' }));
  });

  it("R5.2/R7.4: another bank's card from another city in the province → cannot until the cleanup here", () => {
    const r = checkEligibility(RESIDENT, [otherBank('other-city-in-province')], GUANGZHOU);
    expect(r.verdict).toBe('cannot-until-cleanup');
    expect(r.reasons.map((x) => x.rule)).toEqual(['R5.1', 'R5.2', 'R7.4']);
    expect(r.reasons[2]?.zh).toContain('发卡地本地');
  });

  it("R5.2: another bank's card in the same city → cannot (change bank or cancel it first)", () => {
    const r = checkEligibility(RESIDENT, [otherBank('same-city')], GUANGZHOU);
    expect(r.verdict).toBe('cannot');
    expect(r.reasons[1]).toMatchObject({ rule: 'R5.2', verdict: 'cannot' });
    expect(r.reasons[1]?.zh).toMatch(/换行.*注销/);
    // R7.4: the cleanup is no way out here.
    expect(r.reasons[2]).toMatchObject({ rule: 'R7.4', en: expect.stringMatching(/cannot clear/) });
  });

  it("R5.2: this bank's card from another city or province → warn (not allowed, not blocked)", () => {
    for (const region of ['other-city-in-province', 'other-province'] as const) {
      const r = checkEligibility(RESIDENT, [thisBank(region)], GUANGZHOU);
      expect(r.verdict).toBe('warn');
      expect(r.reasons[1]).toMatchObject({ rule: 'R5.2', verdict: 'warn' });
      expect(r.reasons[1]?.en).toMatch(/not allowed.*will not stop/);
      expect(r.reasons[2]).toMatchObject({ rule: 'R7.4', verdict: 'warn' });
    }
  });

  it("R7.1: this bank's card in the same city → cannot; replace it instead", () => {
    const r = checkEligibility(RESIDENT, [thisBank('same-city')], GUANGZHOU);
    expect(r.verdict).toBe('cannot');
    expect(r.reasons[1]).toMatchObject({ rule: 'R7.1', zh: expect.stringContaining('补换领') });
  });

  it('R5.2: several cards take the most restrictive verdict and list every reason', () => {
    const warnAndCleanup = checkEligibility(
      RESIDENT,
      [thisBank('other-province'), otherBank('other-city-in-province'), otherBank('other-province')],
      GUANGZHOU,
    );
    expect(warnAndCleanup.verdict).toBe('cannot-until-cleanup');
    expect(warnAndCleanup.reasons.map((x) => `${x.rule}:${x.verdict}`)).toEqual([
      'R5.1:can',
      'R5.2:warn',
      'R7.4:warn',
      'R5.2:cannot-until-cleanup',
      'R7.4:cannot-until-cleanup',
      'R5.2:can',
    ]);
    const withSameCity = checkEligibility(
      RESIDENT,
      [otherBank('other-city-in-province'), otherBank('same-city')],
      GUANGZHOU,
    );
    expect(withSameCity.verdict).toBe('cannot');
    expect(withSameCity.reasons).toHaveLength(5);
    // An applicant who may not apply at all stays refused whatever the cards say.
    const notEligible = checkEligibility(
      { ...RESIDENT, livesWorksOrInsuredInGuangdong: false },
      [otherBank('other-province')],
      GUANGZHOU,
    );
    expect(notEligible.verdict).toBe('cannot');
  });

  it('R5.2: the severity order is can < warn < cannot-until-cleanup < cannot', () => {
    expect(mostRestrictive([])).toBe('can');
    expect(mostRestrictive(['can', 'warn'])).toBe('warn');
    expect(mostRestrictive(['warn', 'cannot-until-cleanup', 'can'])).toBe('cannot-until-cleanup');
    expect(mostRestrictive(['cannot-until-cleanup', 'cannot', 'warn'])).toBe('cannot');
  });

  it('R7.1: cancelled or merged cards no longer count; lost ones still do', () => {
    const r = checkEligibility(
      RESIDENT,
      [otherBank('same-city', '已注销'), thisBank('same-city', 'merged')],
      GUANGZHOU,
    );
    expect(r.verdict).toBe('can');
    expect(r.reasons.slice(1)).toEqual([
      expect.objectContaining({ rule: 'R7.1', verdict: 'can' }),
      expect.objectContaining({ rule: 'R7.1', verdict: 'can' }),
    ]);
    expect(checkEligibility(RESIDENT, [otherBank('same-city', '挂失')], GUANGZHOU).verdict).toBe('cannot');
    expect(isLiveCard(undefined)).toBe(true);
    expect(isLiveCard(' Cancelled ')).toBe(false);
    expect(isLiveCard('active')).toBe(true);
  });

  it('R6: a branch where the card business is not online takes no applications', () => {
    for (const city of ['东莞', '东莞市', 'Dongguan', '湛江', '清远', '惠州', '茂名']) {
      expect(branchOffersCardBusiness({ city })).toBe(false);
    }
    expect(branchOffersCardBusiness(GUANGZHOU)).toBe(true);
    expect(branchOffersCardBusiness({ city: '东莞', cardBusinessOnline: true })).toBe(true);
    const r = checkEligibility(RESIDENT, [], { city: '东莞' });
    expect(r.verdict).toBe('cannot');
    expect(r.reasons[0]).toMatchObject({ rule: 'R6', zh: expect.stringContaining('东莞分行尚未上线') });
  });

  it('R7.1: one person, one card in the card management system', () => {
    const cards = [
      { ssn: '11010519491231002X', number: 'A', status: 'active' },
      { ssn: '440111198511301511', number: 'B' },
      { ssn: '11010519491231002x', number: 'C', status: '已归并' },
    ];
    expect(oneCardPerPerson('11010519491231002X', cards)).toEqual({ ok: true, card: cards[0] });
    expect(oneCardPerPerson('HKG012345678', cards)).toEqual({ ok: true, card: null });
    const twice = oneCardPerPerson('440111198511301511', [
      ...cards,
      { ssn: '440111198511301511', number: 'D' },
    ]);
    expect(twice).toMatchObject({ ok: false, reason: { rule: 'R7.1' } });
    if (!twice.ok) {
      expect(twice.cards.map((c) => c.number)).toEqual(['B', 'D']);
      expect(twice.reason.zh).toContain('一人一卡清理');
    }
  });
});
