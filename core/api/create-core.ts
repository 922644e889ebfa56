import type { z } from 'zod';
import { systemClock, type Clock } from '../time.ts';
import type { LinkState } from '../host/types.ts';
import { ProfileError } from '../card/profile.ts';
import { ReaderError } from '../../device/errors.ts';
import type { ApduTrace } from '../../device/trace.ts';
import type { CardReader } from '../../device/reader.ts';
import { ApiError, type ApiFailure, type MethodContext, type PcscAccess } from './define.ts';
import { METHODS, METHOD_NAMES, isMethodName, type Api, type MethodName } from './contract.ts';
import type { CoreEvent, TillView } from './events.ts';
import { Workspace } from './workspace.ts';
import { tillView } from '../pos/till-view.ts';
import { readerView } from './wallet-api.ts';
import { workspaceView } from './workspace-api.ts';
import { ReaderServiceController } from './reader-service.ts';

export interface CoreOptions {
  /** The live ledger (SQLite file). */
  dbPath: string;
  clock?: Clock;
  /** The card wallet folder (default: the bundled fixtures/cards). */
  walletDir?: string;
  /** PC/SC, when the host process has it (Electron main, the web host); absent in tests. */
  pcsc?: PcscAccess & { open(name: string, trace: ApduTrace): CardReader };
  link?: LinkState;
  hostTimeoutMs?: number;
  /** The central host's URL (docs/central-host.md); absent: the in-process host (the default). */
  hostUrl?: string;
  hostToken?: string;
  /** Which till this is at the central host (default T0001). */
  terminalId?: string;
}

export interface Core {
  /** The typed Api, called in-process (tests, the CLI). */
  readonly api: Api;
  /**
   * The boundary form: a method name and arguments from outside (IPC, WebSocket), checked
   * against the closed list and the method's schema. Throws ApiError.
   */
  call(method: unknown, args: unknown): Promise<unknown>;
  subscribe(listener: (e: CoreEvent) => void): () => void;
  /** The workspace in use (tests and diagnostics). */
  workspace(): Workspace;
  close(): Promise<void>;
}

/** A failure as it crosses a process boundary: never a stack, never an argument's value. */
export function toFailure(e: unknown): ApiFailure {
  if (e instanceof ApiError)
    return { code: e.code, zh: e.zh, en: e.en, ...(e.details !== undefined ? { details: e.details } : {}) };
  if (e instanceof ReaderError)
    return { code: 'READER_ERROR', zh: `读卡器错误：${e.message}`, en: e.message };
  if (e instanceof ProfileError) return { code: 'BAD_ARGUMENTS', zh: e.message, en: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', zh: `内部错误：${message}`, en: `internal error: ${message}` };
}

function badArguments(method: string, error: z.ZodError): ApiError {
  // Field paths and rules only: a PIN given in the wrong shape is not echoed back.
  const problems = error.issues.map((i) => ({
    field: i.path.join('.') || '(arguments)',
    problem: i.message,
  }));
  const text = problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
  return new ApiError(
    'BAD_ARGUMENTS',
    `${method} 参数错误：${text}`,
    `${method}: bad arguments: ${text}`,
    problems,
  );
}

/**
 * Builds the core every front end shares: Electron main, the web host, the CLI and the
 * tests. One workspace at a time (the live till, or a training sandbox); events go to every
 * subscriber.
 */
export async function createCore(options: CoreOptions): Promise<Core> {
  const clock = options.clock ?? systemClock;
  const listeners = new Set<(e: CoreEvent) => void>();
  const emit = (e: CoreEvent) => {
    for (const l of listeners) l(e);
  };

  let current: Workspace;
  let detach: () => void = () => {};
  let lastTill = '';
  let lastOutcome: TillView['last'] = null;

  const attach = (ws: Workspace) => {
    let queued = false;
    const pushTill = () => {
      queued = false;
      if (ws !== current) return;
      const view = tillView(ws.pos.terminal);
      const json = JSON.stringify(view);
      if (json === lastTill) return;
      lastTill = json;
      emit({ type: 'till', till: view });
      if (view.last && view.last !== lastOutcome) emit({ type: 'books-changed' });
      lastOutcome = view.last;
    };
    const offTerminal = ws.pos.terminal.subscribe(() => {
      if (!queued) {
        queued = true;
        queueMicrotask(pushTill);
      }
    });
    const offTrace = ws.trace.subscribe((entry) => emit({ type: 'trace', entry }));
    const onReader = () => emit({ type: 'reader', reader: readerView(ws) });
    ws.reader.on('card-inserted', onReader);
    ws.reader.on('card-removed', onReader);
    detach = () => {
      offTerminal();
      offTrace();
      ws.reader.off('card-inserted', onReader);
      ws.reader.off('card-removed', onReader);
    };
  };

  const open = (mode: 'live' | 'training', reader: string | null) =>
    new Workspace({
      mode,
      dbPath: options.dbPath,
      clock,
      ...(options.walletDir ? { walletDir: options.walletDir } : {}),
      ...(options.pcsc ? { openPcscReader: options.pcsc.open } : {}),
      pcscReader: reader,
      link: options.link ?? 'up',
      ...(options.hostTimeoutMs !== undefined ? { hostTimeoutMs: options.hostTimeoutMs } : {}),
      ...(options.hostUrl !== undefined ? { hostUrl: options.hostUrl } : {}),
      ...(options.hostToken !== undefined ? { hostToken: options.hostToken } : {}),
      ...(options.terminalId !== undefined ? { terminalId: options.terminalId } : {}),
    });

  // A live till reverses at start what a till that died owes (Workspace.recovered, in the
  // background): the books changed when it settled anything.
  const watchRecovery = (ws: Workspace) => {
    void ws.recovered.then((r) => {
      if (!r || r.reversed.length + r.neverApplied.length === 0) return;
      // After the current turn: a front end that subscribes right after createCore hears it too.
      setTimeout(() => {
        if (ws === current) emit({ type: 'books-changed' });
      }, 0);
    });
  };

  current = open('live', null);
  attach(current);
  watchRecovery(current);
  let switching: Promise<unknown> = Promise.resolve();
  const readerService = new ReaderServiceController({ ws: () => current, emit });

  const ctx: MethodContext = {
    ws: () => current,
    emit,
    readerService,
    ...(options.pcsc ? { pcsc: options.pcsc } : {}),
    switchWorkspace(next) {
      const run = switching.then(() => {
        // The service reads the card in this workspace's reader and pays at its till.
        if (readerService.isRunning)
          throw new ApiError(
            'CONFLICT',
            '读卡服务正在运行：请先停止读卡服务，再切换读卡器或培训模式',
            'The reader service is running: stop it before changing the reader or the training mode',
          );
        const mode = next.mode ?? current.mode;
        const reader =
          next.reader !== undefined
            ? next.reader
            : current.reader.kind === 'pcsc'
              ? current.reader.name
              : null;
        // Open the new workspace first: a reader that cannot be opened leaves the old one in use.
        const replacement = open(mode, reader);
        detach();
        const old = current;
        current = replacement;
        old.close();
        lastTill = '';
        lastOutcome = null;
        attach(current);
        watchRecovery(current);
        emit({ type: 'workspace', workspace: workspaceView(current) });
        emit({ type: 'reader', reader: readerView(current) });
        emit({ type: 'trace-cleared' });
        emit({ type: 'till', till: tillView(current.pos.terminal) });
        emit({ type: 'books-changed' });
        return current;
      });
      switching = run.catch(() => {});
      return run;
    },
  };

  async function call(name: unknown, args: unknown): Promise<unknown> {
    if (!isMethodName(name))
      throw new ApiError(
        'UNKNOWN_METHOD',
        `没有这个功能：${String(name).slice(0, 64)}`,
        `no such method: ${String(name).slice(0, 64)}`,
      );
    const spec = METHODS[name];
    const parsed = spec.args.safeParse(args ?? {});
    if (!parsed.success) throw badArguments(name, parsed.error);
    await switching;
    const result = await (spec.run as (c: MethodContext, a: unknown) => unknown)(ctx, parsed.data);
    if (spec.mutates) emit({ type: 'books-changed' });
    return result;
  }

  const api = Object.fromEntries(
    METHOD_NAMES.map((m: MethodName) => [m, (args: unknown) => call(m, args)]),
  ) as unknown as Api;

  return {
    api,
    call,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    workspace: () => current,
    async close() {
      await switching;
      await readerService.stop();
      detach();
      current.close();
      listeners.clear();
    },
  };
}
