import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type {
  CoreEvent,
  ReaderServiceView,
  ReaderView,
  TillView,
  WorkspaceView,
} from '../core/api/events.ts';
import type { TraceEntry } from '../core/api/events.ts';
import type { Client } from './api-client.ts';

/** The screens' live picture of the core, kept current by its events. */
export interface LiveSnapshot {
  till: TillView | null;
  reader: ReaderView | null;
  workspace: WorkspaceView | null;
  trace: readonly TraceEntry[];
  /** 读卡服务: whether the app serves its reader to HIS software, and a PIN it waits for. */
  service: ReaderServiceView | null;
  /** Bumped whenever the books or the cards change: ledger and wallet views refetch on it. */
  booksVersion: number;
}

const TRACE_KEEP = 2000;

export class LiveState {
  private snap: LiveSnapshot = {
    till: null,
    reader: null,
    workspace: null,
    trace: [],
    service: null,
    booksVersion: 0,
  };
  private readonly listeners = new Set<() => void>();

  constructor(readonly client: Client) {}

  /** Loads the first picture, then follows the events. */
  async start(): Promise<void> {
    this.client.onEvent((e) => this.apply(e));
    const [till, reader, workspace, trace, service] = await Promise.all([
      this.client.call('tillState', {}),
      this.client.call('readerState', {}),
      this.client.call('workspace', {}),
      this.client.call('trace', {}),
      this.client.call('readerServiceState', {}),
    ]);
    this.set({ till, reader, workspace, trace: trace.slice(-TRACE_KEEP), service });
  }

  apply(e: CoreEvent): void {
    switch (e.type) {
      case 'till':
        return this.set({ till: e.till });
      case 'reader':
        return this.set({ reader: e.reader, booksVersion: this.snap.booksVersion + 1 });
      case 'workspace':
        return this.set({ workspace: e.workspace, reader: e.workspace.reader });
      case 'trace': {
        const trace = [...this.snap.trace, e.entry];
        return this.set({ trace: trace.length > TRACE_KEEP ? trace.slice(-TRACE_KEEP) : trace });
      }
      case 'trace-cleared':
        return this.set({ trace: [] });
      case 'books-changed':
        return this.set({ booksVersion: this.snap.booksVersion + 1 });
      case 'reader-service':
        return this.set({ service: e.service });
      case 'reader-service-pin':
        return this.snap.service
          ? this.set({ service: { ...this.snap.service, waiting: e.request } })
          : undefined;
      case 'reader-service-pin-done':
        return this.snap.service ? this.set({ service: { ...this.snap.service, waiting: null } }) : undefined;
    }
  }

  patchWorkspace(patch: Partial<WorkspaceView>): void {
    if (this.snap.workspace) this.set({ workspace: { ...this.snap.workspace, ...patch } });
  }

  private set(patch: Partial<LiveSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l();
  }

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  get = () => this.snap;
}

export const LiveContext = createContext<LiveState | null>(null);

export function useLiveState(): LiveState {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside <LiveContext>');
  return live;
}

/** The live snapshot (re-renders on every core event). */
export function useLive(): LiveSnapshot {
  const live = useLiveState();
  return useSyncExternalStore(live.subscribe, live.get);
}

export function useClient(): Client {
  return useLiveState().client;
}

/**
 * Calls an Api query and re-runs it whenever the books change (or `deps` do). Returns
 * [data, error, reload].
 */
export function useQuery<T>(
  load: (c: Client) => Promise<T>,
  deps: unknown[] = [],
): [T | null, Error | null, () => void] {
  const client = useClient();
  const { booksVersion } = useLive();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    load(client).then(
      (d) => {
        if (alive) {
          setData(d);
          setError(null);
        }
      },
      (e: unknown) => {
        if (alive) setError(e instanceof Error ? e : new Error(String(e)));
      },
    );
    return () => {
      alive = false;
    };
  }, [client, booksVersion, tick, ...deps]);
  return [data, error, () => setTick((n) => n + 1)];
}
