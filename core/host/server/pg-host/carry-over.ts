import {
  CARRY_OVER_KEY,
  carryOverMove,
  carryOverTxnId,
  carryOverYears,
  type CarryOverResult,
} from '../../rules/carry-over.ts';
import { accountsOf, type PgBooks } from './books.ts';
import type { Client } from './pool.ts';
import { post } from './writes.ts';

/**
 * The central host's 21 June carry-over (R4.2): once per year however many host processes run
 * it — the meta row is locked for the run, and every card with a 95000 account is locked in
 * card_id order. Which years and how much move are rules/carry-over.ts.
 */
export async function runCarryOver(books: PgBooks): Promise<{ done: number; results: CarryOverResult[] }> {
  return books.tx(async (c) => {
    const now = books.clock();
    const stored = (
      await c.query<{ value: string }>('SELECT value FROM host_meta WHERE key = $1 FOR UPDATE', [
        CARRY_OVER_KEY,
      ])
    ).rows[0];
    const { years, done, store } = carryOverYears(stored?.value, now);
    const results: CarryOverResult[] = [];
    for (const year of years) results.push(await carryOverYear(books, c, year));
    if (store?.insert) {
      await c.query('INSERT INTO host_meta (key, value) VALUES ($1, $2)', [CARRY_OVER_KEY, store.value]);
    } else if (store) {
      await c.query('UPDATE host_meta SET value = $2 WHERE key = $1', [CARRY_OVER_KEY, store.value]);
    }
    return { done, results };
  });
}

async function carryOverYear(books: PgBooks, c: Client, year: number): Promise<CarryOverResult> {
  const cards = (
    await c.query<{ card_id: string }>(
      `SELECT card_id FROM host_cards WHERE card_id IN
         (SELECT card_id FROM host_accounts WHERE kind = 'medical_current') ORDER BY card_id FOR UPDATE`,
    )
  ).rows;
  let moved = 0;
  let movedFen = 0;
  const at = books.now();
  for (const { card_id } of cards) {
    const accounts = await accountsOf(c, card_id);
    const current = accounts.get('medical_current')!;
    let prior = accounts.get('medical_prior');
    if (!prior) {
      const r = await c.query<{ account_id: number }>(
        `INSERT INTO host_accounts (card_id, kind, balance_fen, opened_at) VALUES ($1, 'medical_prior', 0, $2)
         RETURNING account_id`,
        [card_id, at],
      );
      prior = { account_id: r.rows[0]!.account_id, kind: 'medical_prior', balance_fen: 0 };
    }
    const txnId = carryOverTxnId(year, card_id);
    const already =
      current.balance_fen > 0 &&
      ((await c.query('SELECT 1 FROM host_postings WHERE txn_id = $1 LIMIT 1', [txnId])).rowCount ?? 0) > 0;
    const fen = carryOverMove(current.balance_fen, already);
    if (fen === 0) continue;
    await post(c, txnId, 'carry-over', [
      [current.account_id, -fen],
      [prior.account_id, fen],
    ]);
    await c.query('UPDATE host_accounts SET balance_fen = balance_fen + $2 WHERE account_id = $1', [
      current.account_id,
      -fen,
    ]);
    await c.query('UPDATE host_accounts SET balance_fen = balance_fen + $2 WHERE account_id = $1', [
      prior.account_id,
      fen,
    ]);
    moved += 1;
    movedFen += fen;
  }
  await c.query('INSERT INTO host_carry_overs (year, ran_at, cards, moved_fen) VALUES ($1, $2, $3, $4)', [
    year,
    at,
    moved,
    movedFen,
  ]);
  return { year, cards: moved, movedFen };
}
