import { z } from 'zod';
import { businessDate } from '../time.ts';
import { method } from './define.ts';
import type { WorkspaceView } from './events.ts';
import { readerView } from './wallet-api.ts';
import type { Workspace } from './workspace.ts';
import { DEFAULT_MERCHANT_NAME } from '../pos/terminal.ts';

export function workspaceView(ws: Workspace): WorkspaceView {
  return {
    mode: ws.mode,
    reader: readerView(ws),
    hostLink: ws.pos.host.link,
    terminalId: ws.pos.ledger.terminalId,
    merchantName: DEFAULT_MERCHANT_NAME,
    businessDate: businessDate(ws.pos.clock()),
  };
}

/**
 * The workspace: the live books, or training mode (培训模式) on a throw-away sandbox where
 * every demonstration starts from the bundled cards as shipped.
 */
export const workspaceMethods = {
  workspace: method(z.object({}).strict(), (ctx) => workspaceView(ctx.ws())),

  /** Enters training mode on a fresh sandbox (again: a fresh one). */
  startTraining: method(z.object({}).strict(), async (ctx) =>
    workspaceView(await ctx.switchWorkspace({ mode: 'training', fresh: true })),
  ),

  /** Back to the live till; the sandbox is thrown away. */
  endTraining: method(z.object({}).strict(), async (ctx) =>
    workspaceView(await ctx.switchWorkspace({ mode: 'live' })),
  ),

  /** PC/SC readers seen by pcscd (empty when PC/SC is not available). */
  listPcscReaders: method(z.object({}).strict(), (ctx) => ctx.pcsc?.list() ?? []),
};
