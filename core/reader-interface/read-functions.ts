import type { CardReader } from '../../device/reader.ts';
import { fromHex } from '../card/hex.ts';
import { isSimulatedCard } from '../terminal/read-card.ts';
import { getChallenge } from '../terminal/card-commands.ts';
import { RC } from './codes.ts';
import { step1OutInfo } from './card-management.ts';
import {
  authenticateWith,
  failWith,
  itemText,
  ITEM_FORMATS,
  must,
  openCard,
  readItem,
  type OpenedCard,
} from './card-access.ts';
import {
  fields,
  type FileItem,
  type FunctionImpl,
  type InterfaceContext,
  type PendingHsm,
} from './context.ts';
import { checkCardInfo } from './card-info.ts';

/**
 * iReadCardBas, iReadCard and their HSM steps (docs/reader-interface.md). The output of
 * iReadCardBas, 11 fields each followed by `|`:
 *   发卡地区行政区划代码 | 社会保障号码 | 卡号 | 卡识别码 | 姓名 | 卡复位信息 | 规范版本 |
 *   发卡日期 | 卡有效期 | 终端机编号 | 终端设备号 |
 */

interface Holder {
  ssn: string;
  name: string;
}

function basOutInfo(
  ctx: InterfaceContext,
  card: OpenedCard,
  holder: Holder | null,
  cardNumber: boolean,
): string {
  const values = [
    card.cardId.slice(0, 6),
    holder?.ssn ?? '',
    cardNumber ? card.cardNumber : '',
    card.cardId,
    holder?.name ?? '',
    card.historical,
    card.version,
    card.issueDate,
    card.expiryDate,
  ];
  if (ctx.settings.basTerminalFields) values.push(ctx.settings.psamTerminalNumber, ctx.settings.readerSerial);
  return fields(values);
}

async function readHolder(reader: CardReader, generation: 1 | 2 | 3): Promise<Holder> {
  const ssn = itemText(0x08, await readItem(reader, 6, 0x08));
  let name = itemText(0x09, await readItem(reader, 6, 0x09));
  if (generation >= 2) name += itemText(0x4e, await readItem(reader, 6, 0x4e));
  return { ssn, name };
}

/** Whether the terminal's own PSAM may open this card's EF06 (a gen 3 card of ours, a PSAM with RKSSSE). */
function psamCanAuthenticate(ctx: InterfaceContext, card: OpenedCard): boolean {
  return (
    ctx.settings.psamPresent &&
    ctx.settings.psamHoldsRksse &&
    isSimulatedCard(card.atr) &&
    card.serial !== null
  );
}

async function psamAuthenticate(ctx: InterfaceContext, card: OpenedCard): Promise<void> {
  if (card.announced === 'ssf33')
    failWith(RC.PSAM_ALGORITHM, 'the card announces SSF33, which the PSAM does not support');
  const challenge = await must(ctx.reader, getChallenge(8), 'GET CHALLENGE');
  await authenticateWith(ctx.reader, ctx.psam.externalAuthenticate(card.algorithm, card.serial!, challenge));
}

export const iReadCardBas: FunctionImpl = async (ctx) => {
  const card = await openCard(ctx.reader);
  if (card.generation !== 3)
    return { pOutInfo: basOutInfo(ctx, card, await readHolder(ctx.reader, card.generation), true) };
  if (psamCanAuthenticate(ctx, card)) {
    await psamAuthenticate(ctx, card);
    return { pOutInfo: basOutInfo(ctx, card, await readHolder(ctx.reader, 3), true) };
  }
  if (!ctx.settings.psamPresent)
    failWith(RC.NO_PSAM, 'no PSAM in the reader: a gen 3 card needs the HSM path');
  if (ctx.settings.gen3PlainRead === 'psam-code')
    failWith(RC.PSAM_NO_RKSSSE, 'the PSAM holds no RKSSSE key: read a gen 3 card through the HSM path');
  // As a real gen 3 read without the card-management keys: SSN, card number and name empty.
  return { pOutInfo: basOutInfo(ctx, card, null, false) };
};

/** Step 1 for reading: the card, its challenge, for the centre (card-management.ts has the layout). */
async function readStep1(ctx: InterfaceContext, card: OpenedCard): Promise<string> {
  if (card.generation !== 3)
    failWith(RC.HSM_NOT_NEEDED, `a gen ${card.generation} card is read without the HSM`);
  if (psamCanAuthenticate(ctx, card))
    failWith(RC.HSM_NOT_NEEDED, "the terminal's PSAM holds RKSSSE: no HSM needed");
  if (!card.serial)
    failWith(RC.CHECK_FAILED, 'the ATR carries no chip serial for the centre to diversify its key');
  if (card.announced === 'ssf33')
    failWith(
      RC.PSAM_ALGORITHM,
      'the card announces SSF33, which the card-management centre does not support',
    );
  const challenge = await must(ctx.reader, getChallenge(8), 'GET CHALLENGE');
  return step1OutInfo({
    cardId: card.cardId,
    serial: card.serial,
    algorithm: card.algorithm,
    challenge,
    operation: 'read',
    version: card.version,
    region: card.cardId.slice(0, 6),
    pinBlock: null,
    terminalNumber: ctx.settings.psamTerminalNumber,
  });
}

export const iReadCardBas_HSM_Step1: FunctionImpl = async (ctx) => {
  const card = await openCard(ctx.reader);
  const pOutInfo = await readStep1(ctx, card);
  ctx.pending = { kind: 'read-bas', card };
  return { pOutInfo };
};

/** The centre's pKey: the 16-byte EXTERNAL AUTHENTICATE cryptogram as 32 hex digits. */
function cryptogramOf(pKey: string): Uint8Array {
  if (!/^[0-9A-Fa-f]{32}$/.test(pKey)) failWith(RC.BAD_PARAMETER, "pKey must be the centre's 32 hex digits");
  return fromHex(pKey);
}

/**
 * Step 2 on the card Step 1 talked to, still powered: its challenge lives in the card's RAM,
 * so nothing may power-cycle or re-SELECT in between. EXTERNAL AUTHENTICATE with the centre's
 * cryptogram also proves it is the same card (another card's key would not match).
 */
async function step2Authenticate<K extends 'read-bas' | 'read-card'>(
  ctx: InterfaceContext,
  pKey: string,
  kind: K,
): Promise<Extract<PendingHsm, { kind: K }>> {
  const pending = ctx.pending;
  ctx.pending = null;
  const cryptogram = cryptogramOf(pKey);
  if (!pending || pending.kind !== kind)
    failWith(
      RC.NOT_CONNECTED,
      `no ${kind === 'read-bas' ? 'iReadCardBas' : 'iReadCard'}_HSM_Step1 before this Step 2`,
    );
  if (!ctx.reader.cardPresent()) failWith(RC.NO_CARD, `no card in ${ctx.reader.name}`);
  await authenticateWith(ctx.reader, cryptogram);
  return pending as Extract<PendingHsm, { kind: K }>;
}

export const iReadCardBas_HSM_Step2: FunctionImpl = async (ctx, p) => {
  const { card } = await step2Authenticate(ctx, String(p.pKey), 'read-bas');
  return { pOutInfo: basOutInfo(ctx, card, await readHolder(ctx.reader, 3), true) };
};

// ---- iReadCard: named items of EF05/EF06 ---------------------------------------------------

/**
 * pFileAddr: an optional application `SSSE|`, then one or more files `EF05|` / `EF06|`, each
 * followed by the tags of the items wanted as two hex digits: `EF05|01|07|EF06|08|09|`.
 * The output gives each item's value in the same order, each followed by `|`.
 */
export function parseFileAddr(text: string): FileItem[] | string {
  if (!text.endsWith('|')) return 'pFileAddr must end with "|" (each token followed by "|")';
  const tokens = text.slice(0, -1).split('|');
  let ef: 5 | 6 | null = null;
  const items: FileItem[] = [];
  for (const [i, raw] of tokens.entries()) {
    const t = raw.trim().toUpperCase();
    if (i === 0 && (t === 'SSSE' || t === 'DDF1')) continue;
    if (t === 'EF05' || t === 'EF06') {
      ef = t === 'EF05' ? 5 : 6;
      continue;
    }
    if (!/^[0-9A-F]{2}$/.test(t))
      return `pFileAddr token ${i + 1} ("${raw}") is not EF05, EF06 or a two-hex-digit item tag`;
    if (ef === null) return `pFileAddr item ${t} (token ${i + 1}) comes before any EF05| or EF06|`;
    const tag = parseInt(t, 16);
    const known = ITEM_FORMATS[tag];
    if (known && known.ef !== ef)
      return `pFileAddr item ${t} (token ${i + 1}) is in EF0${known.ef}, not EF0${ef}`;
    items.push({ ef, tag });
  }
  if (items.length === 0) return 'pFileAddr names no data item';
  return items;
}

async function readItems(reader: CardReader, items: readonly FileItem[]): Promise<string> {
  const out: string[] = [];
  for (const it of items) out.push(itemText(it.tag, await readItem(reader, it.ef, it.tag)));
  return fields(out);
}

function itemsOf(p: Record<string, unknown>): FileItem[] {
  const items = parseFileAddr(String(p.pFileAddr));
  if (typeof items === 'string') failWith(RC.BAD_PARAMETER, items);
  return items;
}

export const iReadCard: FunctionImpl = async (ctx, p) => {
  const items = itemsOf(p);
  const authType = Number(p.iAuthType);
  if (authType !== 0 && authType !== 1)
    failWith(RC.BAD_PARAMETER, 'iAuthType must be 0 (no authentication) or 1 (the PSAM authenticates)');
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  const holderItems = items.some((i) => i.ef === 6);
  if (authType === 1 && holderItems && card.generation === 3) {
    if (!ctx.settings.psamPresent) failWith(RC.NO_PSAM, 'no PSAM in the reader');
    if (!psamCanAuthenticate(ctx, card))
      failWith(
        RC.PSAM_NO_RKSSSE,
        'the PSAM holds no RKSSSE key: read EF06 of a gen 3 card through the HSM path',
      );
    await psamAuthenticate(ctx, card);
  }
  return { pOutInfo: await readItems(ctx.reader, items) };
};

export const iReadCard_HSM_Step1: FunctionImpl = async (ctx, p) => {
  const items = itemsOf(p);
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  const pOutInfo = await readStep1(ctx, card);
  ctx.pending = { kind: 'read-card', card, items };
  return { pOutInfo };
};

export const iReadCard_HSM_Step2: FunctionImpl = async (ctx, p) => {
  const pending = await step2Authenticate(ctx, String(p.pKey), 'read-card');
  return { pOutInfo: await readItems(ctx.reader, pending.items) };
};
