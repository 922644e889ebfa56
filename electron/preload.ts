import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { PreloadBridge } from '../renderer/api-client.ts';
import type { CoreEvent } from '../core/api/events.ts';
import { CHANNELS } from './window-options.ts';

/*
 * The sandboxed preload: bundled into one CommonJS file (dist/electron/preload.cjs) whose only
 * require is `electron`. It gives the page exactly two functions, never ipcRenderer itself or
 * an IPC event object (whose `sender` would let the page send on any channel).
 */
const bridge: PreloadBridge = {
  call(method, args) {
    return ipcRenderer.invoke(CHANNELS.call, String(method), args) as ReturnType<PreloadBridge['call']>;
  },
  onEvent(listener) {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
    const forward = (_event: IpcRendererEvent, e: CoreEvent) => listener(e);
    ipcRenderer.on(CHANNELS.event, forward);
    return () => {
      ipcRenderer.removeListener(CHANNELS.event, forward);
    };
  },
};

contextBridge.exposeInMainWorld('sscard', Object.freeze(bridge));
