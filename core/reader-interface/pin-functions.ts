import { exchange } from '../../device/exchange.ts';
import { encodePinBcd } from '../card/codec.ts';
import { fromHex } from '../card/hex.ts';
import {
  changePin,
  getChallenge,
  reloadPinCommand,
  unblockPinCommand,
  verifyPin,
} from '../terminal/card-commands.ts';
import { RC } from './codes.ts';
import {
  encryptPinBlock,
  reloadCommandWithMac,
  step1OutInfo,
  unblockCommandWithMac,
} from './card-management.ts';
import { failWith, must, openCard, type OpenedCard } from './card-access.ts';
import { checkCardInfo } from './card-info.ts';
import type { FunctionImpl, InterfaceContext, PendingHsm } from './context.ts';
import { pinStatus, takeNewPin, takePin } from './pin-entry.ts';

/**
 * The PIN functions (docs/reader-interface.md). The holder types every PIN on the PIN pad
 * (pin-pad.ts); the function turns it into the card's APDU and returns only the outcome.
 * iReloadPIN / iUnblockPIN need the bank counter's PIN key: a terminal holding it (a counter's,
 * `counterKey`) does them in one call; any other answers -24 and takes the HSM path, where the
 * card-management centre computes the command's MAC.
 */

export const iVerifyPIN: FunctionImpl = async (ctx) => {
  await openCard(ctx.reader);
  const pin = await takePin(ctx, 'iVerifyPIN', 'pin');
  const { sw } = await exchange(ctx.reader, verifyPin(pin));
  pinStatus(sw, 'VERIFY', true);
  return { pOutInfo: '' };
};

export const iChangePIN: FunctionImpl = async (ctx) => {
  await openCard(ctx.reader);
  const oldPin = await takePin(ctx, 'iChangePIN', 'old-pin');
  const newPin = await takeNewPin(ctx, 'iChangePIN');
  const { sw } = await exchange(ctx.reader, changePin(oldPin, newPin));
  pinStatus(sw, 'CHANGE PIN', false);
  return { pOutInfo: '' };
};

function needSerial(card: OpenedCard): Uint8Array {
  if (!card.serial) failWith(RC.CHECK_FAILED, 'the ATR carries no chip serial to diversify the PIN key');
  return card.serial;
}

function needCounterKey(ctx: InterfaceContext, fn: string) {
  if (!ctx.settings.psamPresent) failWith(RC.NO_PSAM, 'no PSAM in the reader');
  if (!ctx.counterKey)
    failWith(
      RC.PSAM_KEY_LEVEL,
      `${fn} needs the bank's PIN key, which this terminal's PSAM lacks: use ${fn}_HSM_Step1/2`,
    );
  return ctx.counterKey;
}

export const iReloadPIN: FunctionImpl = async (ctx, p) => {
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  const key = needCounterKey(ctx, 'iReloadPIN');
  const newPin = await takeNewPin(ctx, 'iReloadPIN');
  const challenge = await must(ctx.reader, getChallenge(8), 'GET CHALLENGE');
  const { sw } = await exchange(
    ctx.reader,
    reloadPinCommand(key, card.algorithm, needSerial(card), challenge, newPin),
  );
  pinStatus(sw, 'RELOAD PIN', false);
  return { pOutInfo: '' };
};

export const iUnblockPIN: FunctionImpl = async (ctx, p) => {
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  const key = needCounterKey(ctx, 'iUnblockPIN');
  const challenge = await must(ctx.reader, getChallenge(8), 'GET CHALLENGE');
  const { sw } = await exchange(
    ctx.reader,
    unblockPinCommand(key, card.algorithm, needSerial(card), challenge),
  );
  pinStatus(sw, 'PIN UNBLOCK', false);
  return { pOutInfo: '' };
};

/** Step 1 of reload/unblock: the card, its challenge (and for reload the PIN pad's PIN block). */
async function pinStep1(
  ctx: InterfaceContext,
  card: OpenedCard,
  operation: 'reload' | 'unblock',
  newPin: string | null,
) {
  const serial = needSerial(card);
  const challenge = await must(ctx.reader, getChallenge(8), 'GET CHALLENGE');
  return step1OutInfo({
    cardId: card.cardId,
    serial,
    algorithm: card.algorithm,
    challenge,
    operation,
    version: card.version,
    region: card.cardId.slice(0, 6),
    pinBlock: newPin === null ? null : encryptPinBlock(newPin, serial),
    terminalNumber: ctx.settings.psamTerminalNumber,
  });
}

export const iReloadPIN_HSM_Step1: FunctionImpl = async (ctx, p) => {
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  if (!ctx.settings.psamPresent) failWith(RC.NO_PSAM, 'no PSAM in the reader');
  const newPin = await takeNewPin(ctx, 'iReloadPIN_HSM_Step1');
  const pOutInfo = await pinStep1(ctx, card, 'reload', newPin);
  ctx.pending = { kind: 'reload', card, newPin };
  return { pOutInfo };
};

export const iUnblockPIN_HSM_Step1: FunctionImpl = async (ctx, p) => {
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  if (!ctx.settings.psamPresent) failWith(RC.NO_PSAM, 'no PSAM in the reader');
  const pOutInfo = await pinStep1(ctx, card, 'unblock', null);
  ctx.pending = { kind: 'unblock', card };
  return { pOutInfo };
};

function takePending<K extends 'reload' | 'unblock'>(ctx: InterfaceContext, kind: K, fn: string) {
  const pending = ctx.pending;
  ctx.pending = null;
  if (!pending || pending.kind !== kind) failWith(RC.NOT_CONNECTED, `no ${fn}_HSM_Step1 before this Step 2`);
  return pending as Extract<PendingHsm, { kind: K }>;
}

/** The centre's pKey for a PIN command: its 4-byte MAC as 8 hex digits. */
function macOf(pKey: string, ctx: InterfaceContext): Uint8Array {
  if (!/^[0-9A-Fa-f]{8}$/.test(pKey)) ctx.pending = null;
  if (!/^[0-9A-Fa-f]{8}$/.test(pKey))
    failWith(RC.BAD_PARAMETER, "pKey must be the centre's 8 hex digits (the MAC)");
  return fromHex(pKey);
}

export const iReloadPIN_HSM_Step2: FunctionImpl = async (ctx, p) => {
  const mac = macOf(String(p.pKey), ctx);
  const pending = takePending(ctx, 'reload', 'iReloadPIN');
  if (!ctx.reader.cardPresent()) failWith(RC.NO_CARD, `no card in ${ctx.reader.name}`);
  const { sw } = await exchange(ctx.reader, reloadCommandWithMac(encodePinBcd(pending.newPin), mac));
  pinStatus(sw, 'RELOAD PIN', false);
  return { pOutInfo: '' };
};

export const iUnblockPIN_HSM_Step2: FunctionImpl = async (ctx, p) => {
  const mac = macOf(String(p.pKey), ctx);
  takePending(ctx, 'unblock', 'iUnblockPIN');
  if (!ctx.reader.cardPresent()) failWith(RC.NO_CARD, `no card in ${ctx.reader.name}`);
  const { sw } = await exchange(ctx.reader, unblockCommandWithMac(mac));
  pinStatus(sw, 'PIN UNBLOCK', false);
  return { pOutInfo: '' };
};

export const PIN_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  iVerifyPIN,
  iChangePIN,
  iReloadPIN,
  iReloadPIN_HSM_Step1,
  iReloadPIN_HSM_Step2,
  iUnblockPIN,
  iUnblockPIN_HSM_Step1,
  iUnblockPIN_HSM_Step2,
};
