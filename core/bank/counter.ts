import type { CardRow } from '../ledger/ledger.ts';
import type { CardProfile } from '../card/profile.ts';
import type { CardBank } from '../rules/eligibility.ts';
import type { Clock } from '../time.ts';
import type { CardStore } from '../ledger/card-store.ts';
import type { ReplaceReason } from '../../state-machines/card-lifecycle.machine.ts';
import type { Application } from './types.ts';
import { activate } from './counter/activation.ts';
import { close } from './counter/closing.ts';
import { counterContext, type CounterContext } from './counter/context.ts';
import {
  advance,
  apply,
  makeUpRegistration,
  printInstant,
  progress,
  verifyNormalState,
} from './counter/issuance.ts';
import { releaseLoss, reportLoss } from './counter/loss-report.ts';
import { cardsAgainstApplication, liveCardsOf, merge, mergesOf } from './counter/one-person-one-card.ts';
import { history, profileOf } from './counter/queries.ts';
import { replace } from './counter/replacement.ts';
import type {
  ActivateInput,
  ActivateOk,
  AdvanceEvent,
  ApplyOk,
  BankCounterOptions,
  Branch,
  CardMerge,
  CardProgress,
  CloseOk,
  CloseOptions,
  CounterResult,
  HistoryOk,
  LiveCard,
  MergeOk,
  MergeOptions,
  ProgressOk,
  ReplaceOk,
  ReplaceOptions,
} from './counter/types.ts';

export type * from './counter/types.ts';
export { EVENT_LABELS } from './counter/labels.ts';

/**
 * The bank counter (银行网点) for social security cards: accepting applications, following
 * the card through production (R10.1) or instant issuance (R10.2), handing it over with the
 * holder's PIN and financial password (领卡启用), loss report and release (R13), replacement
 * (R2.1) and closing (R14).
 *
 * The card-lifecycle machine (state-machines/card-lifecycle.machine.ts) is the single source
 * of lifecycle truth: for each step the counter restores the card's persisted snapshot, sends
 * the event, and stores the new snapshot together with the ledger changes the step implies,
 * in one transaction. A refusal — by the machine's guards, or because the card's state has no
 * such step — is a result `{ ok: false, rule, zh, en }`, recorded in `lifecycle_events`;
 * nothing throws for a business "no".
 *
 * Choices (see also card-factory.ts):
 * - The card is created in the ledger (status 'not-activated', initial PIN 123456, a
 *   one-time bank password nobody knows, reserve account at 0) when the application is
 *   accepted, so its numbers are on the receipt and its progress can be queried by card id.
 * - Activation sets the PIN on the chip itself (GET CHALLENGE + RELOAD PIN with the counter's
 *   key) and the financial password in the bank's books. The chip write happens before the
 *   books are committed (a card is not part of a database transaction); if the books then
 *   failed, the card would carry the new PIN while the lifecycle still says 'atOutlet', and
 *   activating again would simply set it again.
 * - Another bank's card (R13) is activated (financial account, password, status) but its PIN is
 *   set only when the branch's 省卡系统 allows it (`canSetOtherBankPin`); otherwise the chip
 *   keeps 123456 (the POS refuses it) and the result says where to set it. The lifecycle still
 *   receives the ACTIVATE event with the PIN the holder chose (the machine requires one): its
 *   `pinChanged` then means "chosen", and the event's note in the history says it was not set.
 * - A replacement is a new gen 3 card (new numbers, initial PIN, not-activated) that goes
 *   through issuance again from `applied` (instant by default, as at an instant-issuance
 *   outlet; `mode: 'normal'` sends it to production). The old card's accounts move to the new
 *   card in one balanced posting (reserve, 95000, 95001; an account the old card had is
 *   opened on the new one even at 0) and the old card is 'closed' in the ledger, `replaced` in
 *   its lifecycle.
 * - Closing: medical accounts first — their balances go back to the medical insurance fund
 *   (medical_funding: the insurance office settles the personal account); then the reserve is
 *   paid out to the holder in cash (bank_funding: money leaves the bank's books). The accounts
 *   stay in the ledger at 0, the card is 'closed' and the bank takes it back.
 * - A card the ledger knows but the counter never issued (an imported gen 1/2/3 card in use)
 *   gets a lifecycle started at `active` (cardInService) the first time the counter sees it,
 *   provided its ledger status is 'active'.
 * - One-person-one-card cleanup (一人一卡归并, R7): see `merge`. A row in `card_merges`, no
 *   posting, no status change, no lifecycle transition.
 *
 * This file is the counter's public face; the work lives in counter/ by concept: intake and
 * issuance (issuance.ts), 领卡启用 (activation.ts), loss (loss-report.ts), replacement
 * (replacement.ts), closing (closing.ts), one person one card (one-person-one-card.ts), the
 * lifecycle persistence they share (lifecycle-store.ts), receipts and read-only queries. The
 * chip-side RELOAD PIN is in reload-pin.ts.
 */

/** The bank outlet the app, the CLI and scenarios play (广州, this bank). */
export const DEFAULT_BRANCH = { id: 'GZ-001', city: '广州', bank: 'this' as const, areaCode: '440100' };

export class BankCounter {
  readonly store: CardStore;
  readonly clock: Clock;
  readonly branch: Readonly<Required<Branch>>;
  private readonly ctx: CounterContext;

  constructor(options: BankCounterOptions) {
    this.ctx = counterContext(options);
    this.store = this.ctx.store;
    this.clock = this.ctx.clock;
    this.branch = this.ctx.branch;
  }

  // ---- issuance (R10.1 steps 3–6, R10.2) --------------------------------------------------

  /** R10.1 steps 3–4: the application, its card and lifecycle, and the receipt (申领回执). */
  apply(app: Application, mode: 'normal' | 'instant'): CounterResult<ApplyOk> {
    return apply(this.ctx, app, mode);
  }

  /** R10.1 steps 5–6 and instant printing. */
  advance(cardId: string, event: AdvanceEvent): CounterResult<CardProgress> {
    return advance(this.ctx, cardId, event);
  }

  /** R10.1 step 5: the outlet's progress query, with a failed production's reason. */
  progress(cardId: string): CounterResult<ProgressOk> {
    return progress(this.ctx, cardId);
  }

  /** Instant issuance (R10.2): the printer finished, registered in 省卡系统 or still pending. */
  printInstant(
    cardId: string,
    outcome: 'registered' | 'pending' = 'registered',
  ): CounterResult<CardProgress> {
    return printInstant(this.ctx, cardId, outcome);
  }

  /** R10.2: 预制管理-新即时制卡-制卡补登, with the card back in the printer. */
  makeUpRegistration(cardId: string): CounterResult<CardProgress> {
    return makeUpRegistration(this.ctx, cardId);
  }

  /** R10.2: the teller checks the card's state in 省卡系统 before the holder leaves. */
  verifyNormalState(cardId: string, observed: { normal?: boolean } = {}): CounterResult<CardProgress> {
    return verifyNormalState(this.ctx, cardId, observed);
  }

  // ---- 领卡启用 (R10.1 step 7, R1.4, R13) -----------------------------------------------------

  /** Hands the card over: the new PIN on the chip, the financial password in the books, active. */
  async activate(cardId: string, input: ActivateInput): Promise<CounterResult<ActivateOk>> {
    return activate(this.ctx, cardId, input);
  }

  // ---- loss report and release (R13) -------------------------------------------------------

  /** 挂失: also at another branch (R13). The card is then refused at every POS. */
  reportLoss(cardId: string, options: { crossRegion: boolean }): CounterResult<CardProgress> {
    return reportLoss(this.ctx, cardId, options);
  }

  /** 解挂: also at another branch (R13). The card is active again. */
  releaseLoss(cardId: string, options: { crossRegion: boolean }): CounterResult<CardProgress> {
    return releaseLoss(this.ctx, cardId, options);
  }

  // ---- replacement (R2.1) and closing (R14) -------------------------------------------------

  /** 补换卡: a new gen 3 card; the old card's balances move over; the old card is closed. */
  replace(cardId: string, reason: ReplaceReason, options: ReplaceOptions = {}): CounterResult<ReplaceOk> {
    return replace(this.ctx, cardId, reason, options);
  }

  /** 销卡销户: medical accounts first, the financial account second, the card taken back. */
  close(cardId: string, options: CloseOptions): CounterResult<CloseOk> {
    return close(this.ctx, cardId, options);
  }

  // ---- one person, one card (R7) --------------------------------------------------------------

  /** 一人一卡归并: merges `mergedCardId` into `keptCardId` (R7.1–R7.4). */
  merge(keptCardId: string, mergedCardId: string, options: MergeOptions): CounterResult<MergeOk> {
    return merge(this.ctx, keptCardId, mergedCardId, options);
  }

  /** The merges involving the card, as the kept card or as the merged one, oldest first. */
  mergesOf(cardId: string): CardMerge[] {
    return mergesOf(this.ctx, cardId);
  }

  /** The cards that count against a new application (R5.2): live cards except gen 1 (R2.2). */
  cardsAgainstApplication(ssn: string): LiveCard[] {
    return cardsAgainstApplication(this.ctx, ssn);
  }

  /** R7.1: the person's live cards — same SSN, not closed, not merged into another card. */
  liveCardsOf(ssn: string, bankOf: (card: CardRow) => CardBank = () => 'this'): LiveCard[] {
    return liveCardsOf(this.ctx, ssn, bankOf);
  }

  // ---- queries ------------------------------------------------------------------------------

  /** Every event sent to the card's lifecycle, accepted or refused, oldest first. */
  history(cardId: string): CounterResult<HistoryOk> {
    return history(this.ctx, cardId);
  }

  /** The card's profile as the ledger keeps it (no secrets), for a till or the CLI to insert. */
  profileOf(cardId: string): CardProfile | null {
    return profileOf(this.ctx, cardId);
  }
}
