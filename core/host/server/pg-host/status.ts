import { requireText } from '../../request-checks.ts';
import type { PgBooks } from './books.ts';
import type { HostStatus, TerminalReport, TerminalStatus } from './public-types.ts';

/**
 * What the central host knows about the chain for sscard host status: the terminals' own
 * reports (queue, last sync, reconciliation) next to the host's records of them, and whether
 * the host's books balance.
 */

/** Stores what a terminal says about itself; `last_seen` is the host's time of the report. */
export async function reportTerminal(books: PgBooks, report: TerminalReport): Promise<void> {
  const terminalId = requireText(report.terminalId, 'terminalId');
  const at = books.now();
  await books.pool.query(
    `INSERT INTO host_terminals (terminal_id, merchant_id, first_seen, last_seen, queue_depth, last_sync_at,
       reconciliation, mismatches, reconciled_at, reported_at)
     VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $3)
     ON CONFLICT (terminal_id) DO UPDATE SET
       merchant_id    = COALESCE(EXCLUDED.merchant_id, host_terminals.merchant_id),
       last_seen      = EXCLUDED.last_seen,
       queue_depth    = COALESCE(EXCLUDED.queue_depth, host_terminals.queue_depth),
       last_sync_at   = COALESCE(EXCLUDED.last_sync_at, host_terminals.last_sync_at),
       reconciliation = COALESCE(EXCLUDED.reconciliation, host_terminals.reconciliation),
       mismatches     = COALESCE(EXCLUDED.mismatches, host_terminals.mismatches),
       reconciled_at  = COALESCE(EXCLUDED.reconciled_at, host_terminals.reconciled_at),
       reported_at    = EXCLUDED.reported_at`,
    [
      terminalId,
      report.merchantId ?? null,
      at,
      report.queueDepth ?? null,
      report.lastSyncAt ?? null,
      report.reconciliation ?? null,
      report.mismatches ?? null,
      report.reconciledAt ?? null,
    ],
  );
}

/** A sum of fen as a number when it is a safe integer; null beyond (never a rounded figure). */
function safeFen(fen: bigint): number | null {
  return fen >= BigInt(Number.MIN_SAFE_INTEGER) && fen <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(fen)
    : null;
}

/** Exact yuan text of any sum of fen: -1250n → '-12.50'. */
export function exactYuan(fen: bigint): string {
  const a = fen < 0n ? -fen : fen;
  return `${fen < 0n ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

/** Terminals seen (by report or by their records), their queues and reconciliation; chain totals. */
export async function hostStatus(books: PgBooks): Promise<HostStatus> {
  const rows = (
    await books.pool.query<{
      terminal_id: string;
      merchant_id: string | null;
      last_seen: Date | null;
      queue_depth: number | null;
      last_sync_at: Date | null;
      reconciliation: 'agree' | 'mismatch' | 'unknown' | null;
      mismatches: number | null;
      reconciled_at: Date | null;
      payments: number;
      refunds: number;
      reversals: number;
      net_fen: string;
      last_applied_at: string | null;
    }>(`
      WITH r AS (
        SELECT terminal_id,
               count(*) FILTER (WHERE kind = 'payment')::int AS payments,
               count(*) FILTER (WHERE kind = 'refund')::int AS refunds,
               count(*) FILTER (WHERE kind = 'reversal')::int AS reversals,
               COALESCE(SUM(CASE WHEN kind = 'payment' THEN amount_fen ELSE -amount_fen END), 0) AS net_fen,
               max(applied_at) AS last_applied_at
        FROM host_records GROUP BY terminal_id)
      SELECT COALESCE(t.terminal_id, r.terminal_id) AS terminal_id, t.merchant_id, t.last_seen, t.queue_depth,
             t.last_sync_at, t.reconciliation, t.mismatches, t.reconciled_at,
             COALESCE(r.payments, 0) AS payments, COALESCE(r.refunds, 0) AS refunds,
             COALESCE(r.reversals, 0) AS reversals, COALESCE(r.net_fen, 0)::text AS net_fen, r.last_applied_at
      FROM host_terminals t FULL OUTER JOIN r ON r.terminal_id = t.terminal_id
      ORDER BY 1`)
  ).rows;
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  let chainNet = 0n;
  const terminals: TerminalStatus[] = rows.map((r) => {
    const net = BigInt(r.net_fen);
    chainNet += net;
    return {
      terminalId: r.terminal_id,
      merchantId: r.merchant_id,
      lastSeen: iso(r.last_seen),
      queueDepth: r.queue_depth,
      lastSync: iso(r.last_sync_at),
      reconciliation: r.reconciliation ?? 'unknown',
      mismatches: r.mismatches,
      reconciledAt: iso(r.reconciled_at),
      payments: r.payments,
      refunds: r.refunds,
      reversals: r.reversals,
      netFen: safeFen(net),
      netYuan: exactYuan(net),
      lastAppliedAt: r.last_applied_at,
    };
  });
  const totals = (
    await books.pool.query<{ total: string; bad_cards: number; cards: number; version: number }>(`
      SELECT (SELECT COALESCE(SUM(amount_fen), 0)::text FROM host_postings) AS total,
             (SELECT count(*)::int FROM host_accounts a
               WHERE a.card_id IS NOT NULL AND a.balance_fen <>
                 (SELECT COALESCE(SUM(p.amount_fen), 0) FROM host_postings p WHERE p.account_id = a.account_id)) AS bad_cards,
             (SELECT count(*)::int FROM host_cards) AS cards,
             (SELECT COALESCE(max(version), 0)::int FROM schema_migrations) AS version`)
  ).rows[0]!;
  return {
    terminals,
    chain: {
      terminals: terminals.length,
      cards: totals.cards,
      payments: terminals.reduce((s, t) => s + t.payments, 0),
      netFen: safeFen(chainNet),
      netYuan: exactYuan(chainNet),
      queueDepth: terminals.reduce((s, t) => s + (t.queueDepth ?? 0), 0),
      allReconciled: terminals.length > 0 && terminals.every((t) => t.reconciliation === 'agree'),
      booksBalanced: BigInt(totals.total) === 0n && totals.bad_cards === 0,
    },
    schemaVersion: totals.version,
  };
}
