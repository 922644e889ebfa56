/**
 * The standard reader interface (读卡器通用接口, LD/T 6001.5) over any CardReader — the
 * in-process virtual reader, a card served into pcscd through vpcd, a real PC/SC reader —
 * built on the terminal-side card commands (core/terminal). One implementation behind the
 * three faces: the local service (`sscard driver serve`), the C library (libSSCardDriver.so,
 * which forwards to the service) and the TypeScript API (scenario steps).
 *
 * The agreed signature:
 *
 *   const session = createReaderInterface({ reader, pinPad?, cardManagement?, till?, counterKey?,
 *                                           psam?, clock?, settings? });
 *   const r = await session.call({ function: 'iReadCardBas', iType: 1 });
 *   // r = { functionName: 'iReadCardBas', code: 0, pOutInfo: '440100|…|', outputs?: {…}, detail?: '…' }
 *
 * - `request.function` names the function (READER_FUNCTIONS); the other keys are its
 *   parameters by their C names (READER_FUNCTION_PARAMS): ints as numbers (or digit strings,
 *   as some front ends send them), strings as strings. Keys the function does not take are
 *   ignored.
 * - `code` is 0 on success (a transport renders success as "1") or the reference's negative
 *   code; a status word the card answered comes back as its negative value. Unknown function
 *   → -13, a missing or ill-typed parameter → -14. `call` never throws and never rejects.
 * - `pOutInfo` is the text fields, each followed by `|`; empty on failure except where a code
 *   carries data (-51: the tries left, `2|`). `outputs` holds the other output buffers
 *   (iGetCardType: pCardType; iGetReaderInfo: pReaderSN, pPsamTermNo). `detail` says in
 *   English why a call failed (never a PIN).
 * - Calls on one session run one at a time, in the order made (one card, one reader).
 */
import type { CardReader } from '../../device/reader.ts';
import { PsamSimulator, type CounterPinKey } from '../card/psam.ts';
import { systemClock, type Clock } from '../time.ts';
import { CardManagementCentre } from './card-management.ts';
import { InterfaceFailure, readerFailure } from './card-access.ts';
import { RC } from './codes.ts';
import type { DebitTill, FunctionImpl, InterfaceContext, Params } from './context.ts';
import { functionSpec } from './functions.ts';
import { iGetCardType, iGetReaderInfo } from './info-functions.ts';
import { VirtualPinPad, type PinPad } from './pin-pad.ts';
import {
  iReadCard,
  iReadCard_HSM_Step1,
  iReadCard_HSM_Step2,
  iReadCardBas,
  iReadCardBas_HSM_Step1,
  iReadCardBas_HSM_Step2,
} from './read-functions.ts';
import { PIN_FUNCTIONS } from './pin-functions.ts';
import { iDoDebit, iReadDebitRecord } from './debit-functions.ts';
import {
  parseSettings,
  type ReaderInterfaceSettings,
  type ReaderInterfaceSettingsInput,
} from './settings.ts';

export interface ReaderInterfaceRequest {
  function: string;
  [param: string]: unknown;
}

export interface ReaderInterfaceResult {
  functionName: string;
  code: number;
  pOutInfo: string;
  outputs?: Record<string, string>;
  detail?: string;
}

export interface ReaderInterfaceOptions {
  reader: CardReader;
  /** Where PINs come from (default: a VirtualPinPad with a 30 s timeout). */
  pinPad?: PinPad;
  /** The card-management centre transports answer /cardmgmt/auth with (default: one with the test keys). */
  cardManagement?: CardManagementCentre;
  /** The till iDoDebit pays through and iReadDebitRecord reads; without it both answer -13. */
  till?: DebitTill;
  /** The bank counter's PIN key: with it iReloadPIN and iUnblockPIN work without the HSM. */
  counterKey?: CounterPinKey;
  psam?: PsamSimulator;
  clock?: Clock;
  settings?: ReaderInterfaceSettingsInput;
}

export interface ReaderInterface {
  call(request: unknown): Promise<ReaderInterfaceResult>;
  readonly reader: CardReader;
  readonly pinPad: PinPad;
  readonly cardManagement: CardManagementCentre;
  readonly settings: ReaderInterfaceSettings;
}

const IMPLEMENTATIONS: Readonly<Record<string, FunctionImpl>> = {
  iReadCardBas,
  iReadCardBas_HSM_Step1,
  iReadCardBas_HSM_Step2,
  iReadCard,
  iReadCard_HSM_Step1,
  iReadCard_HSM_Step2,
  ...PIN_FUNCTIONS,
  iDoDebit,
  iReadDebitRecord,
  iGetCardType,
  iGetReaderInfo,
};

/** The request's parameters checked against the function's spec, or why not. */
export function checkParams(name: string, request: Record<string, unknown>): Params | string {
  const spec = functionSpec(name)!;
  const out: Record<string, number | string> = {};
  for (const p of spec.params) {
    const v = request[p.name];
    if (v === undefined || v === null) return `${name}: parameter ${p.name} is missing`;
    if (p.kind === 'int') {
      const n = typeof v === 'string' && /^-?[0-9]{1,9}$/.test(v.trim()) ? Number(v.trim()) : v;
      if (typeof n !== 'number' || !Number.isInteger(n))
        return `${name}: parameter ${p.name} must be an integer`;
      out[p.name] = n;
    } else {
      if (typeof v !== 'string') return `${name}: parameter ${p.name} must be a string`;
      if (v.length > 4096) return `${name}: parameter ${p.name} is longer than 4,096 characters`;
      out[p.name] = v;
    }
  }
  if ('iType' in out && ![1, 2, 3, 4].includes(out.iType as number))
    return `${name}: iType must be 1 (contact), 2 (contactless), 3 or 4 (search), not ${out.iType}`;
  return out;
}

export function createReaderInterface(options: ReaderInterfaceOptions): ReaderInterface {
  const settings = parseSettings(options.settings ?? {});
  const pinPad = options.pinPad ?? new VirtualPinPad();
  const cardManagement = options.cardManagement ?? new CardManagementCentre();
  const ctx: InterfaceContext = {
    reader: options.reader,
    pinPad,
    settings,
    psam: options.psam ?? new PsamSimulator(),
    counterKey: options.counterKey ?? null,
    till: options.till ?? null,
    clock: options.clock ?? options.till?.pos.clock ?? systemClock,
    pending: null,
  };
  let queue: Promise<unknown> = Promise.resolve();

  async function run(request: unknown): Promise<ReaderInterfaceResult> {
    const result = (functionName: string, code: number, detail?: string): ReaderInterfaceResult =>
      detail === undefined
        ? { functionName, code, pOutInfo: '' }
        : { functionName, code, pOutInfo: '', detail };
    if (typeof request !== 'object' || request === null || Array.isArray(request))
      return result('', RC.BAD_PARAMETER, 'the request must be an object {"function": "<name>", …}');
    const req = request as Record<string, unknown>;
    const name = req.function;
    if (typeof name !== 'string' || name === '')
      return result('', RC.BAD_PARAMETER, 'the request has no "function" naming the interface function');
    const impl = Object.hasOwn(IMPLEMENTATIONS, name) ? IMPLEMENTATIONS[name] : undefined;
    if (!impl || !functionSpec(name))
      return result(name, RC.UNSUPPORTED, `${name} is not a function of the interface`);
    const params = checkParams(name, req);
    if (typeof params === 'string') return result(name, RC.BAD_PARAMETER, params);
    // A Step 2 takes what its Step 1 left; any other call ends that exchange.
    if (!name.endsWith('_Step2')) ctx.pending = null;
    try {
      const out = await impl(ctx, params);
      return {
        functionName: name,
        code: 0,
        pOutInfo: out.pOutInfo,
        ...(out.outputs ? { outputs: out.outputs } : {}),
      };
    } catch (e) {
      const f = e instanceof InterfaceFailure ? e : readerFailure(e);
      if (f) return { functionName: name, code: f.code, pOutInfo: f.outInfo, detail: f.message };
      // Not a card's or a reader's answer: a fault of ours, reported, never thrown at the caller.
      return result(
        name,
        RC.CHECK_FAILED,
        `internal error in ${name}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  return {
    reader: options.reader,
    pinPad,
    cardManagement,
    settings,
    call(request) {
      const next = queue.then(() => run(request));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
