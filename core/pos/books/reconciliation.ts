import type { HostRecord } from '../../host/types.ts';
import { businessDate } from '../../time.ts';
import { COVERED_PARTS, covered, fen, PART_NAME, sign } from './accounts.ts';
import { checkDate } from './checks.ts';
import type { BooksContext } from './context.ts';
import type { ForwardQueue } from './forward-queue.ts';
import type { PaymentRows } from './payments.ts';
import type { Mismatch, ReconcileNote, Reconciliation, TerminalPayment, TransactionKind } from './types.ts';

/**
 * Reconciliation with the host (对账): the till's transactions against the host's records of
 * them, id by id. Read-only, and a pure comparison once the rows are read, so that it can be
 * run at any time (before or after the closing) without changing either side's books.
 */

function kindZh(kind: TransactionKind): string {
  return kind === 'payment' ? '支付' : kind === 'refund' ? '退费' : '冲正';
}

/** The mismatches between a terminal transaction and the host's record of the same id. */
function compareRecords(t: TerminalPayment, h: HostRecord): Mismatch[] {
  const out: Mismatch[] = [];
  const diffs: string[] = [];
  if (h.kind !== t.kind) diffs.push(`kind ${t.kind} ≠ ${h.kind}`);
  if ((h.refPaymentId ?? null) !== t.refPaymentId) diffs.push(`ref ${t.refPaymentId} ≠ ${h.refPaymentId}`);
  if (h.cardId !== t.cardId) diffs.push(`card ${t.cardId} ≠ ${h.cardId}`);
  if (h.method !== t.method) diffs.push(`method ${t.method} ≠ ${h.method}`);
  if (diffs.length > 0) {
    out.push({
      paymentId: t.paymentId,
      kind: 'record-differs',
      terminal: t,
      host: h,
      detail: `记录不一致 / record differs: ${diffs.join('; ')}`,
    });
  }
  const tc = covered(t.split);
  const hc = covered(h.split);
  if (tc !== hc) {
    out.push({
      paymentId: t.paymentId,
      kind: 'amount-differs',
      terminal: t,
      host: h,
      detail: `账户金额不一致：终端 ${tc} 分，主机 ${hc} 分 / covered amount differs: terminal ${fen(tc)}, host ${fen(hc)}`,
    });
  } else {
    const parts = COVERED_PARTS.filter((p) => t.split[p] !== h.split[p]);
    if (parts.length > 0) {
      const list = parts.map((p) => `${PART_NAME[p]} ${t.split[p]}/${h.split[p]}`).join('; ');
      out.push({
        paymentId: t.paymentId,
        kind: 'split-differs',
        terminal: t,
        host: h,
        detail: `分账不一致（终端/主机） / split differs (terminal/host): ${list}`,
      });
    }
  }
  return out;
}

export class Reconciler {
  constructor(
    private readonly ctx: BooksContext,
    private readonly rows: PaymentRows,
    private readonly queue: ForwardQueue,
  ) {}

  reconcile(hostRecords: readonly HostRecord[], date?: string): Reconciliation {
    if (date !== undefined) checkDate(date);
    const terminal = this.rows.payments(date === undefined ? {} : { date });
    const terminalIds = new Set(terminal.map((t) => t.paymentId));
    const host = new Map<string, HostRecord>();
    for (const h of hostRecords) {
      if (h.terminalId !== this.ctx.terminalId) continue;
      if (date !== undefined && !terminalIds.has(h.paymentId)) {
        // Ours, but of another day in our books: not in scope.
        if (this.rows.payment(h.paymentId) !== null) continue;
        if (businessDate(new Date(h.createdAt)) !== date) continue;
      }
      host.set(h.paymentId, h);
    }

    const mismatches: Mismatch[] = [];
    const notes: ReconcileNote[] = [];
    let terminalTotal = 0;
    let hostTotal = 0;

    for (const t of terminal) {
      terminalTotal += sign(t.kind) * covered(t.split);
      const h = host.get(t.paymentId);
      const q = this.queue.row(t.paymentId);
      if (q?.state === 'pending') {
        mismatches.push({
          paymentId: t.paymentId,
          kind: 'not-yet-forwarded',
          terminal: t,
          ...(h ? { host: h } : {}),
          detail:
            `尚未上传主机（${q.attempts} 次尝试） / not yet forwarded to the host (${q.attempts} attempts)` +
            (q.last_error ? `: ${q.last_error}` : ''),
        });
      } else if (!h) {
        mismatches.push({
          paymentId: t.paymentId,
          kind: 'missing-at-host',
          terminal: t,
          detail: `主机无此${kindZh(t.kind)}记录 / ${t.kind} missing at the host`,
        });
      }
      if (h) mismatches.push(...compareRecords(t, h));
      if (h && t.kind === 'payment' && t.mode === 'offline' && h.advancedFen > 0) {
        notes.push({
          paymentId: t.paymentId,
          kind: 'advanced',
          advancedFen: h.advancedFen,
          detail: `脱机交易中心垫付 ${h.advancedFen} 分 / offline payment: ${fen(h.advancedFen)} advanced by the centre`,
        });
      }
    }
    for (const h of host.values()) {
      hostTotal += sign(h.kind) * covered(h.split);
      if (!terminalIds.has(h.paymentId)) {
        mismatches.push({
          paymentId: h.paymentId,
          kind: 'missing-at-terminal',
          host: h,
          detail: `终端无此${kindZh(h.kind)}记录 / ${h.kind} missing at the terminal`,
        });
      }
    }
    return {
      date: date ?? null,
      agree: mismatches.length === 0,
      mismatches,
      notes,
      terminalTotalFen: terminalTotal,
      hostTotalFen: hostTotal,
    };
  }
}
