import type { TraceEntry } from '../../device/trace.ts';
import type { TillView } from '../pos/till-view.ts';

/** Where the till is, as the screens draw it (defined with tillView in core/pos). */
export type { TillView, TraceEntry };

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
