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

/** A reader-service function waiting for the holder at the PIN pad (never a PIN). */
export interface ServicePinRequest {
  functionName: string;
  /** pin 请输入密码, old-pin 请输入原密码, new-pin 请输入新密码, new-pin-again 请再次输入新密码 */
  prompt: 'pin' | 'old-pin' | 'new-pin' | 'new-pin-again';
}

/** 读卡服务: the local reader service the app runs on its reader and till. */
export interface ReaderServiceView {
  running: boolean;
  /** http://127.0.0.1:12342 — what to give the HIS (libSSCardDriver.so: SSCARD_DRIVER_URL). */
  url: string | null;
  wsUrl: string | null;
  port: number | null;
  /** The port asked for: differs from `port` when the default was taken and a free one used. */
  requestedPort: number | null;
  pinTimeoutSeconds: number | null;
  /** The function waiting for the holder's PIN now. */
  waiting: ServicePinRequest | null;
  /** Calls answered since it started. */
  calls: number;
}

/** Pushed to every screen: IPC `sscard:event` in Electron, a WebSocket message in the browser. */
export type CoreEvent =
  | { type: 'till'; till: TillView }
  | { type: 'trace'; entry: TraceEntry }
  | { type: 'trace-cleared' }
  | { type: 'reader'; reader: ReaderView }
  | { type: 'workspace'; workspace: WorkspaceView }
  | { type: 'books-changed' }
  | { type: 'reader-service'; service: ReaderServiceView }
  | { type: 'reader-service-pin'; request: ServicePinRequest }
  | {
      type: 'reader-service-pin-done';
      request: ServicePinRequest;
      outcome: 'entered' | 'cancel' | 'timeout';
    };
