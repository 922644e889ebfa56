import { z } from 'zod';
import { MAX_AMOUNT_FEN } from '../../state-machines/types.ts';
import { ApiError, method, type MethodContext } from './define.ts';
import { tillView } from '../pos/till-view.ts';
import type { TillView } from './events.ts';
import { workspaceView } from './workspace-api.ts';

const SETTLE_MS = 20_000;

async function settledView(ctx: MethodContext): Promise<TillView> {
  const t = ctx.ws().pos.terminal;
  await t.settled(SETTLE_MS);
  return tillView(t);
}

async function requireWaiting(
  ctx: MethodContext,
  waitingFor: TillView['waitingFor'][],
  zh: string,
  en: string,
): Promise<void> {
  // A card just inserted is still being read: wait for the till to settle before judging.
  await ctx.ws().pos.terminal.settled(SETTLE_MS);
  const now = tillView(ctx.ws().pos.terminal);
  if (!waitingFor.includes(now.waitingFor)) throw new ApiError('CONFLICT', zh, en, { state: now.state });
}

/** The till (收银台): what the operator keys in and the holder types on the PIN pad. */
export const tillMethods = {
  tillState: method(z.object({}).strict(), (ctx) => tillView(ctx.ws().pos.terminal)),

  enterAmount: method(
    z
      .object({
        amountFen: z.number().int().positive().max(MAX_AMOUNT_FEN),
        method: z.enum(['medical', 'reserve']),
      })
      .strict(),
    async (ctx, { amountFen, method: payWith }) => {
      await requireWaiting(
        ctx,
        ['amount'],
        '终端现在不需要输入金额',
        'The till is not asking for an amount now',
      );
      ctx.readerService.assertReaderFree();
      ctx.ws().pos.terminal.send({ type: 'AMOUNT_ENTERED', amountFen, method: payWith });
      return settledView(ctx);
    },
    { mutates: true },
  ),

  /** The PIN (gen 3) or transaction password (gen 2), from the PIN pad. Never logged. */
  enterPin: method(
    z.object({ pin: z.string().regex(/^[0-9]{6}$/, { message: 'the PIN pad sends six digits' }) }).strict(),
    async (ctx, { pin }) => {
      await requireWaiting(
        ctx,
        ['pin', 'password'],
        '终端现在不需要输入密码',
        'The till is not asking for a PIN now',
      );
      ctx.readerService.assertReaderFree();
      ctx.ws().pos.terminal.send({ type: 'PIN_ENTERED', pin });
      return settledView(ctx);
    },
    { mutates: true },
  ),

  /** 返回改金额 (Esc at the PIN pad): back to the amount while the PIN or password is asked for; the sale goes on. */
  editAmount: method(
    z.object({}).strict(),
    async (ctx) => {
      await requireWaiting(
        ctx,
        ['pin', 'password'],
        '终端现在不在等待密码，不能返回修改金额',
        'The till is not asking for a PIN now: there is no amount to go back to',
      );
      ctx.ws().pos.terminal.send({ type: 'EDIT_AMOUNT' });
      return settledView(ctx);
    },
    { mutates: true },
  ),

  /** 取消 (Esc): ends the session; an interrupted debit is reversed by the machine. */
  cancel: method(z.object({}).strict(), async (ctx) => {
    ctx.ws().pos.terminal.send({ type: 'CANCEL' });
    return settledView(ctx);
  }),

  /** The link to the bank and the medical insurance centre: up, down, or slow (past the timeout). */
  setHostLink: method(z.object({ link: z.enum(['up', 'down', 'slow']) }).strict(), (ctx, { link }) => {
    ctx.ws().pos.host.setLink(link);
    ctx.emit({ type: 'workspace', workspace: workspaceView(ctx.ws()) });
    return { link };
  }),
};
