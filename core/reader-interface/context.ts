import type { CardReader } from '../../device/reader.ts';
import type { CounterPinKey, PsamSimulator } from '../card/psam.ts';
import type { Host, MedicalOrder, ShortfallPolicy } from '../host/types.ts';
import type { PosSystem } from '../pos/pos-system.ts';
import type { Clock } from '../time.ts';
import type { OpenedCard } from './card-access.ts';
import type { PinPad } from './pin-pad.ts';
import type { ReaderInterfaceSettings } from './settings.ts';

/** The till a debit goes through: the POS payment path of core/pos, on the same reader. */
export interface DebitTill {
  pos: PosSystem;
  /** The host the debit goes to (default pos.host; a scenario passes its fault-wrapped host). */
  host?: Host;
  medicalOrder?: MedicalOrder;
  shortfall?: ShortfallPolicy;
  merchantName?: string;
}

/** What a Step 1 left for its Step 2: the card it talked to and what the centre will answer. */
export type PendingHsm =
  | { kind: 'read-bas'; card: OpenedCard }
  | { kind: 'read-card'; card: OpenedCard; items: readonly FileItem[] }
  | { kind: 'reload'; card: OpenedCard; newPin: string }
  | { kind: 'unblock'; card: OpenedCard };

export interface FileItem {
  ef: 5 | 6;
  tag: number;
}

/** Everything a function implementation sees. */
export interface InterfaceContext {
  readonly reader: CardReader;
  readonly pinPad: PinPad;
  readonly settings: ReaderInterfaceSettings;
  /** The terminal's PSAM (its RKSSSE key is used only when settings.psamHoldsRksse). */
  readonly psam: PsamSimulator;
  /** The bank counter's PIN key, when this terminal is a counter's: plain iReloadPIN/iUnblockPIN. */
  readonly counterKey: CounterPinKey | null;
  readonly till: DebitTill | null;
  readonly clock: Clock;
  /** Set by a Step 1, taken by its Step 2; any other call drops it. */
  pending: PendingHsm | null;
}

/** The parameters a function receives, already checked against its FunctionSpec. */
export type Params = Readonly<Record<string, number | string>>;

export interface FunctionOutcome {
  pOutInfo: string;
  /** Outputs other than pOutInfo (pCardType; pReaderSN, pPsamTermNo). */
  outputs?: Record<string, string>;
}

export type FunctionImpl = (ctx: InterfaceContext, params: Params) => Promise<FunctionOutcome>;

/** Fields each followed by `|`, the last one too. */
export function fields(values: readonly string[]): string {
  return values.map((v) => `${v}|`).join('');
}
