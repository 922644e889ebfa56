/**
 * The bank counter's public shapes: what each counter step takes and answers. Kept apart from
 * the steps so that the API, the CLI and the scenarios can depend on the shapes alone; counter.ts
 * re-exports them under their old names.
 */
import type { Balances, CardStatus } from '../../ledger/ledger.ts';
import type { CounterPinKey } from '../../card/psam.ts';
import type { CardStore } from '../../ledger/card-store.ts';
import type { CardBank, CardRegion, ExistingCard } from '../../rules/eligibility.ts';
import type { Clock } from '../../time.ts';
import type {
  Bilingual,
  LifecycleEvent,
  LifecycleState,
  Refusal,
} from '../../../state-machines/card-lifecycle.machine.ts';

export interface Branch {
  id: string;
  /** City name, for receipts (广州). */
  city: string;
  /** A counter always belongs to "this" bank; cards may come from another one (R13). */
  bank: 'this';
  /** 6-digit area code of the branch's city (card identification code, issuer). */
  areaCode?: string;
  /** R13: whether the local 省卡系统 can set the PIN of another bank's card. Default false. */
  canSetOtherBankPin?: boolean;
}

export interface BankCounterOptions {
  /** From openCardStore(): the ledger the POS and the host share. */
  store: CardStore;
  clock: Clock;
  branch: Branch;
  /** The counter's key for RELOAD PIN (default: the simulator's test key). */
  pinKey?: CounterPinKey;
}

/** A business "no": the rule and the reason, both languages. */
export interface CounterRefusal extends Refusal {
  ok: false;
}

export type CounterResult<T> = ({ ok: true } & T) | CounterRefusal;

/** Where a card is in its lifecycle, as the outlet's progress query shows it (R10.1 step 5). */
export interface CardProgress extends Bilingual {
  cardId: string;
  state: LifecycleState;
}

export type IssuanceEvent = Extract<
  LifecycleEvent,
  {
    type:
      | 'PRODUCTION_DONE'
      | 'PRODUCTION_FAILED'
      | 'RESUBMIT'
      | 'CITY_BRANCH_RECEIVED'
      | 'OUTLET_RECEIVED'
      | 'PRINTED_BUT_PENDING';
  }
>;

/** An issuance event, or the name of one that carries no data. */
export type AdvanceEvent = IssuanceEvent | Exclude<IssuanceEvent['type'], 'PRODUCTION_FAILED'>;

export interface ApplyOk {
  applicationId: string;
  cardId: string;
  progress: CardProgress;
  /** 申领回执 (R10.1 step 4). */
  receipt: string;
}

export interface ProgressOk extends CardProgress {
  productionAttempts: number;
  productionFailure: string | null;
  /** The last refusal, while the card has not moved on since. */
  lastRefusal: Refusal | null;
}

export interface ActivateInput {
  newPin: string;
  financialPassword: string;
  /** R13: the branch that issued the card (default: as recorded at issuance, else this one). */
  cardBranch?: string;
  /** R13: 'other' for another bank's card. Default 'this'. */
  cardBank?: 'this' | 'other';
}

export interface ActivateOk extends CardProgress {
  /** Whether the new PIN was written to the chip here. */
  pinSet: boolean;
  /** R13: a card of another branch or bank. */
  crossBranch: boolean;
  note: Bilingual | null;
}

export interface ReplaceOptions {
  /** R13: at a branch other than the issuing one (only after a loss report). */
  crossRegion?: boolean;
  /** How the new card is made. Default 'instant'. */
  mode?: 'normal' | 'instant';
}

export interface ReplaceOk {
  oldCardId: string;
  newCardId: string;
  /** What moved from the old card's accounts to the new card's, in fen (null: no such account). */
  moved: Balances;
  progress: CardProgress;
  receipt: string;
}

export interface CloseOptions {
  /** R14: the holder registered the medical account's closing at the medical insurance office. */
  medicalAccountClosedAtInsuranceOffice: boolean;
  crossRegion?: boolean;
}

export interface CloseOk extends CardProgress {
  hadMedicalAccount: boolean;
  /** Paid back to the medical insurance fund (95000 + 95001). */
  medicalPaidOutFen: number;
  /** Paid out to the holder in cash. */
  reservePaidOutFen: number;
  /** What was done, in order (R14: medical first, then financial, then the card taken back). */
  steps: Bilingual[];
}

export interface MergeOptions {
  /** Where the card to merge was issued, seen from this branch (R7.4). */
  mergedCardRegion: CardRegion;
  /** Which bank issued the card to merge (R7.4). */
  mergedCardBank: CardBank;
  /** R7.4: this branch is at the issuing locality (发卡地) of the kept card. */
  atIssuingLocality: boolean;
}

/** R7.2: the merged card's medical account, until the medical systems are connected. */
export type MedicalScope = 'local-only' | 'connected';

/** One row of `card_merges`. */
export interface CardMerge {
  keptCardId: string;
  mergedCardId: string;
  ssn: string;
  mergedRegion: CardRegion;
  mergedBank: CardBank;
  medicalScope: MedicalScope;
  branchId: string;
  at: string;
}

export interface MergeOk extends CardMerge {
  /** R7.2: the card now holding the merged card's social security data (contribution records). */
  contributionRecordsHeldBy: string;
  /** R7.2, R7.3: the merged card's ledger status and balances — unchanged by the merge. */
  mergedCardStatus: CardStatus;
  mergedCardBalances: Balances;
  /** What was done, in order. */
  steps: Bilingual[];
  /** The cards whose history got the merge entry: a card with no lifecycle has no history. */
  historyRecordedFor: string[];
}

/** A live card of a person (R7.1), in the shape eligibility and oneCardPerPerson take. */
export interface LiveCard extends ExistingCard {
  cardId: string;
  ssn: string;
  status: CardStatus;
  bank: CardBank;
  region: CardRegion;
}

export interface HistoryEntry extends Bilingual {
  at: string;
  event: string;
  /** The event in words. */
  eventZh: string;
  eventEn: string;
  from: LifecycleState | null;
  to: LifecycleState;
  refused: Refusal | null;
  note: Bilingual | null;
  branch: string;
}

export interface HistoryOk extends CardProgress {
  entries: HistoryEntry[];
}
