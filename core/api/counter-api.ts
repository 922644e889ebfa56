import { z } from 'zod';
import { changePin, onVirtualCard, unblockPin } from '../bank/pin-services.ts';
import { method, type MethodContext } from './define.ts';

const cardId = z.string().min(1).max(64);
const pin = z.string().regex(/^[0-9]{6}$/, { message: 'a PIN is six digits' });

/**
 * The holder brings the card to the counter: a card still in the till's reader is taken out
 * first (one card cannot sit in two readers), and the counter works on the same chip memory.
 */
async function atCounter<T>(ctx: MethodContext, id: string, fn: Parameters<typeof onVirtualCard<T>>[1]) {
  const ws = ctx.ws();
  const card = ws.card(id);
  const tookFromTill = ws.insertedCardId === id;
  if (tookFromTill) {
    ws.remove();
    ctx.emit({
      type: 'reader',
      reader: { kind: ws.reader.kind, name: ws.reader.name, cardPresent: false, cardId: null },
    });
  }
  const result = await onVirtualCard(card, fn);
  return { ...result, tookFromTill };
}

/** The bank counter (银行网点): PIN services on the card, and the card's lifecycle. */
export const counterMethods = {
  /** 修改密码: old PIN and new PIN; the new one cannot be the initial 123456 (R1.4). */
  counterChangePin: method(
    z.object({ cardId, oldPin: pin, newPin: pin }).strict(),
    (ctx, { cardId: id, oldPin, newPin }) => atCounter(ctx, id, (r) => changePin(r, oldPin, newPin)),
    { mutates: true },
  ),

  /** 密码解锁: resets the try counter with the counter's key; the PIN itself is unchanged. */
  counterUnblock: method(
    z.object({ cardId }).strict(),
    (ctx, { cardId: id }) => atCounter(ctx, id, (r) => unblockPin(r)),
    { mutates: true },
  ),
};
