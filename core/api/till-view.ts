import type { PosTerminal } from '../pos/terminal.ts';
import type { TillView } from './events.ts';

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
