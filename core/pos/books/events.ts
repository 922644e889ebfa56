import { lazyStatements } from '../../db/lazy-statements.ts';
import { businessDate } from '../../time.ts';
import { checkDate } from './checks.ts';
import type { BooksContext } from './context.ts';
import { TerminalLedgerError } from './errors.ts';
import { toEvent, type EventDbRow } from './rows.ts';
import type { TerminalEvent, TerminalEventInput } from './types.ts';

/**
 * The till's event log (terminal_events): what happened without moving money (a decline, an
 * error), kept beside the books so that a day's story can be told from one file. Events
 * never touch the money tables, so they need no transaction of their own.
 */

const prepareStatements = lazyStatements({
  insertEvent: (db) =>
    db.prepare<Omit<EventDbRow, 'event_id'>>(`
      INSERT INTO terminal_events (terminal_id, at, business_date, kind, payment_id, card_id, amount_fen, code,
                                   message)
      VALUES (@terminal_id, @at, @business_date, @kind, @payment_id, @card_id, @amount_fen, @code, @message)`),
  eventsAll: (db) =>
    db.prepare<[string], EventDbRow>('SELECT * FROM terminal_events WHERE terminal_id = ? ORDER BY event_id'),
  eventsOfDay: (db) =>
    db.prepare<[string, string], EventDbRow>(
      'SELECT * FROM terminal_events WHERE terminal_id = ? AND business_date = ? ORDER BY event_id',
    ),
});

export class EventLog {
  private readonly s: ReturnType<typeof prepareStatements>;

  constructor(private readonly ctx: BooksContext) {
    this.s = prepareStatements(ctx.db);
  }

  logEvent(e: TerminalEventInput): TerminalEvent {
    if (typeof e.kind !== 'string' || e.kind === '' || typeof e.message !== 'string') {
      throw new TerminalLedgerError('INVALID_INPUT', 'an event needs a kind and a message');
    }
    if (e.amountFen != null && (!Number.isSafeInteger(e.amountFen) || e.amountFen < 0)) {
      throw new TerminalLedgerError(
        'INVALID_AMOUNT',
        `event amountFen ${e.amountFen} is not a whole number of fen`,
      );
    }
    const at = this.ctx.clock();
    const row: Omit<EventDbRow, 'event_id'> = {
      terminal_id: this.ctx.terminalId,
      at: at.toISOString(),
      business_date: businessDate(at),
      kind: e.kind,
      payment_id: e.paymentId ?? null,
      card_id: e.cardId ?? null,
      amount_fen: e.amountFen ?? null,
      code: e.code ?? null,
      message: e.message,
    };
    const { lastInsertRowid } = this.s.insertEvent.run(row);
    return toEvent({ ...row, event_id: Number(lastInsertRowid) });
  }

  events(date?: string): TerminalEvent[] {
    if (date !== undefined) checkDate(date);
    const rows =
      date === undefined
        ? this.s.eventsAll.all(this.ctx.terminalId)
        : this.s.eventsOfDay.all(this.ctx.terminalId, date);
    return rows.map(toEvent);
  }
}
