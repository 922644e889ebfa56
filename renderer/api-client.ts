import type { ArgsOf, MethodName, ResultOf } from '../core/api/contract.ts';
import type { ApiFailure } from '../core/api/define.ts';
import type { CoreEvent } from '../core/api/events.ts';
import { API_MESSAGE_MAX_BYTES, megabytes, messageTooLarge } from './upload-limits.ts';

/** A failed call, with the core's typed failure (code, zh, en). */
export class ApiCallError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.en);
    this.name = 'ApiCallError';
  }
}

/** What the Electron preload exposes (contextBridge): one call entry and one event feed. */
export interface PreloadBridge {
  call(
    method: string,
    args: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: ApiFailure }>;
  onEvent(listener: (e: CoreEvent) => void): () => void;
}

declare global {
  interface Window {
    sscard?: PreloadBridge;
  }
}

export interface Client {
  call<M extends MethodName>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>>;
  onEvent(listener: (e: CoreEvent) => void): () => void;
  /** 'electron' or 'web': where the Api lives. */
  readonly transport: 'electron' | 'web';
}

function electronClient(bridge: PreloadBridge): Client {
  return {
    transport: 'electron',
    async call(method, args) {
      const r = await bridge.call(method, args);
      if (!r.ok) throw new ApiCallError(r.error);
      return r.result as never;
    },
    onEvent: (l) => bridge.onEvent(l),
  };
}

/** The token comes in the page address's fragment (#token=…), never sent to a server. */
export function tokenFromLocation(loc: Location): string {
  const fromHash = new URLSearchParams(loc.hash.replace(/^#/, '')).get('token');
  if (fromHash) {
    sessionStorage.setItem('sscard-token', fromHash);
    return fromHash;
  }
  return sessionStorage.getItem('sscard-token') ?? '';
}

/** Why the host closed the WebSocket, in words (RFC 6455 §7.4.1 codes the host uses). */
export function closeReason(code: number): { zh: string; en: string } {
  switch (code) {
    case 1000:
    case 1001:
      return { zh: '终端已关闭连接', en: 'the till closed the connection' };
    case 1002:
      return { zh: '通信协议错误', en: 'protocol error' };
    case 1007:
      return { zh: '消息不是有效的 UTF-8 文本', en: 'a message was not valid UTF-8 text' };
    case 1009:
      return {
        zh: `消息过大，超过 ${megabytes(API_MESSAGE_MAX_BYTES)}`,
        en: `a message was over ${megabytes(API_MESSAGE_MAX_BYTES)}`,
      };
    default:
      return { zh: `终端服务已停止（代码 ${code}）`, en: `the till's host stopped (code ${code})` };
  }
}

function lostFailure(why: { zh: string; en: string }): ApiCallError {
  return new ApiCallError({
    code: 'INTERNAL',
    zh: `与终端的连接已断开（${why.zh}），请刷新页面重新连接`,
    en: `connection to the till lost (${why.en}); reload the page to reconnect`,
  });
}

function webClient(): Promise<Client> {
  const token = tokenFromLocation(location);
  const ws = new WebSocket(
    `${location.origin.replace(/^http/, 'ws')}/api?token=${encodeURIComponent(token)}`,
  );
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const listeners = new Set<(e: CoreEvent) => void>();
  const encoder = new TextEncoder();
  let next = 1;
  let closed: { zh: string; en: string } | null = null;
  ws.addEventListener('message', (m) => {
    const msg = JSON.parse(String(m.data)) as
      { event: CoreEvent } | { id: number; result: unknown } | { id: number; error: ApiFailure };
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if ('error' in msg) p.reject(new ApiCallError(msg.error));
    else p.resolve(msg.result);
  });
  ws.addEventListener('close', (e) => {
    closed = closeReason(e.code);
    for (const p of pending.values()) p.reject(lostFailure(closed));
    pending.clear();
  });
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () =>
      resolve({
        transport: 'web',
        call(method, args) {
          if (closed || ws.readyState !== WebSocket.OPEN)
            return Promise.reject(lostFailure(closed ?? closeReason(1006)));
          const id = next++;
          const text = JSON.stringify({ id, method, args });
          // The host closes a connection that sends more than it takes (1009): a call that
          // large is refused here instead, with the reason, and the connection stays.
          const bytes = encoder.encode(text).length;
          if (bytes > API_MESSAGE_MAX_BYTES)
            return Promise.reject(
              new ApiCallError({ code: 'BAD_ARGUMENTS', ...messageTooLarge(method, bytes) }),
            );
          return new Promise((res, rej) => {
            pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
            ws.send(text);
          });
        },
        onEvent(l) {
          listeners.add(l);
          return () => listeners.delete(l);
        },
      }),
    );
    ws.addEventListener('error', () =>
      reject(
        new ApiCallError({
          code: 'UNAUTHORIZED',
          zh: '无法连接终端（令牌无效或服务已停止）',
          en: 'cannot reach the till (bad token, or the host stopped)',
        }),
      ),
    );
  });
}

export function connect(): Promise<Client> {
  return window.sscard ? Promise.resolve(electronClient(window.sscard)) : webClient();
}
