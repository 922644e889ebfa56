import { businessDate } from '../time.ts';
import { tillView } from '../pos/till-view.ts';
import type { Step, StepBody } from './load.ts';
import { checkExpectations, type ExpectationFailure } from './expect.ts';
import { fenToYuan } from './money.ts';
import { applyFault } from './fault-steps.ts';
import type { StepContext } from './step-context.ts';
import { runInterfaceStep } from './interface-step.ts';

/**
 * What each step kind does to the till, the host, the clock or the books, and what it notes in
 * the step log. Only `expect` returns failures; the loop around it (execution.ts) decides what
 * a failure or a throw means for the rest of the scenario. `crash` is not here: it hands the
 * following steps to another process, which only the loop can do.
 */
export async function executeStep(
  ctx: StepContext,
  step: Step,
  notes: string[],
): Promise<ExpectationFailure[]> {
  const w = ctx.world!;
  const t = w.terminal;
  const body = step as StepBody;
  const waiting = () => tillView(t).waitingFor;
  switch (body.kind) {
    case 'insert': {
      await ctx.settled();
      notes.push(...(await w.insert(ctx.current(body))));
      await ctx.settled();
      return [];
    }
    case 'remove':
      await w.remove();
      await ctx.settled();
      return [];
    case 'amount':
      await ctx.settled();
      if (waiting() !== 'amount')
        notes.push(`the till was not waiting for an amount (waiting for ${waiting() ?? 'nothing'})`);
      t.send({ type: 'AMOUNT_ENTERED', amountFen: body.fen, method: body.method });
      await ctx.settled();
      return [];
    case 'pin':
    case 'password': {
      await ctx.settled();
      const wf = waiting();
      if (wf !== 'pin' && wf !== 'password')
        notes.push(`the till was not waiting for a PIN or password (waiting for ${wf ?? 'nothing'})`);
      t.send({ type: 'PIN_ENTERED', pin: body.value });
      await ctx.settled();
      return [];
    }
    case 'cancel':
      t.send({ type: 'CANCEL' });
      await ctx.settled();
      return [];
    case 'timeout':
      t.send({ type: 'TIMEOUT' });
      await ctx.settled();
      return [];
    case 'host':
      if (body.to === 'up' || body.to === 'down' || body.to === 'slow') w.setLink(body.to);
      else w.setHostFault({ kind: body.to });
      return [];
    case 'clock': {
      const to = body.set ?? new Date(w.clock().getTime() + body.advanceMs!).toISOString();
      w.setClock(to);
      notes.push(`now ${to} (business day ${businessDate(new Date(to))})`);
      return [];
    }
    case 'counter': {
      await ctx.settled();
      const r = await w.counterAction(body.counter, ctx.current(body));
      ctx.seen.counter = r;
      notes.push(`${r.ok ? '✔' : `✘${r.rule ? ` ${r.rule}` : ''}`} ${r.zh} / ${r.en}`);
      await ctx.settled();
      return [];
    }
    case 'sync': {
      const r = await w.pos.sync({ now: new Date('9999-12-31T23:59:59Z') });
      ctx.seen.sync = r;
      notes.push(`sent ${r.sent}, failed ${r.failed}, pending ${r.pending}`);
      return [];
    }
    case 'settle': {
      const date = body.date ?? businessDate(w.clock());
      const closed = w.pos.ledger.closeDay(date);
      const s = { ...closed, pendingForward: w.pos.ledger.settlement(date).pendingForward };
      ctx.seen.settlement = s;
      notes.push(
        `日结 ${date}: ${s.payments} payments, net ¥${fenToYuan(s.totalFen)}, ${s.pendingForward} waiting for the host`,
      );
      return [];
    }
    case 'reconcile': {
      const r = await w.pos.reconcile(body.date ?? undefined);
      ctx.seen.reconciliation = r;
      notes.push(
        r.agree ? '对账一致 terminal and host agree' : `对账不一致 ${r.mismatches.length} mismatch(es)`,
      );
      return [];
    }
    case 'refund': {
      let id = body.payment;
      if (id === 'last') {
        const last = w.pos.ledger.payments({ kind: 'payment' }).at(-1);
        if (!last) throw new Error('no payment to refund yet');
        id = last.paymentId;
      }
      const r = await w.pos.refund(id, body.fen);
      notes.push(`退费 ¥${body.yuan} of ${id} (${r.mode})`);
      return [];
    }
    case 'fault':
      await applyFault(ctx, body.fault, notes);
      return [];
    case 'expect': {
      await ctx.settled();
      const failures = await checkExpectations(body.expect, w, ctx.seen, body.balancesCard);
      ctx.seen.statusWords = [];
      return failures;
    }
    case 'interface':
      await ctx.settled();
      return runInterfaceStep(w, body.call, w.scenario.readerInterface, notes);
    case 'crash':
      throw new Error('crash steps are run by the scenario loop');
  }
}
