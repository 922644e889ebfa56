/**
 * R5.1, R5.2, R7: may this applicant apply for a card at this branch?
 *
 * R5.1 (handbook: 哪些人有资格可以申领) — Chinese citizens (mainland, Hong Kong, Macau and Taiwan
 * residents, overseas Chinese) who live, work or are insured in Guangdong; foreigners who are
 * employed or insured there (or otherwise entitled to social security rights there, which the
 * caller folds into `employedOrInsuredInGuangdong`). Living in Guangdong is enough for a
 * citizen, not for a foreigner.
 *
 * R5.2 — the cards the applicant already holds:
 *   another bank, another province        → can
 *   another bank, another city, province  → cannot until the one-person-one-card cleanup (R7.4)
 *   another bank, same city               → cannot: change bank (换行) or cancel that card first
 *   this bank, another city or province   → not allowed, but the system does not block it: warn
 * R5.2 says nothing about this bank's card in the same city: that person is already our
 * cardholder here, and one person has one card (R7.1), so the answer is a replacement
 * (补换领), not a new application: cannot.
 *
 * R7.4 — the cleanup only runs at the issuing locality (here), and only merges another bank's
 * card from another city of the province; it cannot clear a same-city card of another bank or
 * this bank's card elsewhere. Those reasons are listed next to the R5.2 ones so the clerk is
 * not sent to try it.
 *
 * Several cards combine by taking the most restrictive verdict, listing every reason. The
 * severity order is can < warn < cannot-until-cleanup < cannot: a warning is a policy breach the
 * system lets through, whereas the cleanup is a step without which the provincial system will
 * not issue a second card, so it outranks the warning (both reasons are still shown).
 *
 * The branch matters too: the handbook lists branches where the card business is not online
 * yet (湛江、东莞、清远、惠州、茂名); an outlet there is not an application channel (R6).
 */
import { ruleReason, type RuleId, type RuleReason } from './reason.ts';

export interface Applicant {
  /** ISO 3166 alpha-3 as recorded (CHN, HKG, MAC, TWN for Chinese citizens; USA, DEU… otherwise). */
  nationality: string;
  livesWorksOrInsuredInGuangdong: boolean;
  foreigner: boolean;
  /** Foreigners only: employed or insured in Guangdong. Left out means "not recorded". */
  employedOrInsuredInGuangdong?: boolean;
}

export type CardBank = 'this' | 'other';
export type CardRegion = 'same-city' | 'other-city-in-province' | 'other-province';

export interface ExistingCard {
  bank: CardBank;
  /** Where the card was issued, seen from the branch taking the application. */
  region: CardRegion;
  /** As the card management system shows it; see isLiveCard for which statuses still count. */
  status?: string;
}

export interface Branch {
  /** The branch's city, e.g. 广州 or Guangzhou. */
  city: string;
  /** Whether the branch offers the card business; left out, the handbook's list decides. */
  cardBusinessOnline?: boolean;
}

export type Verdict = 'can' | 'warn' | 'cannot-until-cleanup' | 'cannot';

export interface EligibilityReason extends RuleReason {
  /** The verdict this reason alone would give; the overall verdict is the most restrictive. */
  verdict: Verdict;
}

export interface Eligibility {
  verdict: Verdict;
  reasons: EligibilityReason[];
}

const SEVERITY: Readonly<Record<Verdict, number>> = { can: 0, warn: 1, 'cannot-until-cleanup': 2, cannot: 3 };

export function mostRestrictive(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((worst, v) => (SEVERITY[v] > SEVERITY[worst] ? v : worst), 'can');
}

const because = (verdict: Verdict, rule: RuleId, zh: string, en: string): EligibilityReason => ({
  ...ruleReason(rule, zh, en),
  verdict,
});

/** Nationalities of Chinese citizens as 省卡系统 records them; overseas Chinese keep CHN. */
const CHINESE_NATIONALITIES: ReadonlySet<string> = new Set(['CHN', 'HKG', 'MAC', 'TWN']);

/** Handbook, 卡别卡号: the Guangdong branches where the card business is not online yet. */
export const BRANCHES_WITHOUT_CARD_BUSINESS: readonly { zh: string; en: string }[] = [
  { zh: '湛江', en: 'Zhanjiang' },
  { zh: '东莞', en: 'Dongguan' },
  { zh: '清远', en: 'Qingyuan' },
  { zh: '惠州', en: 'Huizhou' },
  { zh: '茂名', en: 'Maoming' },
];

export function branchOffersCardBusiness(branch: Branch): boolean {
  if (branch.cardBusinessOnline !== undefined) return branch.cardBusinessOnline;
  const city = branch.city.trim().replace(/市$/, '').toLowerCase();
  return !BRANCHES_WITHOUT_CARD_BUSINESS.some((b) => b.zh === city || b.en.toLowerCase() === city);
}

/**
 * Statuses after which a card no longer stands for its holder in the card management system:
 * cancelled or closed (注销/销户), or merged into another card by the one-person-one-card
 * cleanup (归并, R7.2). Everything else — active, loss-reported, frozen, unknown — still counts,
 * because a lost card is still that person's one card until it is replaced or cancelled.
 */
const NOT_LIVE = new Set([
  'cancelled',
  'canceled',
  'closed',
  'merged',
  '注销',
  '已注销',
  '销户',
  '已销户',
  '归并',
  '已归并',
]);

export function isLiveCard(status: string | undefined): boolean {
  return status === undefined || !NOT_LIVE.has(status.trim().toLowerCase());
}

/** R5.1: whether this person may hold a Guangdong card at all. */
export function applicantReasons(applicant: Applicant): EligibilityReason[] {
  const { nationality, foreigner } = applicant;
  if (!/^[A-Z]{3}$/.test(nationality)) {
    return [
      because(
        'cannot',
        'R5.1',
        `国籍应为 3 位大写字母代码（如 CHN、HKG、USA），“${nationality}”不符合`,
        `The nationality must be a 3-capital-letter code (e.g. CHN, HKG, USA), not '${nationality}'`,
      ),
    ];
  }
  const chinese = CHINESE_NATIONALITIES.has(nationality);
  if (foreigner && chinese) {
    return [
      because(
        'cannot',
        'R5.1',
        `申请人标为外国人，但国籍为 ${nationality}，请核对客户信息`,
        `The applicant is marked as a foreigner but the nationality is ${nationality}: check the customer record`,
      ),
    ];
  }
  if (!foreigner && !chinese) {
    return [
      because(
        'cannot',
        'R5.1',
        `中国公民的国籍应为 CHN、HKG、MAC 或 TWN（华侨为 CHN），当前为 ${nationality}，请核对客户信息`,
        `A Chinese citizen's nationality is CHN, HKG, MAC or TWN (overseas Chinese: CHN), not ${nationality}: check the customer record`,
      ),
    ];
  }
  if (foreigner) {
    if (applicant.employedOrInsuredInGuangdong === undefined) {
      return [
        because(
          'cannot',
          'R5.1',
          '外国人须在广东省内就业或参加社会保险，请先确认并登记',
          'A foreigner must be employed or insured in Guangdong: confirm and record it first',
        ),
      ];
    }
    return applicant.employedOrInsuredInGuangdong
      ? [
          because(
            'can',
            'R5.1',
            '外国人在广东省内就业或参保，可以申领',
            'A foreigner employed or insured in Guangdong may apply',
          ),
        ]
      : [
          because(
            'cannot',
            'R5.1',
            '外国人须在广东省内就业或参加社会保险，仅在广东居住不能申领',
            'A foreigner must be employed or insured in Guangdong; living there is not enough',
          ),
        ];
  }
  return applicant.livesWorksOrInsuredInGuangdong
    ? [
        because(
          'can',
          'R5.1',
          '中国公民在广东省内居住、就业或参保，可以申领',
          'A Chinese citizen living, working or insured in Guangdong may apply',
        ),
      ]
    : [
        because(
          'cannot',
          'R5.1',
          '申请人须在广东省内居住、就业或参加社会保险',
          'The applicant must live, work or be insured in Guangdong',
        ),
      ];
}

const REGION_NAME: Readonly<Record<CardRegion, { zh: string; en: string }>> = {
  'same-city': { zh: '本市', en: 'this city' },
  'other-city-in-province': { zh: '省内其他城市', en: 'another city in the province' },
  'other-province': { zh: '外省', en: 'another province' },
};

/** R5.2 and R7: what one existing card means for a new application. */
export function existingCardReasons(card: ExistingCard): EligibilityReason[] {
  const where = REGION_NAME[card.region];
  if (!isLiveCard(card.status)) {
    return [
      because(
        'can',
        'R7.1',
        `${where.zh}的社保卡状态为“${card.status}”，不再占用一人一卡，不影响申领`,
        `The card from ${where.en} is '${card.status}' and no longer counts as the person's one card`,
      ),
    ];
  }
  if (card.bank === 'other') {
    switch (card.region) {
      case 'other-province':
        return [
          because(
            'can',
            'R5.2',
            '已持外省他行社保卡，可以办理',
            "Another bank's card from another province: the applicant may apply",
          ),
        ];
      case 'other-city-in-province':
        return [
          because(
            'cannot-until-cleanup',
            'R5.2',
            '已持省内异地他行社保卡，须先做一人一卡清理后才能办理',
            "Another bank's card from another city in the province: apply only after the one-person-one-card cleanup",
          ),
          because(
            'cannot-until-cleanup',
            'R7.4',
            '一人一卡清理仅在发卡地本地办理：在本网点清理并归并该卡后再申领',
            'The cleanup is done only at the issuing locality: clean up and merge that card here, then apply',
          ),
        ];
      case 'same-city':
        return [
          because(
            'cannot',
            'R5.2',
            '本市他行已有社保卡，不可直接申领：请客户申请换行，或先注销他行卡再办理（以当地分行人社要求为准）',
            "Another bank's card in this city: no direct application; the customer changes bank or cancels that card first (local rules prevail)",
          ),
          because(
            'cannot',
            'R7.4',
            '一人一卡清理不能用于清理本地他行卡',
            "The one-person-one-card cleanup cannot clear another bank's card in the same city",
          ),
        ];
    }
  }
  if (card.region === 'same-city') {
    return [
      because(
        'cannot',
        'R7.1',
        '客户已持本行本市社保卡，一人仅能对应一张社保卡：请办理补换领，而非新申领',
        "The customer already holds this bank's card in this city; one person has one card: replace it rather than apply",
      ),
    ];
  }
  return [
    because(
      'warn',
      'R5.2',
      `已持${where.zh}的本行社保卡，按规定不可再申领（系统不会拦截，请勿继续办理）`,
      `This bank's card from ${where.en}: a new application is not allowed (the system will not stop it; do not proceed)`,
    ),
    because(
      'warn',
      'R7.4',
      '一人一卡清理不能用于清理异地本行卡',
      "The one-person-one-card cleanup cannot clear this bank's card from elsewhere",
    ),
  ];
}

function branchReasons(branch: Branch): EligibilityReason[] {
  if (branchOffersCardBusiness(branch)) return [];
  return [
    because(
      'cannot',
      'R6',
      `${branch.city}分行尚未上线社保卡业务，不能在此网点申领`,
      `The ${branch.city} branch does not offer the card business yet: no applications at this outlet`,
    ),
  ];
}

/** Every reason that applies, and the most restrictive verdict among them. */
export function checkEligibility(
  applicant: Applicant,
  existingCards: readonly ExistingCard[],
  branch: Branch,
): Eligibility {
  const reasons = [
    ...branchReasons(branch),
    ...applicantReasons(applicant),
    ...existingCards.flatMap(existingCardReasons),
  ];
  return { verdict: mostRestrictive(reasons.map((r) => r.verdict)), reasons };
}

export interface RegisteredCard {
  ssn: string;
  status?: string;
}

export type OneCardCheck<C extends RegisteredCard> =
  { ok: true; card: C | null } | { ok: false; cards: C[]; reason: RuleReason };

/**
 * R7.1: the card management system maps one person to one card. Returns the person's live
 * card (or null), or every live card when there is more than one — the state the
 * one-person-one-card cleanup exists to resolve. SSNs compare case-insensitively so that a
 * trailing x and X are the same person.
 */
export function oneCardPerPerson<C extends RegisteredCard>(
  ssn: string,
  cards: readonly C[],
): OneCardCheck<C> {
  const key = ssn.trim().toUpperCase();
  const live = cards.filter((c) => c.ssn.trim().toUpperCase() === key && isLiveCard(c.status));
  if (live.length <= 1) return { ok: true, card: live[0] ?? null };
  return {
    ok: false,
    cards: live,
    reason: ruleReason(
      'R7.1',
      `社会保障号码 ${key} 名下有 ${live.length} 张有效社保卡，一人仅能对应一张，须做一人一卡清理`,
      `SSN ${key} has ${live.length} live cards; one person has one card, so a one-person-one-card cleanup is needed`,
    ),
  };
}
