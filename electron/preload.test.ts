import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { PreloadBridge } from '../renderer/api-client.ts';
import { CHANNELS } from './window-options.ts';

// The preload runs in Electron's sandbox; here `electron` is a fake recording what it is given.
const fake = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  listeners: new Map<string, Set<(...a: unknown[]) => void>>(),
  invoke: vi.fn(async (..._a: unknown[]) => ({ ok: true, result: 42 })),
}));
vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => fake.exposed.set(key, api),
  },
  ipcRenderer: {
    invoke: fake.invoke,
    on: (channel: string, l: (...a: unknown[]) => void) => {
      if (!fake.listeners.has(channel)) fake.listeners.set(channel, new Set());
      fake.listeners.get(channel)!.add(l);
    },
    removeListener: (channel: string, l: (...a: unknown[]) => void) => fake.listeners.get(channel)?.delete(l),
  },
}));

let bridge: PreloadBridge;
beforeAll(async () => {
  await import('./preload.ts');
  bridge = fake.exposed.get('sscard') as PreloadBridge;
});

describe('electron/preload.ts', () => {
  it('exposes one frozen object, window.sscard, with call and onEvent only', () => {
    expect([...fake.exposed.keys()]).toEqual(['sscard']);
    expect(Object.keys(bridge).sort()).toEqual(['call', 'onEvent']);
    expect(Object.isFrozen(bridge)).toBe(true);
  });

  it('sends calls on sscard:call with the method name and arguments', async () => {
    expect(await bridge.call('workspace', {})).toEqual({ ok: true, result: 42 });
    expect(fake.invoke).toHaveBeenCalledWith(CHANNELS.call, 'workspace', {});
    await bridge.call({ toString: () => 'listCards' } as unknown as string, undefined);
    expect(fake.invoke).toHaveBeenLastCalledWith(CHANNELS.call, 'listCards', undefined);
  });

  it('hands listeners the core event only, never the IPC event, and unsubscribes', () => {
    const seen: unknown[][] = [];
    const off = bridge.onEvent((...a: unknown[]) => seen.push(a));
    const ipcEvent = { sender: { send: () => {} }, ports: [] };
    for (const l of fake.listeners.get(CHANNELS.event)!) l(ipcEvent, { type: 'books-changed' });
    expect(seen).toEqual([[{ type: 'books-changed' }]]);
    off();
    expect(fake.listeners.get(CHANNELS.event)!.size).toBe(0);
    expect(() => bridge.onEvent('x' as never)).toThrow(TypeError);
  });
});
