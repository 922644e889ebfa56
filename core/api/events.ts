import type { TraceEntry } from '../../device/trace.ts';
import type { CardSummary, PaymentOutcome, PosMessage, SessionResult } from '../../state-machines/types.ts';

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

export interface ReaderView {
  kind: 'virtual' | 'pcsc';
  name: string;
  cardPresent: boolean;
  /** The wallet card in the virtual reader (null for a PC/SC reader or an empty slot). */
  cardId: string | null;
}

export interface WorkspaceView {
  mode: 'live' | 'training';
  reader: ReaderView;
  hostLink: 'up' | 'down' | 'slow';
  terminalId: string;
  merchantName: string;
  businessDate: string;
}

/** Pushed to every screen: IPC `sscard:event` in Electron, a WebSocket message in the browser. */
export type CoreEvent =
  | { type: 'till'; till: TillView }
  | { type: 'trace'; entry: TraceEntry }
  | { type: 'trace-cleared' }
  | { type: 'reader'; reader: ReaderView }
  | { type: 'workspace'; workspace: WorkspaceView }
  | { type: 'books-changed' };
