/**
 * Lifecycle persistence: the card-lifecycle machine is the single source of lifecycle truth,
 * and this is where its snapshots live. Every step restores the card's persisted snapshot,
 * sends the event to a copy (storing nothing), and then commits the new snapshot and its
 * history row inside the caller's transaction, guarded by a version number.
 */
import { createActor, type Snapshot } from 'xstate';
import {
  cardInService,
  cardLifecycleMachine,
  LIFECYCLE_LABELS,
  type Bilingual,
  type LifecycleEvent,
  type LifecycleSnapshot,
  type LifecycleState,
  type Refusal,
} from '../../../state-machines/card-lifecycle.machine.ts';
import { no, progressFields, unknownCard, type CounterBooks } from './context.ts';
import { EVENT_LABELS, EVENT_RULES } from './labels.ts';
import type { CardProgress, CounterRefusal, CounterResult } from './types.ts';

export interface LifecycleRow {
  card_id: string;
  application_id: string | null;
  replaces_card_id: string | null;
  branch_id: string;
  state: string;
  snapshot_json: string;
  version: number;
}

/** What sending one event to a card's lifecycle did (computed without storing anything). */
export type Outcome =
  | { kind: 'moved'; from: LifecycleState; snapshot: LifecycleSnapshot; persisted: string }
  | {
      kind: 'refused';
      from: LifecycleState;
      snapshot: LifecycleSnapshot;
      persisted: string;
      refusal: Refusal;
    }
  | { kind: 'not-allowed'; from: LifecycleState; refusal: Refusal };

/** The event as stored in the history: never a PIN or a password. */
function eventDetail(e: LifecycleEvent): string | null {
  if (e.type === 'ACTIVATE') {
    return JSON.stringify({ financialPasswordSet: e.financialPasswordSet, newPinGiven: e.newPin !== null });
  }
  const { type: _type, ...rest } = e;
  return Object.keys(rest).length > 0 ? JSON.stringify(rest) : null;
}

export class CardLifecycles {
  constructor(private readonly books: CounterBooks) {}

  /** A new lifecycle at `applied`, submitted for issuance. Inside the caller's transaction. */
  startLifecycle(
    cardId: string,
    mode: 'normal' | 'instant',
    links: { applicationId: string | null; replaces: string | null },
  ): LifecycleSnapshot {
    const actor = createActor(cardLifecycleMachine, { input: { cardId } }).start();
    const initial = actor.getSnapshot();
    const now = this.books.now();
    this.books.db
      .prepare(
        `INSERT INTO card_lifecycle (card_id, application_id, replaces_card_id, branch_id, state, snapshot_json,
                                     version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
      )
      .run(
        cardId,
        links.applicationId,
        links.replaces,
        this.books.branch.id,
        initial.value,
        JSON.stringify(actor.getPersistedSnapshot()),
        now,
        now,
      );
    actor.stop();
    const note = links.replaces
      ? { zh: `补换卡：原卡 ${links.replaces}`, en: `replacement of card ${links.replaces}` }
      : null;
    this.insertEvent(cardId, 'xstate.init', null, null, 'applied', null, note);
    const row = this.lifecycleRow(cardId) as LifecycleRow;
    const event: LifecycleEvent = { type: mode === 'normal' ? 'SUBMIT_NORMAL' : 'SUBMIT_INSTANT' };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') throw new Error(`a new card's lifecycle refused ${event.type}`);
    this.commit(row, event, outcome, null);
    return outcome.snapshot;
  }

  /**
   * The card's lifecycle row. A card the ledger knows as active but the counter never issued
   * (imported, in use) gets one started at `active` (cardInService).
   */
  lifecycleRow(cardId: string): LifecycleRow | null {
    const select = this.books.db.prepare<[string], LifecycleRow>(
      `SELECT card_id, application_id, replaces_card_id, branch_id, state, snapshot_json, version
       FROM card_lifecycle WHERE card_id = ?`,
    );
    const row = select.get(cardId);
    if (row) return row;
    const card = this.books.ledger.getCard(cardId);
    if (!card || card.status !== 'active') return null;
    const { input, snapshot } = cardInService(cardId, card.generation);
    const actor = createActor(cardLifecycleMachine, { input, snapshot }).start();
    const now = this.books.now();
    this.books.tx(() => {
      this.books.db
        .prepare(
          `INSERT INTO card_lifecycle (card_id, application_id, replaces_card_id, branch_id, state, snapshot_json,
                                       version, created_at, updated_at)
           VALUES (?, NULL, NULL, ?, 'active', ?, 1, ?, ?)
           ON CONFLICT (card_id) DO NOTHING`,
        )
        .run(cardId, this.books.branch.id, JSON.stringify(actor.getPersistedSnapshot()), now, now);
    });
    actor.stop();
    return select.get(cardId) ?? null;
  }

  snapshotOf(cardId: string): LifecycleSnapshot | null {
    const row = this.lifecycleRow(cardId);
    if (!row) return null;
    const actor = this.restore(row);
    const s = actor.getSnapshot();
    actor.stop();
    return s;
  }

  private restore(row: LifecycleRow) {
    return createActor(cardLifecycleMachine, {
      snapshot: JSON.parse(row.snapshot_json) as Snapshot<unknown>,
      input: { cardId: row.card_id },
    }).start();
  }

  /** Sends the event to a restored copy of the card's lifecycle; stores nothing. */
  run(row: LifecycleRow, event: LifecycleEvent): Outcome {
    const actor = this.restore(row);
    try {
      const before = actor.getSnapshot();
      const from = before.value as LifecycleState;
      const label = LIFECYCLE_LABELS[from];
      const words = EVENT_LABELS[event.type];
      const notAllowed: Outcome = {
        kind: 'not-allowed',
        from,
        refusal: {
          rule: EVENT_RULES[event.type],
          zh: `卡片当前状态为“${label.zh}”，不能办理${words.zh}`,
          en: `the card is ${label.en}: ${words.en} is not possible now`,
        },
      };
      if (!before.can(event)) return notAllowed;
      const steps = before.context.history.length;
      actor.send(event);
      const after = actor.getSnapshot();
      const persisted = JSON.stringify(actor.getPersistedSnapshot());
      if (after.context.history.length > steps) return { kind: 'moved', from, snapshot: after, persisted };
      const r = after.context.lastRefusal;
      if (r) {
        return {
          kind: 'refused',
          from,
          snapshot: after,
          persisted,
          refusal: { rule: r.rule, zh: r.zh, en: r.en },
        };
      }
      return notAllowed;
    } finally {
      actor.stop();
    }
  }

  /** Stores the outcome: the new snapshot (if any) and the history row. Inside a transaction. */
  commit(row: LifecycleRow, event: LifecycleEvent, outcome: Outcome, note: Bilingual | null): void {
    let to: LifecycleState = outcome.from;
    if (outcome.kind !== 'not-allowed') {
      to = outcome.snapshot.value as LifecycleState;
      const { changes } = this.books.db
        .prepare(
          `UPDATE card_lifecycle SET state = ?, snapshot_json = ?, version = version + 1, updated_at = ?
           WHERE card_id = ? AND version = ?`,
        )
        .run(to, outcome.persisted, this.books.now(), row.card_id, row.version);
      if (changes === 0) {
        throw new Error(`card ${row.card_id}: its lifecycle changed while ${event.type} was being handled`);
      }
    }
    const refusal = outcome.kind === 'moved' ? null : outcome.refusal;
    this.insertEvent(row.card_id, event.type, eventDetail(event), outcome.from, to, refusal, note);
  }

  commitRefusal(row: LifecycleRow, event: LifecycleEvent, outcome: Outcome): CounterRefusal {
    this.books.tx(() => this.commit(row, event, outcome, null));
    if (outcome.kind === 'moved') throw new Error('commitRefusal called with an accepted event');
    return no(outcome.refusal);
  }

  /** A refusal decided by the counter itself (not the machine): history only. */
  refuseOutside(row: LifecycleRow, type: LifecycleEvent['type'], refusal: Refusal): CounterRefusal {
    const from = row.state as LifecycleState;
    this.books.tx(() => this.insertEvent(row.card_id, type, null, from, from, refusal, null));
    return no(refusal);
  }

  simpleStep(cardId: string, event: LifecycleEvent): CounterResult<CardProgress> {
    const row = this.lifecycleRow(cardId);
    if (!row) return unknownCard(cardId);
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);
    this.books.tx(() => this.commit(row, event, outcome, null));
    return { ok: true, ...progressFields(cardId, outcome.snapshot) };
  }

  insertEvent(
    cardId: string,
    event: string,
    detail: string | null,
    from: LifecycleState | null,
    to: LifecycleState,
    refusal: Refusal | null,
    note: Bilingual | null,
  ): void {
    this.books.db
      .prepare(
        `INSERT INTO lifecycle_events (card_id, event, detail_json, from_state, to_state, refused_reason, note,
                                       branch_id, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        cardId,
        event,
        detail,
        from,
        to,
        refusal ? JSON.stringify({ rule: refusal.rule, zh: refusal.zh, en: refusal.en }) : null,
        note ? JSON.stringify(note) : null,
        this.books.branch.id,
        this.books.now(),
      );
  }
}
