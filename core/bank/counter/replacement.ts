/**
 * 补换卡 (R2.1): a replacement is a new gen 3 card (new numbers, initial PIN, not activated)
 * that goes through issuance again from `applied`. The old card's accounts move to the new card
 * in one balanced posting (an account the old card had is opened on the new one even at 0), and
 * the old card is 'closed' in the ledger, `replaced` in its lifecycle — all in one transaction.
 */
import type { CardAccountKind, PostingLine } from '../../ledger/ledger.ts';
import { businessDate } from '../../time.ts';
import type { LifecycleEvent, ReplaceReason } from '../../../state-machines/card-lifecycle.machine.ts';
import type { HolderFields } from '../card-factory.ts';
import { parseJson, progressFields, unknownCard, type CounterContext } from './context.ts';
import { issueCard } from './issuance.ts';
import { REASON_LABELS } from './labels.ts';
import { replacementReceipt } from './receipts.ts';
import type { CounterResult, ReplaceOk, ReplaceOptions } from './types.ts';

const CARD_ACCOUNTS: readonly CardAccountKind[] = ['reserve', 'medical_current', 'medical_prior'];

/**
 * 补换卡: a new gen 3 card (R2.1) with new numbers and the initial PIN, not activated, sent
 * through issuance; the old card's balances move over; the old card is closed.
 */
export function replace(
  ctx: CounterContext,
  cardId: string,
  reason: ReplaceReason,
  options: ReplaceOptions,
): CounterResult<ReplaceOk> {
  const { lifecycles, ledger } = ctx;
  const row = lifecycles.lifecycleRow(cardId);
  const old = ledger.getCard(cardId);
  if (!row || !old) return unknownCard(cardId);
  const stored = parseJson<{ holder?: HolderFields; card?: { photo?: boolean } }>(old.profileJson);
  if (!stored?.holder) {
    return {
      ok: false,
      rule: 'R2.1',
      zh: `原卡 ${cardId} 的持卡人资料不全，不能补换卡`,
      en: `the holder data of card ${cardId} is incomplete: it cannot be replaced here`,
    };
  }
  const event: LifecycleEvent = { type: 'REPLACE', reason, crossRegion: options.crossRegion === true };
  const outcome = lifecycles.run(row, event);
  if (outcome.kind !== 'moved') return lifecycles.commitRefusal(row, event, outcome);

  const holder = stored.holder;
  const mode = options.mode ?? 'instant';
  const at = ctx.clock();
  const photo = reason === 'photo' ? true : stored.card?.photo !== false;
  return ctx.tx(() => {
    const profile = issueCard(ctx, holder, photo, businessDate(at));
    const newCardId = profile.card.number;
    const snapshot = lifecycles.startLifecycle(newCardId, mode, {
      applicationId: row.application_id,
      replaces: cardId,
    });

    // One balanced posting moves every balance (conservation: Σ card accounts unchanged).
    const lines: PostingLine[] = [];
    const moved: { reserve: number | null; medicalCurrent: number | null; medicalPrior: number | null } = {
      reserve: null,
      medicalCurrent: null,
      medicalPrior: null,
    };
    for (const kind of CARD_ACCOUNTS) {
      const from = ledger.getAccount(cardId, kind);
      if (!from) continue;
      const to = ledger.openAccount(newCardId, kind);
      moved[kind === 'reserve' ? 'reserve' : kind === 'medical_current' ? 'medicalCurrent' : 'medicalPrior'] =
        from.balanceFen;
      if (from.balanceFen > 0) {
        lines.push({ accountId: from.accountId, amountFen: -from.balanceFen });
        lines.push({ accountId: to, amountFen: from.balanceFen });
      }
    }
    if (lines.length > 0) {
      ledger.post({
        txnId: `replacement:${cardId}:${newCardId}`,
        kind: 'replacement-transfer',
        memo: `补换卡 ${cardId} → ${newCardId}（${REASON_LABELS[reason].zh}）`,
        lines,
      });
    }
    ledger.setCardStatus(cardId, 'closed');
    lifecycles.commit(row, event, outcome, {
      zh: `新卡 ${newCardId}（三代卡，${REASON_LABELS[reason].zh}）`,
      en: `new card ${newCardId} (gen 3, ${REASON_LABELS[reason].en})`,
    });
    const progress = progressFields(newCardId, snapshot);
    const receipt = replacementReceipt(ctx.branch, {
      oldCardId: cardId,
      newCardId,
      profile,
      reason,
      mode,
      progress,
      at,
    });
    return { ok: true as const, oldCardId: cardId, newCardId, moved, progress, receipt };
  });
}
