import type { RecordHead } from '../../request-checks.ts';
import type { Leg } from '../../rules/legs.ts';
import { planRecord, type PlannedRecord } from '../../rules/record-plan.ts';
import { hostRecordFromColumns } from '../../split.ts';
import type { HostRecord } from '../../types.ts';
import type { PgBooks, RecordRow } from './books.ts';
import type { Client } from './pool.ts';
import { APPLY_SQL } from './sql.ts';

/**
 * How the central host writes money: postings for funding and carry-over, and records planned by
 * the shared rules (rules/record-plan.ts) — many at once in one statement.
 */

export async function post(
  c: Client,
  txnId: string,
  kind: string,
  lines: [accountId: number, fen: number][],
): Promise<void> {
  const values: unknown[] = [];
  const rows = lines.map(([accountId, fen], i) => {
    values.push(txnId, i + 1, kind, accountId, fen);
    const b = i * 5;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, now())`;
  });
  await c.query(
    `INSERT INTO host_postings (txn_id, line, kind, account_id, amount_fen, posted_at) VALUES ${rows.join(', ')}`,
    values,
  );
}

/** The record a set of legs makes, and its balanced postings; nothing is written. */
export function plan(
  books: PgBooks,
  head: RecordHead,
  legs: readonly Leg[],
  kind: HostRecord['kind'],
): PlannedRecord {
  return planRecord(head, legs, kind, books.now(), () => books.system('merchant'));
}

/**
 * Moves the legs as one balanced posting (id = the record's id), updates the card accounts'
 * balances and stores the record and its legs. Payments debit the accounts and credit the
 * merchant; refunds and reversals do the opposite. Self-pay legs are cash at the till.
 */
export async function apply(
  books: PgBooks,
  c: Client,
  head: RecordHead,
  legs: readonly Leg[],
  kind: HostRecord['kind'],
): Promise<HostRecord> {
  const p = plan(books, head, legs, kind);
  await applyPlanned(c, [p]);
  return hostRecordFromColumns(p.row);
}

/**
 * Writes planned records in one statement (a prepared plan), in their order: the records,
 * their legs, the balanced postings and the card accounts' balances (one update per account,
 * the sum of its deltas). Foreign keys between the sibling inserts are checked at the end of
 * the statement; a record's primary key decides a race between two attempts of the same id
 * (the transaction is then re-run and finds the first record).
 */
export async function applyPlanned(c: Client, plans: readonly PlannedRecord[]): Promise<void> {
  if (plans.length === 0) return;
  const rows = plans.map((p) => p.row);
  const col = <K extends keyof RecordRow>(k: K) => rows.map((r) => r[k]);
  const legs = plans.flatMap((p) => p.legs.map((l, i) => ({ id: p.row.payment_id, leg: i + 1, l })));
  const posts = plans.flatMap((p) =>
    p.lines.map(([accountId, fen], i) => ({
      id: p.row.payment_id,
      line: i + 1,
      kind: p.row.kind,
      accountId,
      fen,
    })),
  );
  const deltas = new Map<number, number>();
  for (const p of plans) for (const [a, d] of p.cardDeltas) deltas.set(a, (deltas.get(a) ?? 0) + d);
  await c.query({
    name: 'host-apply',
    text: APPLY_SQL,
    values: [
      col('payment_id'),
      col('kind'),
      col('ref_payment_id'),
      col('mode'),
      col('terminal_id'),
      col('merchant_id'),
      col('card_id'),
      col('card_status'),
      col('method'),
      col('amount_fen'),
      col('medical_current_fen'),
      col('medical_prior_fen'),
      col('reserve_fen'),
      col('self_pay_fen'),
      col('advanced_fen'),
      col('created_at'),
      col('business_date'),
      col('applied_at'),
      legs.map((x) => x.id),
      legs.map((x) => x.leg),
      legs.map((x) => x.l.part),
      legs.map((x) => x.l.accountId),
      legs.map((x) => x.l.advanced),
      legs.map((x) => x.l.amountFen),
      legs.map((x) => x.l.refLeg),
      posts.map((x) => x.id),
      posts.map((x) => x.line),
      posts.map((x) => x.kind),
      posts.map((x) => x.accountId),
      posts.map((x) => x.fen),
      [...deltas.keys()],
      [...deltas.values()],
    ],
  });
}
