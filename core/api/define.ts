import type { z } from 'zod';
import type { Workspace } from './workspace.ts';
import type { CoreEvent } from './events.ts';
import type { ReaderServiceController } from './reader-service.ts';

/**
 * What a method of the Api runs against: the active workspace (the live till, or the
 * training sandbox), the event channel to the screens, and the core's own controls.
 */
/** PC/SC as the core sees it: injected by the host process (Node), absent in a browser-only build. */
export interface PcscAccess {
  list(): { name: string; cardPresent: boolean; atr: string | null }[];
}

export interface MethodContext {
  ws(): Workspace;
  readonly pcsc?: PcscAccess;
  emit(event: CoreEvent): void;
  /** 读卡服务: the local reader service on this core's reader and till. */
  readonly readerService: ReaderServiceController;
  /** Replaces the active workspace (training mode, choosing a reader). */
  switchWorkspace(next: {
    mode?: 'live' | 'training';
    reader?: string | null;
    fresh?: boolean;
  }): Promise<Workspace>;
}

export interface MethodSpec<A extends z.ZodType = z.ZodType, R = unknown> {
  readonly args: A;
  /** Changes the books or the card: screens refresh their ledger views after it. */
  readonly mutates?: boolean;
  run(ctx: MethodContext, args: z.output<A>): R | Promise<R>;
}

/** Declares one Api method: its argument schema (validated at every boundary) and its body. */
export function method<A extends z.ZodType, R>(
  args: A,
  run: (ctx: MethodContext, args: z.output<A>) => R | Promise<R>,
  options: { mutates?: boolean } = {},
): MethodSpec<A, R> {
  return { args, run, ...options };
}

/** A typed failure the renderer can show: a code to branch on and bilingual words. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    readonly zh: string,
    readonly en: string,
    readonly details?: unknown,
  ) {
    super(en);
    this.name = 'ApiError';
  }
}

export type ApiErrorCode =
  | 'UNKNOWN_METHOD'
  | 'BAD_ARGUMENTS'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'READER_ERROR'
  | 'UNAUTHORIZED'
  | 'INTERNAL';

/** What crosses IPC or the WebSocket when a call fails. */
export interface ApiFailure {
  code: ApiErrorCode;
  zh: string;
  en: string;
  details?: unknown;
}
