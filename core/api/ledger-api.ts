import { z } from 'zod';
import { businessDate, isValidBusinessDate } from '../time.ts';
import { ApiError, method } from './define.ts';
import { TerminalLedgerError } from '../pos/terminal-ledger.ts';
import { HostError } from '../host/types.ts';

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'a date is YYYY-MM-DD' })
  .refine(isValidBusinessDate, { message: 'a date is YYYY-MM-DD and a day of the calendar' });
/**
 * "Now" for an explicit sync: later than any retry time. The queue compares ISO strings, so it
 * must be a four-digit year (the largest Date, year +275760, sorts before '2026-…').
 */
const EVERYTHING_DUE = new Date('9999-12-31T23:59:59.999Z');
const limit = z.number().int().positive().max(10_000).default(200);

/** The books (账务): the till's own and the host's, settlement, reconciliation, forwarding. */
export const ledgerMethods = {
  /** The till's transactions, newest first, with their receipts and forwarding state. */
  payments: method(
    z.object({ date: date.optional(), cardId: z.string().max(64).optional(), limit }).strict(),
    (ctx, { date: d, cardId, limit: n }) => {
      const ws = ctx.ws();
      const l = ws.pos.ledger;
      const number = cardId ? ws.profile(cardId).card.number : undefined;
      const rows = l.payments({ ...(d ? { date: d } : {}), ...(number ? { cardId: number } : {}) });
      return rows
        .slice(-n)
        .reverse()
        .map((p) => ({ ...p, forward: l.queueEntry(p.paymentId)?.state ?? null }));
    },
  ),

  payment: method(z.object({ paymentId: z.string().min(1).max(64) }).strict(), (ctx, { paymentId }) => {
    const l = ctx.ws().pos.ledger;
    const p = l.payment(paymentId);
    if (!p) throw new ApiError('NOT_FOUND', `没有这笔交易：${paymentId}`, `no transaction ${paymentId}`);
    return {
      payment: p,
      journal: l.journal(paymentId),
      /** The host's posting for it (its transaction id is the payment id), once applied. */
      hostJournal: ctx.ws().pos.store.ledger.journal({ txnId: paymentId }),
      forward: l.queueEntry(paymentId),
    };
  }),

  /** The till's double-entry journal (one payment, or the latest lines). */
  terminalJournal: method(
    z.object({ paymentId: z.string().max(64).optional(), limit }).strict(),
    (ctx, { paymentId, limit: n }) => ctx.ws().pos.ledger.journal(paymentId).slice(-n).reverse(),
  ),

  /** The host's journal: every posting on the cards' accounts (or one payment's), newest first. */
  hostJournal: method(
    z
      .object({
        cardId: z.string().max(64).optional(),
        paymentId: z.string().min(1).max(64).optional(),
        limit,
      })
      .strict(),
    (ctx, { cardId, paymentId, limit: n }) => {
      const ws = ctx.ws();
      const number = cardId ? ws.profile(cardId).card.number : undefined;
      return ws.pos.store.ledger
        .journal({ ...(number ? { cardId: number } : {}), ...(paymentId ? { txnId: paymentId } : {}) })
        .slice(-n)
        .reverse();
    },
  ),

  /** Balances of one card's accounts (reserve, 95000 current year, 95001 prior years), in fen. */
  balances: method(z.object({ cardId: z.string().min(1).max(64) }).strict(), (ctx, { cardId }) => {
    const ws = ctx.ws();
    const number = ws.profile(cardId).card.number;
    ws.card(cardId); // imported into the ledger on first sight
    return { cardId, cardNumber: number, ...ws.pos.store.balances(number) };
  }),

  /** The day's totals so far (not closed). */
  settlement: method(z.object({ date: date.optional() }).strict(), (ctx, { date: d }) => {
    const ws = ctx.ws();
    const day = d ?? businessDate(ws.pos.clock());
    return { open: ws.pos.ledger.settlement(day), closed: ws.pos.ledger.closedSettlement(day) };
  }),

  /** 日结: closes the day; queued payments stay queued and are counted. */
  closeDay: method(
    z.object({ date: date.optional() }).strict(),
    (ctx, { date: d }) => {
      const ws = ctx.ws();
      const today = businessDate(ws.pos.clock());
      const day = d ?? today;
      // Not a day that has not begun (core/pos/books/settlement.ts): said in both languages.
      if (day > today)
        throw new ApiError(
          'BAD_ARGUMENTS',
          `不能为 ${day} 日结：晚于今天的营业日 ${today}（北京时间），只能结今天或以前的日子`,
          `cannot close ${day}: it is after today's business date ${today} (Beijing time); close a day on or after it`,
        );
      try {
        return ws.pos.ledger.closeDay(day);
      } catch (e) {
        if (e instanceof TerminalLedgerError)
          throw new ApiError(e.code === 'INVALID_DATE' ? 'BAD_ARGUMENTS' : 'CONFLICT', e.message, e.message);
        throw e;
      }
    },
    { mutates: true },
  ),

  /** 对账: the till's books against the host's records, every mismatch listed. */
  reconcile: method(z.object({ date: date.optional() }).strict(), async (ctx, { date: d }) => {
    try {
      return await ctx.ws().pos.reconcile(d);
    } catch (e) {
      // The host's records are needed: with the link down there is nothing to compare with.
      if (e instanceof HostError && (e.code === 'HOST_DOWN' || e.code === 'HOST_TIMEOUT'))
        throw new ApiError(
          'CONFLICT',
          '无法连接银行/医保主机，暂不能对账：请在主机恢复后重试',
          'The bank / insurance host cannot be reached, so there is nothing to reconcile with: try again when it is back',
        );
      throw e;
    }
  }),

  /** The forward queue (payments taken offline, refunds, reversals) with its state. */
  forwardQueue: method(z.object({}).strict(), (ctx) => {
    const l = ctx.ws().pos.ledger;
    return { pending: l.forwardQueue('pending'), sent: l.forwardQueue('sent').slice(-50).reverse() };
  }),

  /** Sends what is queued now (an operator's explicit sync: everything is due). */
  sync: method(z.object({}).strict(), (ctx) => ctx.ws().pos.sync({ now: EVERYTHING_DUE }), {
    mutates: true,
  }),

  /** 退费: refunds part or all of a payment. */
  refund: method(
    z.object({ paymentId: z.string().min(1).max(64), amountFen: z.number().int().positive() }).strict(),
    async (ctx, { paymentId, amountFen }) => {
      try {
        return await ctx.ws().pos.refund(paymentId, amountFen);
      } catch (e) {
        if (e instanceof TerminalLedgerError) throw new ApiError('CONFLICT', e.message, e.message);
        throw e;
      }
    },
    { mutates: true },
  ),
};
