import type { PaymentMethod } from '../host/types.ts';
import type { CardSummary, PaymentOutcome, PosMessage, SessionResult } from '../../state-machines/types.ts';
import type { PosTerminal } from './terminal.ts';

/** How one scripted payment at the till ended. */
export interface TillResult {
  approved: boolean;
  /** 'refused': the card was refused before any session (expired, lost, unreadable…). */
  result: SessionResult['result'] | 'refused';
  message: PosMessage;
  outcome: PaymentOutcome | null;
  card: CardSummary | null;
}

/**
 * Plays the operator and the holder for one payment on a card already in the reader: enter
 * the amount, enter the PIN or password once. After a wrong PIN the till would ask again; a
 * script has one, so it keeps the "n tries left" message and cancels.
 */
export async function runPayment(
  t: PosTerminal,
  p: { amountFen: number; method: PaymentMethod; pin: string },
  timeoutMs = 15_000,
): Promise<TillResult> {
  await t.settled(timeoutMs);
  if (t.snapshot.matches('session')) {
    t.send({ type: 'AMOUNT_ENTERED', amountFen: p.amountFen, method: p.method });
    await t.settled(timeoutMs);
  }
  if (/awaiting(Pin|Password)/.test(t.stateName())) {
    t.send({ type: 'PIN_ENTERED', pin: p.pin });
    await t.settled(timeoutMs);
  }
  let message = t.message();
  const askingAgain = t.snapshot.matches('session');
  if (askingAgain) {
    t.send({ type: 'CANCEL' });
    await t.settled(timeoutMs);
  }
  const { last, card } = t.snapshot.context;
  if (!askingAgain) message = last?.message ?? t.message();
  return {
    approved: last?.result === 'paid',
    result: last?.result ?? 'refused',
    message,
    outcome: last?.outcome ?? null,
    card,
  };
}
