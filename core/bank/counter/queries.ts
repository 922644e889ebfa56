/**
 * Read-only views of a card at the counter: its lifecycle history in words, and its profile as
 * the ledger keeps it (for a till or the CLI to insert the card). Nothing here writes, except
 * that asking about an imported active card starts its lifecycle (see CardLifecycles).
 */
import { parseProfile, type CardProfile, type CardProfileInput } from '../../card/profile.ts';
import { INITIAL_PIN } from '../../card/pin.ts';
import {
  LIFECYCLE_LABELS,
  type Bilingual,
  type LifecycleState,
  type Refusal,
} from '../../../state-machines/card-lifecycle.machine.ts';
import { oneTimeSecret } from '../card-factory.ts';
import { parseJson, progressFields, unknownCard, type CounterBooks, type CounterContext } from './context.ts';
import { COUNTER_EVENT_LABELS, EVENT_LABELS } from './labels.ts';
import type { CounterResult, HistoryEntry, HistoryOk } from './types.ts';

interface EventRow {
  event: string;
  from_state: string | null;
  to_state: string;
  refused_reason: string | null;
  note: string | null;
  branch_id: string;
  at: string;
}

/** Every event sent to the card's lifecycle, accepted or refused, oldest first. */
export function history(ctx: CounterContext, cardId: string): CounterResult<HistoryOk> {
  const snapshot = ctx.lifecycles.snapshotOf(cardId);
  if (!snapshot) return unknownCard(cardId);
  const rows = ctx.db
    .prepare<[string], EventRow>(
      `SELECT event, from_state, to_state, refused_reason, note, branch_id, at
       FROM lifecycle_events WHERE card_id = ? ORDER BY id`,
    )
    .all(cardId);
  const entries = rows.map((r): HistoryEntry => {
    const to = r.to_state as LifecycleState;
    const words = EVENT_LABELS[r.event as keyof typeof EVENT_LABELS] ??
      COUNTER_EVENT_LABELS[r.event] ?? { zh: r.event, en: r.event };
    return {
      at: r.at,
      event: r.event,
      eventZh: words.zh,
      eventEn: words.en,
      from: r.from_state as LifecycleState | null,
      to,
      ...LIFECYCLE_LABELS[to],
      refused: parseJson<Refusal>(r.refused_reason),
      note: parseJson<Bilingual>(r.note),
      branch: r.branch_id,
    };
  });
  return { ok: true, ...progressFields(cardId, snapshot), entries };
}

/**
 * The card's profile as the ledger keeps it (no secrets), for a till or the CLI to insert
 * the card: `pin` is 123456 and `transactionPassword` a random one-time value, both ignored
 * for a card the ledger already has (its PIN state and password hash are the ledger's).
 */
export function profileOf(ctx: CounterBooks, cardId: string): CardProfile | null {
  const card = ctx.ledger.getCard(cardId);
  if (!card) return null;
  const stored = JSON.parse(card.profileJson) as CardProfileInput;
  const profile: CardProfileInput = {
    ...stored,
    status: card.status,
    pin: INITIAL_PIN,
    ...(card.generation === 1 ? {} : { transactionPassword: oneTimeSecret() }),
  };
  return parseProfile(profile, `card ${cardId} in the ledger`);
}
