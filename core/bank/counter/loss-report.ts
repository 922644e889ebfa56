/**
 * 挂失 and 解挂 (R13): also at another branch. The ledger status is what the POS and the host
 * check, so it changes in the same transaction as the lifecycle and the `loss_reports` row.
 */
import type { LifecycleEvent } from '../../../state-machines/card-lifecycle.machine.ts';
import { progressFields, unknownCard, type CounterContext } from './context.ts';
import type { CardProgress, CounterResult } from './types.ts';

/** 挂失: also at another branch (R13). The card is then refused at every POS. */
export function reportLoss(
  ctx: CounterContext,
  cardId: string,
  options: { crossRegion: boolean },
): CounterResult<CardProgress> {
  const lifecycles = ctx.lifecycles;
  const row = lifecycles.lifecycleRow(cardId);
  if (!row) return unknownCard(cardId);
  const event: LifecycleEvent = { type: 'REPORT_LOSS', crossRegion: options.crossRegion };
  const outcome = lifecycles.run(row, event);
  if (outcome.kind !== 'moved') return lifecycles.commitRefusal(row, event, outcome);
  ctx.tx(() => {
    ctx.ledger.setCardStatus(cardId, 'loss-reported');
    ctx.db
      .prepare(`INSERT INTO loss_reports (card_id, reported_at, cross_region, branch) VALUES (?, ?, ?, ?)`)
      .run(cardId, ctx.now(), options.crossRegion ? 1 : 0, ctx.branch.id);
    lifecycles.commit(row, event, outcome, null);
  });
  return { ok: true, ...progressFields(cardId, outcome.snapshot) };
}

/** 解挂: also at another branch (R13). The card is active again. */
export function releaseLoss(
  ctx: CounterContext,
  cardId: string,
  options: { crossRegion: boolean },
): CounterResult<CardProgress> {
  const lifecycles = ctx.lifecycles;
  const row = lifecycles.lifecycleRow(cardId);
  if (!row) return unknownCard(cardId);
  const event: LifecycleEvent = { type: 'RELEASE_LOSS', crossRegion: options.crossRegion };
  const outcome = lifecycles.run(row, event);
  if (outcome.kind !== 'moved') return lifecycles.commitRefusal(row, event, outcome);
  ctx.tx(() => {
    ctx.ledger.setCardStatus(cardId, 'active');
    ctx.db
      .prepare(
        `UPDATE loss_reports SET released_at = ?, release_cross_region = ?, release_branch = ?
         WHERE card_id = ? AND released_at IS NULL`,
      )
      .run(ctx.now(), options.crossRegion ? 1 : 0, ctx.branch.id, cardId);
    lifecycles.commit(row, event, outcome, null);
  });
  return { ok: true, ...progressFields(cardId, outcome.snapshot) };
}
