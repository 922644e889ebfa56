import { z } from 'zod';
import { method, type MethodContext } from './define.ts';
import { readerView, requireCard } from './wallet-api.ts';
import type { FaultState } from '../faults/controls.ts';
import type { HostFault } from '../host/faulty-host.ts';

export type { FaultState } from '../faults/controls.ts';

const APDU_INDEX = z.number().int().min(1).max(10_000);

const readerPlan = z
  .object({ removeCardAtApdu: APDU_INDEX.optional(), detachReaderAtApdu: APDU_INDEX.optional() })
  .strict();

const hostFault = z.union([
  z.null(),
  z
    .object({
      kind: z.literal('error'),
      code: z.enum(['DECLINED', 'INTERNAL']).optional(),
      message: z.string().min(1).max(200).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('drop-after-apply') }).strict(),
]);

const corruption = z
  .object({
    file: z.enum(['EF05', 'EF06']),
    record: z.number().int().min(1).max(254),
    mode: z.enum(['flip', 'truncate', 'garbage']).optional(),
  })
  .strict();

function state(ctx: MethodContext): FaultState {
  return ctx.ws().faults.state();
}

/** The reader's presence may have changed (detached, back): the screens redraw the slot. */
function readerChanged(ctx: MethodContext): void {
  ctx.emit({ type: 'reader', reader: readerView(ctx.ws()) });
}

/**
 * Fault injection (故障注入), for training and QA: the reader (card pulled or reader gone at the
 * n-th APDU), the host (error answers, lost answers) and the card's chip (corrupted records).
 * Faults belong to the workspace in use and are gone with it.
 */
export const faultMethods = {
  faultState: method(z.object({}).strict(), (ctx) => state(ctx)),

  /**
   * Arms reader faults, counted from now in APDUs (1-based): the card pulled as the n-th APDU
   * is sent, or the reader detached at the n-th APDU. An empty plan disarms.
   */
  setReaderFaults: method(readerPlan, (ctx, plan) => {
    ctx.ws().faults.setReaderFaults({
      ...(plan.removeCardAtApdu !== undefined ? { removeCardAtApdu: plan.removeCardAtApdu } : {}),
      ...(plan.detachReaderAtApdu !== undefined ? { detachReaderAtApdu: plan.detachReaderAtApdu } : {}),
    });
    return state(ctx);
  }),

  /** Plugs a detached reader back in (a card in it is then read again). */
  reattachReader: method(z.object({}).strict(), (ctx) => {
    ctx.ws().faults.reattachReader();
    readerChanged(ctx);
    return state(ctx);
  }),

  /** The host answers with errors, or applies and loses its answers; null heals it. */
  setHostFault: method(z.object({ fault: hostFault }).strict(), (ctx, { fault }) => {
    ctx.ws().faults.setHostFault(fault as HostFault);
    return state(ctx);
  }),

  /** Corrupts records of a card's EF05/EF06 from its next insertion on; [] heals the card. */
  corruptCardRecords: method(
    z.object({ cardId: z.string().min(1).max(64), corruptions: z.array(corruption).max(16) }).strict(),
    (ctx, { cardId, corruptions }) => {
      requireCard(ctx.ws(), cardId);
      ctx.ws().faults.corruptCard(cardId, corruptions);
      return state(ctx);
    },
  ),

  /** Every fault off: reader plan dropped and reader back, host healthy, cards healthy. */
  clearFaults: method(z.object({}).strict(), (ctx) => {
    ctx.ws().faults.clear();
    readerChanged(ctx);
    return state(ctx);
  }),
};
