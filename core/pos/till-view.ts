import type { CardSummary, PaymentOutcome, PosMessage, SessionResult } from '../../state-machines/types.ts';
import type { PosTerminal } from './terminal.ts';

/**
 * Lives with the till (not in core/api) because the scenario engine reads the same view the
 * screens get, and it sits below the api layer; core/api/events.ts re-exports TillView.
 */

/** Where the till is, as the screens draw it. */
export interface TillView {
  /** Readable path: 'idle', 'readingCard', 'session.gen3/awaitingPin', 'removeCard'… */
  state: string;
  /** The terminal machine's top state. */
  terminalState: string;
  /** The generation machine's state while a session runs (for the state chart), else null. */
  sessionState: string | null;
  generation: 1 | 2 | 3 | null;
  message: PosMessage;
  card: CardSummary | null;
  cardPresent: boolean;
  amountFen: number | null;
  method: 'medical' | 'reserve' | null;
  triesLeft: number | null;
  /** What the till is waiting for from people. */
  waitingFor: 'card' | 'amount' | 'pin' | 'password' | 'removal' | null;
  busy: boolean;
  last: { result: SessionResult['result']; message: PosMessage; outcome: PaymentOutcome | null } | null;
}

const BUSY = ['readingCard', 'authenticating', 'verifyingPin', 'verifyingPassword', 'paying', 'reversing'];

/** What the till's screen shows, read from the terminal machine and its session machine. */
export function tillView(t: PosTerminal): TillView {
  const snap = t.snapshot;
  const state = t.stateName();
  const terminalState = typeof snap.value === 'string' ? snap.value : Object.keys(snap.value)[0]!;
  const session = snap.matches('session') ? t.session : null;
  const sessionState = session ? String(session.value) : null;
  const card = snap.context.card;
  let waitingFor: TillView['waitingFor'] = null;
  if (terminalState === 'idle') waitingFor = 'card';
  else if (terminalState === 'removeCard' || terminalState === 'refused') waitingFor = 'removal';
  else if (sessionState === 'holder') waitingFor = 'amount';
  else if (sessionState?.startsWith('awaitingPin')) waitingFor = 'pin';
  else if (sessionState?.startsWith('awaitingPassword')) waitingFor = 'password';
  const last = snap.context.last;
  return {
    state,
    terminalState,
    sessionState,
    generation: card?.generation ?? null,
    message: t.message(),
    card,
    cardPresent: snap.context.cardPresent,
    amountFen: session && session.context.amountFen > 0 ? session.context.amountFen : null,
    method: session && session.context.amountFen > 0 ? session.context.method : null,
    triesLeft: session?.context.triesLeft ?? null,
    waitingFor,
    busy: BUSY.some((b) => state.endsWith(b)) || state.endsWith('dispatch'),
    last: last ? { result: last.result, message: last.message, outcome: last.outcome } : null,
  };
}
