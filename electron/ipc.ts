import type { IpcMain, WebContents, WebFrameMain } from 'electron';
import { toFailure, type Core } from '../core/api/create-core.ts';
import { isMethodName } from '../core/api/contract.ts';
import { ApiError, type ApiFailure } from '../core/api/define.ts';
import type { CoreEvent } from '../core/api/events.ts';
import { CHANNELS, isAppUrl } from './window-options.ts';

export { CHANNELS };

/** What the preload's `call` resolves to (renderer/api-client.ts PreloadBridge). */
export type IpcResult = { ok: true; result: unknown } | { ok: false; error: ApiFailure };

/** The parts of an IpcMainInvokeEvent the checks read (a fake in the tests). */
export interface IpcCallEvent {
  readonly sender: Pick<WebContents, 'id'>;
  readonly senderFrame: Pick<WebFrameMain, 'url' | 'parent'> | null;
}

/** The parts of a WebContents the registry uses (a fake in the tests). */
export interface AppContents {
  readonly id: number;
  isDestroyed(): boolean;
  getURL(): string;
  send(channel: string, ...args: unknown[]): void;
  once(event: 'destroyed', listener: () => void): unknown;
}

/**
 * The windows this main process created for the app. Only their pages may call the Api, and
 * only they receive its events. A web contents leaves the registry when it is destroyed.
 */
export class AppWindows {
  readonly #byId = new Map<number, AppContents>();

  track(contents: AppContents): void {
    this.#byId.set(contents.id, contents);
    contents.once('destroyed', () => this.#byId.delete(contents.id));
  }

  has(contents: Pick<WebContents, 'id'>): boolean {
    const known = this.#byId.get(contents.id);
    return known !== undefined && !known.isDestroyed();
  }

  /** Sends to every app window still showing the app's own page. */
  send(channel: string, payload: unknown): void {
    for (const c of this.#byId.values()) {
      if (!c.isDestroyed() && isAppUrl(c.getURL())) c.send(channel, payload);
    }
  }

  get size(): number {
    return this.#byId.size;
  }
}

/** Why a sender is refused, in both languages. */
const REFUSALS = {
  'frame-gone': { zh: '发出调用的页面已不存在', en: 'the sending frame is gone' },
  'foreign-window': { zh: '不是本应用创建的窗口', en: 'not a window of this app' },
  subframe: { zh: '不是应用的顶层页面', en: 'not the top frame' },
  'foreign-page': { zh: '不是应用自己的页面', en: 'not the app page' },
} as const;
export type SenderProblem = keyof typeof REFUSALS;

/**
 * Why a sender is refused, or null when it may call: the sender must be a window this main
 * process created, the message must come from that window's top frame (not a subframe), and
 * the frame must show the app's own page (app://sscard/…). A frame that navigated away or was
 * destroyed mid-call (senderFrame null) is refused too.
 */
export function senderProblem(event: IpcCallEvent, windows: Pick<AppWindows, 'has'>): SenderProblem | null {
  const frame = event.senderFrame;
  if (!frame) return 'frame-gone';
  if (!windows.has(event.sender)) return 'foreign-window';
  if (frame.parent !== null) return 'subframe';
  if (!isAppUrl(frame.url)) return 'foreign-page';
  return null;
}

export function unauthorized(problem: SenderProblem): ApiFailure {
  const r = REFUSALS[problem];
  return { code: 'UNAUTHORIZED', zh: `拒绝调用：${r.zh}`, en: `call refused: ${r.en}` };
}

/** Plain data across the boundary, exactly as the web host's JSON sends it. */
function plain(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

/**
 * The one IPC entry (`sscard:call`): checks the sender, the method name against the Api's
 * closed list, then hands the name and arguments to core.call, which checks the arguments
 * with the method's schema. Never throws: failures come back typed (code, zh, en).
 */
export function createCallHandler(deps: {
  core: Pick<Core, 'call'>;
  windows: Pick<AppWindows, 'has'>;
}): (event: IpcCallEvent, method: unknown, args: unknown) => Promise<IpcResult> {
  return async (event, method, args) => {
    let problem: SenderProblem | null;
    try {
      problem = senderProblem(event, deps.windows);
    } catch {
      // Electron throws when a frame is read after it was disposed.
      problem = 'frame-gone';
    }
    if (problem) return { ok: false, error: unauthorized(problem) };
    if (!isMethodName(method)) {
      const name = String(method).slice(0, 64);
      return {
        ok: false,
        error: toFailure(new ApiError('UNKNOWN_METHOD', `没有这个功能：${name}`, `no such method: ${name}`)),
      };
    }
    try {
      return { ok: true, result: plain(await deps.core.call(method, args)) };
    } catch (e) {
      return { ok: false, error: toFailure(e) };
    }
  };
}

/**
 * Wires the core to Electron IPC: the call handler on `sscard:call`, and every core event to
 * the app windows on `sscard:event`. Returns the undo (tests, shutdown).
 */
export function registerIpc(deps: {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  core: Pick<Core, 'call' | 'subscribe'>;
  windows: AppWindows;
}): () => void {
  const handler = createCallHandler(deps);
  deps.ipcMain.handle(CHANNELS.call, (event, method: unknown, args: unknown) => handler(event, method, args));
  const off = deps.core.subscribe((e: CoreEvent) => deps.windows.send(CHANNELS.event, plain(e)));
  return () => {
    deps.ipcMain.removeHandler(CHANNELS.call);
    off();
  };
}
