/**
 * What every counter step works with — the branch, the shared books, the card lifecycles, one
 * kind of transaction — and the result helpers they all answer with. Built once per BankCounter,
 * so the steps (issuance, activation, loss, replacement, closing, merge) can live in their own
 * modules and still share one state.
 */
import type Database from 'better-sqlite3';
import type { CardStore } from '../../ledger/card-store.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { CounterPinKey } from '../../card/psam.ts';
import type { Clock } from '../../time.ts';
import {
  progressOf,
  type LifecycleSnapshot,
  type LifecycleState,
  type Refusal,
} from '../../../state-machines/card-lifecycle.machine.ts';
import { CardLifecycles } from './lifecycle-store.ts';
import type { BankCounterOptions, Branch, CardProgress, CounterRefusal } from './types.ts';

export interface CounterBooks {
  readonly store: CardStore;
  readonly clock: Clock;
  readonly branch: Readonly<Required<Branch>>;
  readonly db: Database.Database;
  readonly ledger: Ledger;
  readonly pinKey: CounterPinKey;
  now(): string;
  /** Every counter write is one IMMEDIATE transaction (nested calls become savepoints). */
  tx<T>(fn: () => T): T;
}

export interface CounterContext extends CounterBooks {
  readonly lifecycles: CardLifecycles;
}

export function counterContext(options: BankCounterOptions): CounterContext {
  const clock = options.clock;
  const db = options.store.db;
  const books: CounterBooks = {
    store: options.store,
    clock,
    branch: {
      areaCode: '440100',
      canSetOtherBankPin: false,
      ...options.branch,
    },
    db,
    ledger: options.store.ledger,
    pinKey: options.pinKey ?? new CounterPinKey(),
    now: () => clock().toISOString(),
    tx: <T>(fn: () => T): T => db.transaction(fn).immediate(),
  };
  return { ...books, lifecycles: new CardLifecycles(books) };
}

export const no = (refusal: Refusal): CounterRefusal => ({
  ok: false,
  rule: refusal.rule,
  zh: refusal.zh,
  en: refusal.en,
});

export const unknownCard = (cardId: string): CounterRefusal => ({
  ok: false,
  rule: 'card',
  zh: `查无此卡：${cardId}（或该卡不在本系统的卡片生命周期中）`,
  en: `no card ${cardId} (or the card has no lifecycle in this system)`,
});

export function progressFields(cardId: string, snapshot: LifecycleSnapshot): CardProgress {
  return { cardId, state: snapshot.value as LifecycleState, ...progressOf(snapshot) };
}

export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}
