import { RC } from './codes.ts';
import { failWith } from './card-access.ts';
import type { InterfaceContext } from './context.ts';
import type { PinPrompt } from './pin-pad.ts';

/** The initial PIN cards are issued with (R1.4): never accepted as a new PIN (-36). */
export const INITIAL_PIN = '123456';

/**
 * One PIN from the holder: cancel → -31, no entry in time → -32, not pinLength digits → -33.
 * The PIN is returned to the function that sends it to the card, and to nobody else.
 */
export async function takePin(
  ctx: InterfaceContext,
  functionName: string,
  prompt: PinPrompt,
): Promise<string> {
  const entry = await ctx.pinPad.read({ functionName, prompt });
  if (entry.kind === 'cancel') failWith(RC.PIN_CANCELLED, 'the holder cancelled the PIN entry');
  if (entry.kind === 'timeout') failWith(RC.PIN_TIMEOUT, 'no PIN was entered in time');
  const n = ctx.settings.pinLength;
  if (!new RegExp(`^[0-9]{${n}}$`).test(entry.pin)) failWith(RC.PIN_LENGTH, `the PIN must be ${n} digits`);
  return entry.pin;
}

/** A new PIN typed twice: different → -34, the initial PIN → -36. */
export async function takeNewPin(ctx: InterfaceContext, functionName: string): Promise<string> {
  const first = await takePin(ctx, functionName, 'new-pin');
  const again = await takePin(ctx, functionName, 'new-pin-again');
  if (first !== again) failWith(RC.PIN_MISMATCH, 'the new PIN and its repetition differ');
  if (first === INITIAL_PIN) failWith(RC.NEW_PIN_INITIAL, 'the new PIN cannot be the initial PIN 123456');
  return first;
}

/**
 * A PIN command's status word as the interface's code: 63Cx → -51 with the tries left in
 * pOutInfo (`x|`; 63C0, the last try spent, → -52 with `0|`); 6983 → -52; 6985 on VERIFY of
 * an unchanged initial PIN → -35; any other → its negative value.
 */
export function pinStatus(sw: number, step: string, initialMeansRefused: boolean): void {
  if (sw === 0x9000) return;
  if ((sw & 0xfff0) === 0x63c0) {
    const left = sw & 0x0f;
    if (left === 0)
      failWith(RC.PIN_BLOCKED, `${step}: wrong PIN, no tries left: the PIN is now blocked`, '0|');
    failWith(RC.WRONG_PIN, `${step}: wrong PIN, ${left} tries left`, `${left}|`);
  }
  if (sw === 0x6983) failWith(RC.PIN_BLOCKED, `${step}: the PIN is blocked`);
  if (sw === 0x6985 && initialMeansRefused)
    failWith(RC.INITIAL_PIN, `${step}: the initial PIN cannot be used for transactions (change it first)`);
  failWith(-sw, `${step}: the card answered ${sw.toString(16).toUpperCase()}`);
}
