import { tillView } from '../pos/till-view.ts';
import { renderMessage } from '../../state-machines/messages.ts';
import type { PaymentOutcome } from '../../state-machines/types.ts';
import type { ClosedSettlement, Reconciliation } from '../pos/terminal-ledger.ts';
import type { ForwardResult } from '../pos/forwarder.ts';
import type { Expectations } from './schema.ts';
import type { ScenarioCard } from './load.ts';
import type { CounterOutcome, ScenarioWorld } from './world.ts';
import { fenText, toFen } from './money.ts';

/** One expectation that did not hold. */
export interface ExpectationFailure {
  /** The expectation, as a path under `expect`: balances.medicalCurrent. */
  field: string;
  expected: string;
  actual: string;
}

/** What the engine remembers between steps, for expectations about "the last …". */
export interface Observed {
  result: 'paid' | 'declined' | 'cancelled' | 'pulled' | 'reversed' | 'refused' | null;
  outcome: PaymentOutcome | null;
  /** Status words since the previous expect step, in order. */
  statusWords: string[];
  counter: CounterOutcome | null;
  settlement: (ClosedSettlement & { pendingForward: number }) | null;
  reconciliation: (Reconciliation & { timedOutReversed: string[] }) | null;
  sync: (ForwardResult & { reversalsSettled: number }) | null;
  recovery: { ok: boolean; problems: string[]; payments: number } | null;
}

export function emptyObserved(): Observed {
  return {
    result: null,
    outcome: null,
    statusWords: [],
    counter: null,
    settlement: null,
    reconciliation: null,
    sync: null,
    recovery: null,
  };
}

const show = (v: unknown): string =>
  v === null ? 'null' : v === undefined ? 'nothing' : typeof v === 'string' ? v : JSON.stringify(v);
const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** A status word pattern with x for any hex digit: 63Cx. */
function swMatches(pattern: string, sw: string): boolean {
  const p = pattern.toUpperCase();
  return sw.length === 4 && [...p].every((c, i) => c === 'X' || c === sw[i]);
}

/** Checks every expectation given; returns those that do not hold (empty: all hold). */
export async function checkExpectations(
  e: Expectations,
  w: ScenarioWorld,
  seen: Observed,
  balancesCard: ScenarioCard | null,
): Promise<ExpectationFailure[]> {
  const failures: ExpectationFailure[] = [];
  const check = (field: string, ok: boolean, expected: string, actual: string) => {
    if (!ok) failures.push({ field, expected, actual });
  };
  const same = (field: string, expected: unknown, actual: unknown) =>
    check(field, expected === actual, show(expected), show(actual));
  const t = w.terminal;
  const view = tillView(t);

  if (e.state !== undefined) same('state', e.state, view.state);
  if (e.terminalState !== undefined) same('terminalState', e.terminalState, view.terminalState);
  if (e.sessionState !== undefined) same('sessionState', e.sessionState, view.sessionState);
  if (e.waitingFor !== undefined) same('waitingFor', e.waitingFor, view.waitingFor);

  if (e.statusWords !== undefined) {
    const sws = seen.statusWords;
    const actual = sws.length ? sws.join(' ') : 'none';
    const spec = Array.isArray(e.statusWords) ? { inOrder: e.statusWords } : e.statusWords;
    if (spec.inOrder) {
      let i = 0;
      for (const sw of sws) if (i < spec.inOrder.length && swMatches(spec.inOrder[i]!, sw)) i++;
      check(
        'statusWords.inOrder',
        i === spec.inOrder.length,
        `${spec.inOrder.join(' ')} in this order`,
        actual,
      );
    }
    if (spec.contains) {
      const missing = spec.contains.filter((p) => !sws.some((sw) => swMatches(p, sw)));
      check(
        'statusWords.contains',
        missing.length === 0,
        `${spec.contains.join(' ')} (missing ${missing.join(' ')})`,
        actual,
      );
    }
    if (spec.excludes) {
      const found = spec.excludes.filter((p) => sws.some((sw) => swMatches(p, sw)));
      check('statusWords.excludes', found.length === 0, `none of ${spec.excludes.join(' ')}`, actual);
    }
    if (spec.last) {
      const last = sws[sws.length - 1];
      check('statusWords.last', last !== undefined && swMatches(spec.last, last), spec.last, last ?? 'none');
    }
  }

  if (e.message !== undefined) {
    const m = typeof e.message === 'string' ? { code: e.message } : e.message;
    const msg = t.message();
    const zh = renderMessage(msg, 'zh');
    const en = renderMessage(msg, 'en');
    const actual = `${msg.code} 「${zh}」`;
    if (m.code !== undefined) check('message.code', m.code === msg.code, m.code, actual);
    if ('contains' in m && m.contains !== undefined)
      for (const text of list(m.contains))
        check('message.contains', zh.includes(text), `contains 「${text}」`, actual);
    if ('containsEn' in m && m.containsEn !== undefined)
      for (const text of list(m.containsEn))
        check('message.containsEn', en.includes(text), `contains "${text}"`, `${msg.code} "${en}"`);
  }

  if (e.result !== undefined) same('result', e.result, seen.result ?? 'none yet');

  const card = balancesCard ?? w.current;
  if (e.balances !== undefined && card) {
    w.card(card);
    const b = w.pos.store.balances(card.profile.card.number);
    for (const k of ['reserve', 'medicalCurrent', 'medicalPrior'] as const) {
      const want = e.balances[k];
      if (want === undefined) continue;
      const wantFen = want === null ? null : toFen(want);
      check(`balances.${k}`, wantFen === b[k], fenText(wantFen), fenText(b[k]));
    }
  }

  if (e.receipt !== undefined) {
    const r = e.receipt;
    const o = seen.outcome;
    if (r.present !== undefined)
      check('receipt.present', r.present === (o !== null), String(r.present), String(o !== null));
    const needsReceipt = r.contains !== undefined || r.mode !== undefined || r.amount !== undefined;
    if (needsReceipt && !o)
      check('receipt', false, 'a receipt', 'no receipt (no payment in the last session)');
    else if (o) {
      if (r.mode !== undefined) same('receipt.mode', r.mode, o.mode);
      if (r.amount !== undefined && r.amount !== null) {
        const want = toFen(r.amount);
        check('receipt.amount', want === o.amountFen, fenText(want), fenText(o.amountFen));
      }
      if (r.contains !== undefined)
        for (const text of list(r.contains))
          check('receipt.contains', o.receiptText.includes(text), `contains 「${text}」`, o.receiptText);
    }
  }

  if (e.journal !== undefined) {
    const j = e.journal;
    const ledger = w.pos.ledger;
    if (j.payments !== undefined)
      same('journal.payments', j.payments, ledger.payments({ kind: 'payment' }).length);
    if (j.refunds !== undefined)
      same('journal.refunds', j.refunds, ledger.payments({ kind: 'refund' }).length);
    if (j.reversals !== undefined)
      same('journal.reversals', j.reversals, ledger.payments({ kind: 'reversal' }).length);
    if (j.forwardQueue !== undefined) same('journal.forwardQueue', j.forwardQueue, ledger.pendingCount());
    if (j.balanced !== undefined) {
      const b = ledger.checkBalanced();
      check(
        'journal.balanced',
        j.balanced === b.balanced,
        String(j.balanced),
        b.balanced
          ? 'true'
          : `false (sum ${b.totalFen} fen; ${b.unbalanced.map((u) => `${u.paymentId}: ${u.detail}`).join('; ')})`,
      );
    }
    if (j.reconciled !== undefined) {
      const r = await w.pos.reconcile();
      check(
        'journal.reconciled',
        j.reconciled === r.agree,
        String(j.reconciled),
        r.agree ? 'true' : `false (${r.mismatches.map((m) => `${m.paymentId} ${m.kind}`).join(', ')})`,
      );
    }
  }

  if ((e.pinTriesLeft !== undefined || e.cardStatus !== undefined) && card) {
    w.card(card);
    const number = card.profile.card.number;
    if (e.pinTriesLeft !== undefined)
      same('pinTriesLeft', e.pinTriesLeft, w.pos.store.security(number).pinTriesLeft);
    if (e.cardStatus !== undefined)
      same('cardStatus', e.cardStatus, w.pos.store.ledger.getCard(number)?.status ?? null);
  }

  if (e.counter !== undefined) {
    const c = seen.counter;
    if (!c) check('counter', false, 'a counter answer', 'no counter action yet');
    else {
      const actual = `${c.ok ? 'ok' : `refused${c.rule ? ` (${c.rule})` : ''}`}: ${c.zh} / ${c.en}`;
      if (e.counter.ok !== undefined)
        check('counter.ok', e.counter.ok === c.ok, String(e.counter.ok), actual);
      if (e.counter.rule !== undefined)
        check('counter.rule', e.counter.rule === c.rule, e.counter.rule, actual);
      if (e.counter.contains !== undefined)
        for (const text of list(e.counter.contains))
          check(
            'counter.contains',
            c.zh.includes(text) || c.en.includes(text),
            `contains 「${text}」`,
            actual,
          );
    }
  }

  if (e.settlement !== undefined) {
    const s = seen.settlement;
    if (!s) check('settlement', false, 'a settlement', 'no settle step yet');
    else {
      for (const k of ['payments', 'refunds', 'reversals', 'pendingForward'] as const)
        if (e.settlement[k] !== undefined) same(`settlement.${k}`, e.settlement[k], s[k]);
      if (e.settlement.total !== undefined && e.settlement.total !== null) {
        const want = toFen(e.settlement.total);
        check('settlement.total', want === s.totalFen, fenText(want), fenText(s.totalFen));
      }
    }
  }

  if (e.reconciliation !== undefined) {
    const r = seen.reconciliation;
    if (!r) check('reconciliation', false, 'a reconciliation', 'no reconcile step yet');
    else {
      if (e.reconciliation.agree !== undefined) same('reconciliation.agree', e.reconciliation.agree, r.agree);
      if (e.reconciliation.mismatches !== undefined)
        check(
          'reconciliation.mismatches',
          e.reconciliation.mismatches === r.mismatches.length,
          String(e.reconciliation.mismatches),
          `${r.mismatches.length}${r.mismatches.length ? ` (${r.mismatches.map((m) => `${m.paymentId} ${m.kind}`).join(', ')})` : ''}`,
        );
    }
  }

  if (e.sync !== undefined) {
    const s = seen.sync;
    if (!s) check('sync', false, 'a sync', 'no sync step yet');
    else
      for (const k of ['sent', 'failed', 'pending'] as const)
        if (e.sync[k] !== undefined) same(`sync.${k}`, e.sync[k], s[k]);
  }

  if (e.recovery !== undefined) {
    const r = seen.recovery;
    if (!r) check('recovery', false, 'a recovery check', 'no crash yet');
    else {
      if (e.recovery.ok !== undefined)
        check(
          'recovery.ok',
          e.recovery.ok === r.ok,
          String(e.recovery.ok),
          r.ok ? 'true' : `false (${r.problems.join('; ')})`,
        );
      if (e.recovery.payments !== undefined) same('recovery.payments', e.recovery.payments, r.payments);
    }
  }
  return failures;
}
