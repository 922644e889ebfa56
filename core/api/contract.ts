import type { z } from 'zod';
import type { MethodSpec } from './define.ts';
import { tillMethods } from './till-api.ts';
import { walletMethods } from './wallet-api.ts';
import { ledgerMethods } from './ledger-api.ts';
import { traceMethods } from './trace-api.ts';
import { counterMethods } from './counter-api.ts';
import { workspaceMethods } from './workspace-api.ts';
import { faultMethods } from './fault-api.ts';
import { readerServiceMethods } from './reader-service-api.ts';

/**
 * The one Api every front end uses: the renderer over Electron IPC or the web host's
 * WebSocket, the tests in-process. Each method has an argument schema checked at the
 * boundary; the method names are a closed list.
 */
export const METHODS = {
  ...tillMethods,
  ...walletMethods,
  ...ledgerMethods,
  ...traceMethods,
  ...counterMethods,
  ...workspaceMethods,
  ...faultMethods,
  ...readerServiceMethods,
} as const;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.freeze(Object.keys(METHODS)) as readonly MethodName[];

type Spec<M extends MethodName> = (typeof METHODS)[M];
export type ArgsOf<M extends MethodName> = Spec<M> extends MethodSpec<infer A, unknown> ? z.input<A> : never;
export type ResultOf<M extends MethodName> =
  Spec<M> extends MethodSpec<z.ZodType, infer R> ? Awaited<R> : never;

/** The typed Api: one async function per method. */
export type Api = { [M in MethodName]: (args: ArgsOf<M>) => Promise<ResultOf<M>> };

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(METHODS, name);
}
