import { chipSerialFromAtr } from '../../card/atr.ts';
import { CounterPinKey } from '../../card/psam.ts';
import {
  changePin,
  getChallenge,
  reloadPinCommand,
  unblockPinCommand,
} from '../../terminal/card-commands.ts';
import { swText, type CheckContext, type PinStart } from '../context.ts';

/**
 * What the PIN checks (verify, change, reload, unblock and the PIN pulls) share: the
 * commands with the bank counter's test key, a temporary PIN, and the "right PIN still
 * works, counter as expected" endings that leave a card as it was found.
 */

/** CHANGE PIN old → new, as the terminal module builds it (80 5E 01 00, old ‖ FF ‖ new). */
export const changeCommand = (oldPin: string, newPin: string): Uint8Array => changePin(oldPin, newPin);

/** A six-digit PIN to change to and back from: never the card's, never 123456. */
export function tempPin(pin: string): string {
  return ['147258', '258369', '369147'].find((p) => p !== pin)!;
}

export function counterKeyParts(ctx: CheckContext): Uint8Array {
  const serial = chipSerialFromAtr(ctx.facts.atr);
  if (!serial) ctx.fail('the ATR carries no chip serial for key diversification');
  return serial;
}

export async function unblockCommand(ctx: CheckContext): Promise<Uint8Array> {
  const serial = counterKeyParts(ctx);
  const challenge = (await ctx.expect('GET CHALLENGE', getChallenge(8), 0x9000)).data;
  return unblockPinCommand(new CounterPinKey(), ctx.facts.algorithm, serial, challenge);
}

export async function reloadCommand(ctx: CheckContext, pin: string): Promise<Uint8Array> {
  const serial = counterKeyParts(ctx);
  const challenge = (await ctx.expect('GET CHALLENGE', getChallenge(8), 0x9000)).data;
  return reloadPinCommand(new CounterPinKey(), ctx.facts.algorithm, serial, challenge, pin);
}

export function corruptMac(cmd: Uint8Array): Uint8Array {
  const out = new Uint8Array(cmd);
  out[out.length - 1] = out[out.length - 1]! ^ 0x5a;
  return out;
}

/** The right PIN must be accepted (9000, or 6985 for a gen 3 initial PIN). */
export async function verifyRight(
  ctx: CheckContext,
  start: PinStart,
  what = 'VERIFY with the right PIN',
): Promise<void> {
  const sw = await ctx.verify(ctx.requirePin());
  if (!ctx.rightPinOk(start, sw)) ctx.fail(`${what}: card answered ${swText(sw)}`);
}

export async function expectCounter(ctx: CheckContext, what: string, expected: number | null): Promise<void> {
  if (expected === null) return;
  const left = await ctx.triesLeft();
  if (left !== expected) ctx.fail(`${what}: ${left ?? 'unknown'} tries left, expected ${expected}`);
}

export const VIRTUAL_KEYS =
  'needs the bank counter’s PIN key: only SSCard Lab’s virtual cards use the simulator’s test keys';
