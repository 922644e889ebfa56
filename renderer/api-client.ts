import type { ArgsOf, MethodName, ResultOf } from '../core/api/contract.ts';
import type { ApiFailure } from '../core/api/define.ts';
import type { CoreEvent } from '../core/api/events.ts';

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

function webClient(): Promise<Client> {
  const token = tokenFromLocation(location);
  const ws = new WebSocket(
    `${location.origin.replace(/^http/, 'ws')}/api?token=${encodeURIComponent(token)}`,
  );
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const listeners = new Set<(e: CoreEvent) => void>();
  let next = 1;
  const lost = (why: string) => {
    for (const p of pending.values())
      p.reject(
        new ApiCallError({
          code: 'INTERNAL',
          zh: `与终端的连接已断开（${why}）`,
          en: `connection to the till lost (${why})`,
        }),
      );
    pending.clear();
  };
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
  ws.addEventListener('close', () => lost('closed'));
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () =>
      resolve({
        transport: 'web',
        call(method, args) {
          const id = next++;
          return new Promise((res, rej) => {
            pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
            ws.send(JSON.stringify({ id, method, args }));
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
