import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCore, type Core } from '../core/api/create-core.ts';
import type { CoreEvent } from '../core/api/events.ts';
import {
  AppWindows,
  CHANNELS,
  createCallHandler,
  registerIpc,
  senderProblem,
  type IpcCallEvent,
} from './ipc.ts';
import { APP_URL } from './window-options.ts';

let dir: string;
let core: Core;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-ipc-'));
  core = await createCore({ dbPath: join(dir, 'ledger.db') });
});
afterAll(async () => {
  await core.close();
  rmSync(dir, { recursive: true, force: true });
});

let nextId = 1;
/** A web contents as Electron gives it: an id, a URL, send, and the 'destroyed' event. */
function fakeContents(url = APP_URL) {
  let destroyed = false;
  let onDestroyed: (() => void) | null = null;
  const contents = {
    id: nextId++,
    url,
    sent: [] as [string, unknown][],
    isDestroyed: () => destroyed,
    getURL: () => contents.url,
    send: (channel: string, payload: unknown) => contents.sent.push([channel, payload]),
    once: (_event: 'destroyed', listener: () => void) => {
      onDestroyed = listener;
    },
    destroy() {
      destroyed = true;
      onDestroyed?.();
    },
  };
  return contents;
}

/** An IpcMainInvokeEvent from a frame of `contents`. */
function eventFrom(
  contents: { id: number },
  frame: { url?: string; parent?: unknown } | null = {},
): IpcCallEvent {
  return {
    sender: { id: contents.id },
    senderFrame:
      frame === null ? null : ({ url: frame.url ?? APP_URL, parent: frame.parent ?? null } as never),
  };
}

function setup() {
  const windows = new AppWindows();
  const win = fakeContents();
  windows.track(win);
  const spy = { call: vi.fn((m: unknown, a: unknown) => core.call(m, a)) };
  const handler = createCallHandler({ core: spy, windows });
  return { windows, win, spy, handler };
}

describe('electron/ipc.ts: the one IPC entry', () => {
  it('passes a good call from the app window to the core and returns {ok, result}', async () => {
    const { win, handler, spy } = setup();
    const r = await handler(eventFrom(win), 'workspace', {});
    expect(r.ok).toBe(true);
    expect(spy.call).toHaveBeenCalledWith('workspace', {});
    expect(r).toMatchObject({ ok: true, result: { mode: 'live', reader: { kind: 'virtual' } } });
    const cards = await handler(eventFrom(win), 'listCards', {});
    expect(cards.ok && Array.isArray(cards.result)).toBe(true);
  });

  it('returns plain data, as the web host sends it (JSON), and null for no result', async () => {
    const { win, windows } = setup();
    const fake = { call: async (m: unknown) => (m === 'cancel' ? undefined : { at: new Date(0), n: 1 }) };
    const handler = createCallHandler({ core: fake, windows });
    expect(await handler(eventFrom(win), 'workspace', {})).toEqual({
      ok: true,
      result: { at: '1970-01-01T00:00:00.000Z', n: 1 },
    });
    expect(await handler(eventFrom(win), 'cancel', {})).toEqual({ ok: true, result: null });
  });

  it.each([
    ['an unknown name', 'dropTables'],
    ['an inherited property', '__proto__'],
    ['a prototype method', 'toString'],
    ['a constructor', 'constructor'],
    ['a non-string', { toString: (): string => 'workspace' }],
    ['nothing', undefined],
  ])('refuses %s with UNKNOWN_METHOD before the core sees it', async (_what, method) => {
    const { win, handler, spy } = setup();
    const r = await handler(eventFrom(win), method, {});
    expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(spy.call).not.toHaveBeenCalled();
  });

  it('refuses bad arguments with BAD_ARGUMENTS (the zod schema), naming the field but not echoing the value', async () => {
    const { win, handler } = setup();
    const r = await handler(eventFrom(win), 'enterPin', { pin: '12ab5' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('BAD_ARGUMENTS');
    expect(r.error.details).toEqual([expect.objectContaining({ field: 'pin' })]);
    expect(JSON.stringify(r.error)).not.toContain('12ab5');
    for (const args of [{ extra: 1 }, 'workspace', [1, 2], { amountFen: -5, method: 'cash' }]) {
      const bad = await handler(eventFrom(win), args === 'workspace' ? 'workspace' : 'enterAmount', args);
      expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    }
  });

  it('returns other failures typed (code, zh, en) and never throws', async () => {
    const { win, handler } = setup();
    const r = await handler(eventFrom(win), 'insertCard', { cardId: 'no-such-card' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toEqual(expect.objectContaining({ code: expect.any(String), zh: expect.any(String) }));
    expect(r.error.en).toEqual(expect.any(String));
    const w = setup();
    const direct = createCallHandler({
      core: {
        call: async () => {
          throw new Error('boom');
        },
      },
      windows: w.windows,
    });
    expect(await direct(eventFrom(w.win), 'workspace', {})).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', en: 'internal error: boom' },
    });
  });
});

describe('electron/ipc.ts: only the app window may call', () => {
  it('refuses a web contents this main process did not create', async () => {
    const { handler, spy } = setup();
    const stranger = fakeContents();
    const r = await handler(eventFrom(stranger), 'workspace', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(spy.call).not.toHaveBeenCalled();
  });

  it('refuses a subframe of the app window', async () => {
    const { win, handler, spy } = setup();
    const r = await handler(eventFrom(win, { url: APP_URL, parent: { url: APP_URL } }), 'workspace', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(spy.call).not.toHaveBeenCalled();
  });

  it.each([
    'https://evil.example/index.html',
    'http://127.0.0.1:5180/',
    'file:///work/main/dist/renderer/index.html',
    'app://other/index.html',
    'app://sscard.evil/index.html',
    'app://user@sscard/index.html',
    'about:blank',
    'data:text/html,<script>1</script>',
    '',
  ])('refuses the app window when its frame shows %s', async (url) => {
    const { win, handler, spy } = setup();
    const r = await handler(eventFrom(win, { url }), 'workspace', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(spy.call).not.toHaveBeenCalled();
  });

  it('refuses a call whose frame is gone (navigated or destroyed mid-call)', async () => {
    const { win, handler } = setup();
    expect(await handler(eventFrom(win, null), 'workspace', {})).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED', en: 'call refused: the sending frame is gone' },
    });
  });

  it('refuses a call whose frame throws when read (disposed)', async () => {
    const { win, handler, spy } = setup();
    const disposed = {
      sender: { id: win.id },
      get senderFrame(): never {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
    };
    expect(await handler(disposed, 'workspace', {})).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    expect(spy.call).not.toHaveBeenCalled();
  });

  it('forgets a window once destroyed (ids are not trusted after that)', async () => {
    const { win, windows, handler } = setup();
    expect(windows.has(win)).toBe(true);
    win.destroy();
    expect(windows.has(win)).toBe(false);
    expect(windows.size).toBe(0);
    expect(await handler(eventFrom(win), 'workspace', {})).toMatchObject({ ok: false });
  });

  it('explains each refusal in both languages', () => {
    const windows = new AppWindows();
    const win = fakeContents();
    windows.track(win);
    expect(senderProblem(eventFrom(win), windows)).toBeNull();
    expect(senderProblem(eventFrom(fakeContents()), windows)).toBe('foreign-window');
    expect(senderProblem(eventFrom(win, { parent: {} }), windows)).toBe('subframe');
    expect(senderProblem(eventFrom(win, { url: 'https://x.example/' }), windows)).toBe('foreign-page');
    expect(senderProblem(eventFrom(win, null), windows)).toBe('frame-gone');
  });
});

describe('electron/ipc.ts: registerIpc', () => {
  function fakeIpcMain() {
    const handlers = new Map<string, (...a: unknown[]) => unknown>();
    return {
      handlers,
      handle: vi.fn((channel: string, fn: (...a: unknown[]) => unknown) => {
        handlers.set(channel, fn);
      }),
      removeHandler: vi.fn((channel: string) => {
        handlers.delete(channel);
      }),
    };
  }

  it('handles sscard:call only, and forwards core events on sscard:event to app windows only', async () => {
    const ipcMain = fakeIpcMain();
    const windows = new AppWindows();
    const app = fakeContents();
    const elsewhere = fakeContents('https://evil.example/');
    windows.track(app);
    windows.track(elsewhere);
    const listeners = new Set<(e: CoreEvent) => void>();
    const fakeCore = {
      call: vi.fn(async () => ({ fine: true })),
      subscribe: (l: (e: CoreEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const dispose = registerIpc({ ipcMain: ipcMain as never, core: fakeCore, windows });
    expect([...ipcMain.handlers.keys()]).toEqual([CHANNELS.call]);
    expect(CHANNELS).toEqual({ call: 'sscard:call', event: 'sscard:event' });

    const handler = ipcMain.handlers.get(CHANNELS.call)!;
    expect(await handler(eventFrom(app), 'workspace', {})).toEqual({ ok: true, result: { fine: true } });
    expect(await handler(eventFrom(fakeContents()), 'workspace', {})).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    expect(fakeCore.call).toHaveBeenCalledTimes(1);

    for (const l of listeners) l({ type: 'books-changed' });
    expect(app.sent).toEqual([[CHANNELS.event, { type: 'books-changed' }]]);
    expect(elsewhere.sent).toEqual([]);

    dispose();
    expect(ipcMain.removeHandler).toHaveBeenCalledWith(CHANNELS.call);
    expect(listeners.size).toBe(0);
  });

  it('forwards real core events to the app window', async () => {
    const ipcMain = fakeIpcMain();
    const windows = new AppWindows();
    const app = fakeContents();
    windows.track(app);
    const dispose = registerIpc({ ipcMain: ipcMain as never, core, windows });
    const call = ipcMain.handlers.get(CHANNELS.call)!;
    expect(await call(eventFrom(app), 'startTraining', {})).toMatchObject({ ok: true });
    expect(await call(eventFrom(app), 'endTraining', {})).toMatchObject({ ok: true });
    dispose();
    expect(app.sent.every(([channel]) => channel === CHANNELS.event)).toBe(true);
    const types = app.sent.map(([, e]) => (e as CoreEvent).type);
    expect(types).toEqual(expect.arrayContaining(['workspace', 'reader', 'till', 'books-changed']));
  });
});
