/**
 * One person, one card (一人一卡, R7): the merge of a second card into the kept one — a row in
 * `card_merges` and a history entry, with no posting, no status change and no lifecycle
 * transition — and the person's live cards, which the merges decide.
 */
import type { CardRow } from '../../ledger/ledger.ts';
import { isLiveCard, type CardBank, type CardRegion } from '../../rules/eligibility.ts';
import type { Bilingual, LifecycleState, Refusal } from '../../../state-machines/card-lifecycle.machine.ts';
import { no, parseJson, unknownCard, type CounterBooks, type CounterContext } from './context.ts';
import type { LifecycleRow } from './lifecycle-store.ts';
import { maskSsn } from './receipts.ts';
import type {
  CardMerge,
  CounterRefusal,
  CounterResult,
  LiveCard,
  MedicalScope,
  MergeOk,
  MergeOptions,
} from './types.ts';

interface MergeRow {
  kept_card_id: string;
  merged_card_id: string;
  ssn: string;
  merged_region: string;
  merged_bank: string;
  medical_scope: string;
  branch_id: string;
  at: string;
}

/** SSNs compare as R7.1 does (oneCardPerPerson): a trailing x and X are the same person. */
function ssnKey(ssn: string): string {
  return ssn.trim().toUpperCase();
}

function toMerge(r: MergeRow): CardMerge {
  return {
    keptCardId: r.kept_card_id,
    mergedCardId: r.merged_card_id,
    ssn: r.ssn,
    mergedRegion: r.merged_region as CardRegion,
    mergedBank: r.merged_bank as CardBank,
    medicalScope: r.medical_scope as MedicalScope,
    branchId: r.branch_id,
    at: r.at,
  };
}

const MERGE_SELECT = `SELECT kept_card_id, merged_card_id, ssn, merged_region, merged_bank, medical_scope, branch_id, at
                      FROM card_merges`;

/**
 * 一人一卡归并: merges `mergedCardId` into `keptCardId`, two cards of the same person (R7.1).
 *
 * - R7.4: only at the issuing locality (`atIssuingLocality`), and only for another bank's card
 *   from another city of the province. A same-city card of another bank, this bank's card from
 *   elsewhere (or here), and another province's card are refused, each with its reason.
 * - R7.2: the contribution records are kept — the merged card's social security data is
 *   attached to the kept card (the `card_merges` row); the merged card's financial account
 *   keeps working (no posting, nothing closed); its medical account works locally only until
 *   the medical systems are connected (`medicalScope: 'local-only'`).
 * - R7.3: not a cancellation — the merged card's ledger status and balances stay as they are
 *   (compare `close`). The card no longer counts among the person's live cards (`liveCardsOf`).
 *
 * The region and bank are the teller's statement (the ledger does not know another bank's
 * cards as such). The merge is recorded in both cards' histories (event ONE_CARD_MERGE, the
 * lifecycle state unchanged: from = to), and so is a refusal; a card without a lifecycle
 * (not issued here and not active in the ledger) has no history to record it in — the
 * `card_merges` row is then the only record.
 */
export function merge(
  ctx: CounterContext,
  keptCardId: string,
  mergedCardId: string,
  options: MergeOptions,
): CounterResult<MergeOk> {
  const { lifecycles, ledger } = ctx;
  const kept = ledger.getCard(keptCardId);
  if (!kept) return unknownCard(keptCardId);
  const merged = ledger.getCard(mergedCardId);
  if (!merged) return unknownCard(mergedCardId);
  const rows = [keptCardId, mergedCardId]
    .filter((id, i, all) => all.indexOf(id) === i)
    .map((id) => lifecycles.lifecycleRow(id))
    .filter((r): r is LifecycleRow => r !== null);
  const refuse = (rule: string, zh: string, en: string): CounterRefusal => {
    const refusal: Refusal = { rule, zh, en };
    ctx.tx(() => {
      for (const r of rows) {
        const state = r.state as LifecycleState;
        lifecycles.insertEvent(r.card_id, 'ONE_CARD_MERGE', null, state, state, refusal, null);
      }
    });
    return no(refusal);
  };

  if (keptCardId === mergedCardId) {
    return refuse(
      'R7.1',
      `不能将卡 ${keptCardId} 归并到其自身`,
      `card ${keptCardId} cannot be merged into itself`,
    );
  }
  if (ssnKey(kept.ssn) !== ssnKey(merged.ssn)) {
    return refuse(
      'R7.1',
      `两张卡不属于同一人（社会保障号码 ${maskSsn(ssnKey(kept.ssn))} 与 ${maskSsn(ssnKey(merged.ssn))} 不同），不能做一人一卡归并`,
      `the two cards belong to different people (SSN ${maskSsn(ssnKey(kept.ssn))} and ${maskSsn(ssnKey(merged.ssn))}): no one-person-one-card merge`,
    );
  }
  if (!options.atIssuingLocality) {
    return refuse(
      'R7.4',
      '一人一卡清理仅支持在发卡地本地办理，本网点不能办理',
      'the one-person-one-card cleanup is done only at the issuing locality, not at this outlet',
    );
  }
  if (options.mergedCardBank === 'other' && options.mergedCardRegion === 'same-city') {
    return refuse(
      'R7.4',
      '一人一卡清理不能用于清理本地他行卡：请客户申请换行，或先注销他行卡',
      "the one-person-one-card cleanup cannot clear another bank's card in the same city: the customer changes bank or cancels that card",
    );
  }
  if (options.mergedCardBank === 'this') {
    return refuse(
      'R7.4',
      options.mergedCardRegion === 'same-city'
        ? '一人一卡清理不能用于清理本行卡：本市本行卡请办理补换领'
        : '一人一卡清理不能用于清理异地本行卡',
      options.mergedCardRegion === 'same-city'
        ? "the one-person-one-card cleanup cannot clear this bank's card: replace a same-city card instead"
        : "the one-person-one-card cleanup cannot clear this bank's card from elsewhere",
    );
  }
  if (options.mergedCardRegion === 'other-province') {
    return refuse(
      'R7.4',
      '一人一卡清理仅用于归并省内异地他行卡；外省他行卡无需清理，不能在此归并',
      "the cleanup only merges another bank's card from another city in the province; another province's card needs no cleanup and cannot be merged here",
    );
  }
  if (!isLiveCard(kept.status)) {
    return refuse(
      'R7.1',
      `保留的卡 ${keptCardId} 已注销，不能作为持卡人唯一的社保卡`,
      `the card to keep, ${keptCardId}, is closed: it cannot be the holder's one card`,
    );
  }
  if (merged.status === 'closed') {
    return refuse(
      'R7.3',
      `卡 ${mergedCardId} 已注销（销户），无需归并`,
      `card ${mergedCardId} is already closed (cancelled): there is nothing to merge`,
    );
  }
  const keptInto = cardMergedInto(ctx, keptCardId);
  if (keptInto !== null) {
    return refuse(
      'R7.1',
      `保留的卡 ${keptCardId} 已归并至卡 ${keptInto}，请以卡 ${keptInto} 为准`,
      `the card to keep, ${keptCardId}, was merged into card ${keptInto}: keep ${keptInto} instead`,
    );
  }
  const mergedInto = cardMergedInto(ctx, mergedCardId);
  if (mergedInto !== null) {
    return refuse(
      'R7.1',
      `卡 ${mergedCardId} 已归并至卡 ${mergedInto}，不能重复归并`,
      `card ${mergedCardId} was already merged into card ${mergedInto}`,
    );
  }
  const holding = mergesOf(ctx, mergedCardId).filter((m) => m.keptCardId === mergedCardId);
  if (holding.length > 0) {
    const ids = holding.map((m) => m.mergedCardId).join('、');
    return refuse(
      'R7.1',
      `卡 ${mergedCardId} 已承接其他卡（${ids}）的归并，不能再被归并：请保留该卡`,
      `card ${mergedCardId} holds the merged cards ${ids}: it cannot be merged itself; keep it instead`,
    );
  }

  const at = ctx.now();
  const merge: CardMerge = {
    keptCardId,
    mergedCardId,
    ssn: kept.ssn,
    mergedRegion: options.mergedCardRegion,
    mergedBank: options.mergedCardBank,
    medicalScope: 'local-only',
    branchId: ctx.branch.id,
    at,
  };
  const notes = new Map<string, Bilingual>([
    [
      keptCardId,
      {
        zh: `一人一卡：卡 ${mergedCardId}（省内异地他行卡）归并至本卡，其参保缴费记录由本卡承接`,
        en: `one person, one card: card ${mergedCardId} (another bank, another city in the province) merged into this card, which now holds its contribution records`,
      },
    ],
    [
      mergedCardId,
      {
        zh: `一人一卡：本卡归并至卡 ${keptCardId}；金融账户照常使用，医保账户暂仅支持本地使用（非注销）`,
        en: `one person, one card: merged into card ${keptCardId}; the financial account keeps working, the medical account works locally only (not a cancellation)`,
      },
    ],
  ]);
  const detail = JSON.stringify({
    keptCardId,
    mergedCardId,
    mergedRegion: merge.mergedRegion,
    mergedBank: merge.mergedBank,
    medicalScope: merge.medicalScope,
  });
  ctx.tx(() => {
    ctx.db
      .prepare(
        `INSERT INTO card_merges (kept_card_id, merged_card_id, ssn, merged_region, merged_bank, medical_scope,
                                  branch_id, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        merge.keptCardId,
        merge.mergedCardId,
        merge.ssn,
        merge.mergedRegion,
        merge.mergedBank,
        merge.medicalScope,
        merge.branchId,
        merge.at,
      );
    for (const r of rows) {
      const state = r.state as LifecycleState;
      lifecycles.insertEvent(
        r.card_id,
        'ONE_CARD_MERGE',
        detail,
        state,
        state,
        null,
        notes.get(r.card_id) ?? null,
      );
    }
  });
  return {
    ok: true,
    ...merge,
    contributionRecordsHeldBy: keptCardId,
    mergedCardStatus: merged.status,
    mergedCardBalances: ledger.balances(mergedCardId),
    steps: [
      {
        zh: `参保缴费记录保留：卡 ${mergedCardId} 的社保数据归并至卡 ${keptCardId}`,
        en: `contribution records kept: the social security data of card ${mergedCardId} is attached to card ${keptCardId}`,
      },
      {
        zh: `卡 ${mergedCardId} 的金融账户照常使用（未销户，余额不变）`,
        en: `the financial account of card ${mergedCardId} keeps working (not closed, balances unchanged)`,
      },
      {
        zh: `卡 ${mergedCardId} 的医保账户暂仅支持本地使用，待各地医保系统与省社保卡管理系统对接后可跨地使用`,
        en: `the medical account of card ${mergedCardId} works locally only until the medical systems are connected to the provincial card management system`,
      },
    ],
    historyRecordedFor: rows.map((r) => r.card_id),
  };
}

/** The merges involving the card, as the kept card or as the merged one, oldest first. */
export function mergesOf(ctx: CounterBooks, cardId: string): CardMerge[] {
  return ctx.db
    .prepare<[string, string], MergeRow>(
      `${MERGE_SELECT} WHERE kept_card_id = ? OR merged_card_id = ? ORDER BY id`,
    )
    .all(cardId, cardId)
    .map(toMerge);
}

/**
 * The cards that count against a new application (R5.2): the person's live cards, except
 * gen 1 cards — holders of a gen 1 card only (no financial function) may apply for a gen 3
 * card directly (R2.2).
 */
export function cardsAgainstApplication(ctx: CounterBooks, ssn: string): LiveCard[] {
  return liveCardsOf(ctx, ssn).filter((c) => ctx.ledger.getCard(c.cardId)?.generation !== 1);
}

/**
 * R7.1: the person's live cards — same SSN (x and X alike), not closed, and not merged into
 * another card — ready for `oneCardPerPerson` and `checkEligibility`. `region` is the card's
 * area code seen from this branch (same 4 digits: same city; same 2: the province); `bank`
 * is 'this' unless `bankOf` says otherwise, since the ledger does not record which bank
 * issued a card.
 */
export function liveCardsOf(
  ctx: CounterBooks,
  ssn: string,
  bankOf: (card: CardRow) => CardBank = () => 'this',
): LiveCard[] {
  const key = ssnKey(ssn);
  const mergedIds = new Set(
    ctx.db.prepare<[], string>('SELECT merged_card_id FROM card_merges').pluck().all(),
  );
  return ctx.ledger
    .listCards()
    .filter((c) => ssnKey(c.ssn) === key && isLiveCard(c.status) && !mergedIds.has(c.cardId))
    .map((c) => ({
      cardId: c.cardId,
      ssn: c.ssn,
      status: c.status,
      bank: bankOf(c),
      region: regionOf(ctx, c),
    }));
}

/** The card this one was merged into, or null. */
function cardMergedInto(ctx: CounterBooks, cardId: string): string | null {
  return (
    ctx.db
      .prepare<[string], { kept_card_id: string }>(
        'SELECT kept_card_id FROM card_merges WHERE merged_card_id = ?',
      )
      .get(cardId)?.kept_card_id ?? null
  );
}

/** Where the card was issued, seen from this branch, by its area code (unknown: this city). */
function regionOf(ctx: CounterBooks, card: CardRow): CardRegion {
  const stored = parseJson<{ card?: { areaCode?: unknown } }>(card.profileJson);
  const area = stored?.card?.areaCode;
  const here = ctx.branch.areaCode;
  if (typeof area !== 'string' || !/^[0-9]{6}$/.test(area)) return 'same-city';
  if (area.slice(0, 4) === here.slice(0, 4)) return 'same-city';
  return area.slice(0, 2) === here.slice(0, 2) ? 'other-city-in-province' : 'other-province';
}
