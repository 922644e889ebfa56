import type Database from 'better-sqlite3';
import { createActor, type Snapshot } from 'xstate';
import type { CardStore } from '../ledger/card-store.ts';
import type {
  Balances,
  CardAccountKind,
  CardRow,
  CardStatus,
  Ledger,
  PostingLine,
} from '../ledger/ledger.ts';
import { parseProfile, ProfileError, type CardProfile, type CardProfileInput } from '../card/profile.ts';
import { hashSecret, INITIAL_PIN } from '../card/pin.ts';
import { CounterPinKey } from '../card/psam.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import { fromHex } from '../card/hex.ts';
import { findTag } from '../card/tlv.ts';
import type { Algorithm } from '../card/crypto.ts';
import { exchange } from '../../device/exchange.ts';
import type { CardReader } from '../../device/reader.ts';
import { onVirtualCard } from './pin-services.ts';
import { ssnFromDocument } from '../rules/ssn-from-document.ts';
import { isLiveCard, type CardBank, type CardRegion, type ExistingCard } from '../rules/eligibility.ts';
import { businessDate, localDateTime, type Clock } from '../time.ts';
import {
  cardInService,
  cardLifecycleMachine,
  LIFECYCLE_LABELS,
  progressOf,
  type Bilingual,
  type LifecycleEvent,
  type LifecycleSnapshot,
  type LifecycleState,
  type Refusal,
  type ReplaceReason,
} from '../../state-machines/card-lifecycle.machine.ts';
import {
  holderFromApplication,
  makeCardProfile,
  nextSequence,
  oneTimeSecret,
  type HolderFields,
} from './card-factory.ts';
import type { Application } from './types.ts';

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
 */

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

/** The lifecycle events in words, for the history and for refusals. */
export const EVENT_LABELS: Record<LifecycleEvent['type'] | 'xstate.init', Bilingual> = {
  'xstate.init': { zh: '受理申请', en: 'application accepted' },
  SUBMIT_NORMAL: { zh: '普通制卡', en: 'normal issuance' },
  SUBMIT_INSTANT: { zh: '即时制卡', en: 'instant issuance' },
  PRODUCTION_DONE: { zh: '制卡完成', en: 'card printed and registered' },
  PRODUCTION_FAILED: { zh: '制卡失败', en: 'production failed' },
  RESUBMIT: { zh: '重新提交制卡', en: 're-submission' },
  CITY_BRANCH_RECEIVED: { zh: '市分行接收卡', en: 'received by the city branch' },
  OUTLET_RECEIVED: { zh: '网点接收卡', en: 'received by the outlet' },
  PRINTED_BUT_PENDING: {
    zh: '卡面已打印，系统仍显示制卡中',
    en: 'card printed, the system still says in production',
  },
  MAKE_UP_REGISTRATION: { zh: '制卡补登', en: 'make-up registration' },
  VERIFY_NORMAL_STATE: { zh: '检查卡片状态', en: 'card state check' },
  ACTIVATE: { zh: '领卡启用', en: 'collection and activation' },
  REPORT_LOSS: { zh: '挂失', en: 'loss report' },
  RELEASE_LOSS: { zh: '解挂', en: 'loss report release' },
  REPLACE: { zh: '补换卡', en: 'replacement' },
  CLOSE: { zh: '销卡销户', en: 'closing' },
};

/** History events the counter records outside the lifecycle machine (no state change). */
const COUNTER_EVENT_LABELS: Readonly<Record<string, Bilingual>> = {
  ONE_CARD_MERGE: { zh: '一人一卡归并', en: 'one-person-one-card merge' },
};

const EVENT_RULES: Record<LifecycleEvent['type'], string> = {
  SUBMIT_NORMAL: 'R10.1',
  SUBMIT_INSTANT: 'R10.1',
  PRODUCTION_DONE: 'R10.1',
  PRODUCTION_FAILED: 'R10.1',
  RESUBMIT: 'R10.1',
  CITY_BRANCH_RECEIVED: 'R10.1',
  OUTLET_RECEIVED: 'R10.1',
  PRINTED_BUT_PENDING: 'R10.2',
  MAKE_UP_REGISTRATION: 'R10.2',
  VERIFY_NORMAL_STATE: 'R10.2',
  ACTIVATE: 'R10.1',
  REPORT_LOSS: 'R13',
  RELEASE_LOSS: 'R13',
  REPLACE: 'R2.1',
  CLOSE: 'R14',
};

const MODE_LABELS = {
  normal: { zh: '普通制卡', en: 'normal issuance' },
  instant: { zh: '即时制卡', en: 'instant issuance' },
} as const;

const REASON_LABELS: Record<ReplaceReason, Bilingual> = {
  lost: { zh: '遗失补领', en: 'lost' },
  damaged: { zh: '损坏换领', en: 'damaged' },
  expired: { zh: '逾有效期换领', en: 'expired' },
  photo: { zh: '相片变更换领', en: 'photo change' },
};

const CARD_ACCOUNTS: readonly CardAccountKind[] = ['reserve', 'medical_current', 'medical_prior'];

interface LifecycleRow {
  card_id: string;
  application_id: string | null;
  replaces_card_id: string | null;
  branch_id: string;
  state: string;
  snapshot_json: string;
  version: number;
}

interface MergeRow {
  kept_card_id: string;
  merged_card_id: string;
  ssn: string;
  merged_region: string;
  merged_bank: string;
  medical_scope: string;
  branch_id: string;
  at: string;
}

interface EventRow {
  event: string;
  from_state: string | null;
  to_state: string;
  refused_reason: string | null;
  note: string | null;
  branch_id: string;
  at: string;
}

/** What sending one event to a card's lifecycle did (computed without storing anything). */
type Outcome =
  | { kind: 'moved'; from: LifecycleState; snapshot: LifecycleSnapshot; persisted: string }
  | {
      kind: 'refused';
      from: LifecycleState;
      snapshot: LifecycleSnapshot;
      persisted: string;
      refusal: Refusal;
    }
  | { kind: 'not-allowed'; from: LifecycleState; refusal: Refusal };

const no = (refusal: Refusal): CounterRefusal => ({
  ok: false,
  rule: refusal.rule,
  zh: refusal.zh,
  en: refusal.en,
});

const unknownCard = (cardId: string): CounterRefusal => ({
  ok: false,
  rule: 'card',
  zh: `查无此卡：${cardId}（或该卡不在本系统的卡片生命周期中）`,
  en: `no card ${cardId} (or the card has no lifecycle in this system)`,
});

function progressFields(cardId: string, snapshot: LifecycleSnapshot): CardProgress {
  return { cardId, state: snapshot.value as LifecycleState, ...progressOf(snapshot) };
}

/** The event as stored in the history: never a PIN or a password. */
function eventDetail(e: LifecycleEvent): string | null {
  if (e.type === 'ACTIVATE') {
    return JSON.stringify({ financialPasswordSet: e.financialPasswordSet, newPinGiven: e.newPin !== null });
  }
  const { type: _type, ...rest } = e;
  return Object.keys(rest).length > 0 ? JSON.stringify(rest) : null;
}

/** SSNs compare as R7.1 does (oneCardPerPerson): a trailing x and X are the same person. */
function ssnKey(ssn: string): string {
  return ssn.trim().toUpperCase();
}

function toMerge(r: MergeRow): CardMerge {
  return {
    keptCardId: r.kept_card_id,
    mergedCardId: r.merged_card_id,
    ssn: r.ssn,
    mergedRegion: r.merged_region as CardRegion,
    mergedBank: r.merged_bank as CardBank,
    medicalScope: r.medical_scope as MedicalScope,
    branchId: r.branch_id,
    at: r.at,
  };
}

const MERGE_SELECT = `SELECT kept_card_id, merged_card_id, ssn, merged_region, merged_bank, medical_scope, branch_id, at
                      FROM card_merges`;

function maskSsn(ssn: string): string {
  return ssn.length > 10 ? `${ssn.slice(0, 6)}${'*'.repeat(ssn.length - 10)}${ssn.slice(-4)}` : ssn;
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** The bank outlet the app, the CLI and scenarios play (广州, this bank). */
export const DEFAULT_BRANCH = { id: 'GZ-001', city: '广州', bank: 'this' as const, areaCode: '440100' };

export class BankCounter {
  readonly store: CardStore;
  readonly clock: Clock;
  readonly branch: Readonly<Required<Branch>>;
  private readonly db: Database.Database;
  private readonly ledger: Ledger;
  private readonly pinKey: CounterPinKey;

  constructor(options: BankCounterOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.branch = {
      areaCode: '440100',
      canSetOtherBankPin: false,
      ...options.branch,
    };
    this.db = options.store.db;
    this.ledger = options.store.ledger;
    this.pinKey = options.pinKey ?? new CounterPinKey();
  }

  // ---- issuance (R10.1 steps 3–6, R10.2) --------------------------------------------------

  /**
   * R10.1 steps 3–4: stores the (already validated) application, creates the card (gen 3,
   * not activated) and its lifecycle, submits it for normal or instant issuance, and returns
   * the receipt (申领回执).
   */
  apply(app: Application, mode: 'normal' | 'instant'): CounterResult<ApplyOk> {
    let ssn = app.ssn;
    if (!ssn) {
      const derived = ssnFromDocument({ country: app.nationality, docType: app.docType, doc: app.docNumber });
      if (!derived.ok) return no(derived.reason);
      ssn = derived.ssn;
    }
    const at = this.clock();
    const today = businessDate(at);
    const holder = holderFromApplication(app, ssn, this.branch.areaCode);
    try {
      return this.tx(() => {
        const applicationId = `SQ${today.replaceAll('-', '')}${String(nextSequence(this.db, 'application')).padStart(6, '0')}`;
        const profile = this.issueCard(holder, app.photo !== null, today);
        const cardId = profile.card.number;
        const accountType = app.nationality === 'CHN' ? 'class-1' : 'special-class-1';
        this.db
          .prepare(
            `INSERT INTO bank_applications (id, ssn, name, channel, mode, account_type, status, branch_id, card_id,
                                            created_at, updated_at, application_json)
             VALUES (?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?)`,
          )
          .run(
            applicationId,
            ssn,
            app.name,
            app.channel,
            mode,
            accountType,
            this.branch.id,
            cardId,
            at.toISOString(),
            at.toISOString(),
            JSON.stringify({ ...app, ssn, photo: app.photo ? { jpegBytes: app.photo.length } : null }),
          );
        const snapshot = this.startLifecycle(cardId, mode, { applicationId, replaces: null });
        const progress = progressFields(cardId, snapshot);
        const receipt = this.receipt({
          title: '社会保障卡申领回执',
          lines: [
            ['申请编号', applicationId],
            ['姓名', app.name],
            ['社会保障号码', maskSsn(ssn)],
            ['卡号', cardId],
            ['银行卡号', profile.financial?.pan ?? ''],
            ['制卡方式', MODE_LABELS[mode].zh],
            ['个人结算类型', accountType === 'class-1' ? '一类账户' : '特殊一类账户'],
            ['申请渠道', app.channel],
            ['当前状态', progress.zh],
          ],
          at,
          footer:
            mode === 'normal'
              ? '卡片制成并到达网点后，请本人持身份证件到本网点领卡启用（设置金融密码和社保密码）。'
              : '即时制卡：请在网点等候领卡，领卡时设置金融密码和社保密码（初始密码123456不能在POS机使用）。',
        });
        return { ok: true as const, applicationId, cardId, progress, receipt };
      });
    } catch (e) {
      if (e instanceof ProfileError) {
        return {
          ok: false,
          rule: 'R9',
          zh: `申领资料不能用于制卡：${e.message}`,
          en: `the application's data cannot go on a card: ${e.message}`,
        };
      }
      throw e;
    }
  }

  /**
   * R10.1 steps 5–6 and instant printing: PRODUCTION_DONE, PRODUCTION_FAILED (with the vendor's
   * reason), RESUBMIT, CITY_BRANCH_RECEIVED, OUTLET_RECEIVED, PRINTED_BUT_PENDING.
   */
  advance(cardId: string, event: AdvanceEvent): CounterResult<CardProgress> {
    const e: IssuanceEvent = typeof event === 'string' ? ({ type: event } as IssuanceEvent) : event;
    return this.simpleStep(cardId, e);
  }

  /** R10.1 step 5: the outlet's progress query, with a failed production's reason. */
  progress(cardId: string): CounterResult<ProgressOk> {
    const snapshot = this.snapshotOf(cardId);
    if (!snapshot) return unknownCard(cardId);
    const c = snapshot.context;
    const last = c.lastRefusal;
    return {
      ok: true,
      ...progressFields(cardId, snapshot),
      productionAttempts: c.productionAttempts,
      productionFailure: c.productionFailure,
      lastRefusal: last ? { rule: last.rule, zh: last.zh, en: last.en } : null,
    };
  }

  /**
   * Instant issuance (R10.2): the printer finished. 'registered' — 省卡系统 registered the card
   * (PRODUCTION_DONE); 'pending' — the card face printed but the system still says 制卡中
   * (PRINTED_BUT_PENDING, a network failure).
   */
  printInstant(
    cardId: string,
    outcome: 'registered' | 'pending' = 'registered',
  ): CounterResult<CardProgress> {
    return this.simpleStep(cardId, {
      type: outcome === 'registered' ? 'PRODUCTION_DONE' : 'PRINTED_BUT_PENDING',
    });
  }

  /** R10.2: 预制管理-新即时制卡-制卡补登, with the card back in the printer. */
  makeUpRegistration(cardId: string): CounterResult<CardProgress> {
    return this.simpleStep(cardId, { type: 'MAKE_UP_REGISTRATION' });
  }

  /**
   * R10.2: the teller checks the card's state in 省卡系统 before the holder leaves. By default
   * the state is what the books say: the card is in the ledger, not activated (normal, 正常).
   * `{ normal: false }` is the check finding the system still says 制卡中: the card goes back
   * to printedButPending and needs 制卡补登.
   */
  verifyNormalState(cardId: string, observed: { normal?: boolean } = {}): CounterResult<CardProgress> {
    const normal = observed.normal ?? this.ledger.getCard(cardId)?.status === 'not-activated';
    return this.simpleStep(cardId, { type: 'VERIFY_NORMAL_STATE', normal });
  }

  // ---- 领卡启用 (R10.1 step 7, R1.4, R13) -----------------------------------------------------

  /**
   * Hands the card over: the new PIN (not 123456, R1.4) written to the chip with the counter's
   * key, the financial password set in the bank's books, the card active.
   */
  async activate(cardId: string, input: ActivateInput): Promise<CounterResult<ActivateOk>> {
    const row = this.lifecycleRow(cardId);
    if (!row) return unknownCard(cardId);
    const fp = input.financialPassword;
    if (fp !== '' && !/^[0-9]{6}$/.test(fp)) {
      return this.refuseOutside(row, 'ACTIVATE', {
        rule: 'R1.2',
        zh: '金融密码（交易密码）须为6位数字',
        en: 'the financial (transaction) password must be 6 digits',
      });
    }
    const event: LifecycleEvent = {
      type: 'ACTIVATE',
      financialPasswordSet: fp !== '',
      newPin: input.newPin === '' ? null : input.newPin,
    };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);

    const cardBank = input.cardBank ?? 'this';
    const cardBranch = input.cardBranch ?? row.branch_id;
    const crossBranch = cardBank !== 'this' || cardBranch !== this.branch.id;
    const pinSettable = cardBank === 'this' || this.branch.canSetOtherBankPin;
    let note: Bilingual | null = null;
    if (cardBank === 'other') {
      note = pinSettable
        ? {
            zh: '他行社保卡：已在本网点办理金融账户激活；本地省卡系统支持，已设置社保密码（PIN码）',
            en: "another bank's card: financial account activated here; the local 省卡系统 set the card PIN",
          }
        : {
            zh: '他行社保卡：已在本网点办理金融账户激活；本网点省卡系统不能设置他行卡的社保密码（PIN码），卡片仍为初始密码123456（POS机不能交易），请到开户网点设置',
            en: "another bank's card: financial account activated here; this outlet's 省卡系统 cannot set another bank's card PIN, so the card keeps the initial PIN 123456 (refused at a POS): set it at the issuing outlet",
          };
    } else if (cardBranch !== this.branch.id) {
      note = {
        zh: `本行异地分行（${cardBranch}）的社保卡：已在本网点办理激活`,
        en: `this bank's card from another branch (${cardBranch}), activated here`,
      };
    }

    if (pinSettable) {
      const profile = this.profileOf(cardId);
      if (!profile) return unknownCard(cardId);
      const written = await onVirtualCard(this.store.open(profile), (reader) =>
        reloadPin(reader, this.pinKey, input.newPin),
      );
      if (!written.ok) {
        return this.refuseOutside(row, 'ACTIVATE', {
          rule: 'R1.4',
          zh: `写入社保密码失败：${written.zh}`,
          en: `could not set the card PIN: ${written.en}`,
        });
      }
    }
    const passwordHash = hashSecret(fp);
    this.tx(() => {
      this.ledger.setBankPassword(cardId, passwordHash);
      this.ledger.setCardStatus(cardId, 'active');
      this.db
        .prepare(`UPDATE bank_applications SET status = 'completed', updated_at = ? WHERE card_id = ?`)
        .run(this.now(), cardId);
      this.commit(row, event, outcome, note);
    });
    return { ok: true, ...progressFields(cardId, outcome.snapshot), pinSet: pinSettable, crossBranch, note };
  }

  // ---- loss report and release (R13) -------------------------------------------------------

  /** 挂失: also at another branch (R13). The card is then refused at every POS. */
  reportLoss(cardId: string, options: { crossRegion: boolean }): CounterResult<CardProgress> {
    const row = this.lifecycleRow(cardId);
    if (!row) return unknownCard(cardId);
    const event: LifecycleEvent = { type: 'REPORT_LOSS', crossRegion: options.crossRegion };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);
    this.tx(() => {
      this.ledger.setCardStatus(cardId, 'loss-reported');
      this.db
        .prepare(`INSERT INTO loss_reports (card_id, reported_at, cross_region, branch) VALUES (?, ?, ?, ?)`)
        .run(cardId, this.now(), options.crossRegion ? 1 : 0, this.branch.id);
      this.commit(row, event, outcome, null);
    });
    return { ok: true, ...progressFields(cardId, outcome.snapshot) };
  }

  /** 解挂: also at another branch (R13). The card is active again. */
  releaseLoss(cardId: string, options: { crossRegion: boolean }): CounterResult<CardProgress> {
    const row = this.lifecycleRow(cardId);
    if (!row) return unknownCard(cardId);
    const event: LifecycleEvent = { type: 'RELEASE_LOSS', crossRegion: options.crossRegion };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);
    this.tx(() => {
      this.ledger.setCardStatus(cardId, 'active');
      this.db
        .prepare(
          `UPDATE loss_reports SET released_at = ?, release_cross_region = ?, release_branch = ?
           WHERE card_id = ? AND released_at IS NULL`,
        )
        .run(this.now(), options.crossRegion ? 1 : 0, this.branch.id, cardId);
      this.commit(row, event, outcome, null);
    });
    return { ok: true, ...progressFields(cardId, outcome.snapshot) };
  }

  // ---- replacement (R2.1) -------------------------------------------------------------------

  /**
   * 补换卡: a new gen 3 card (R2.1) with new numbers and the initial PIN, not activated, sent
   * through issuance; the old card's balances move over; the old card is closed.
   */
  replace(cardId: string, reason: ReplaceReason, options: ReplaceOptions = {}): CounterResult<ReplaceOk> {
    const row = this.lifecycleRow(cardId);
    const old = this.ledger.getCard(cardId);
    if (!row || !old) return unknownCard(cardId);
    const stored = parseJson<{ holder?: HolderFields; card?: { photo?: boolean } }>(old.profileJson);
    if (!stored?.holder) {
      return {
        ok: false,
        rule: 'R2.1',
        zh: `原卡 ${cardId} 的持卡人资料不全，不能补换卡`,
        en: `the holder data of card ${cardId} is incomplete: it cannot be replaced here`,
      };
    }
    const event: LifecycleEvent = { type: 'REPLACE', reason, crossRegion: options.crossRegion === true };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);

    const holder = stored.holder;
    const mode = options.mode ?? 'instant';
    const at = this.clock();
    const photo = reason === 'photo' ? true : stored.card?.photo !== false;
    return this.tx(() => {
      const profile = this.issueCard(holder, photo, businessDate(at));
      const newCardId = profile.card.number;
      const snapshot = this.startLifecycle(newCardId, mode, {
        applicationId: row.application_id,
        replaces: cardId,
      });

      // One balanced posting moves every balance (conservation: Σ card accounts unchanged).
      const lines: PostingLine[] = [];
      const moved: { reserve: number | null; medicalCurrent: number | null; medicalPrior: number | null } = {
        reserve: null,
        medicalCurrent: null,
        medicalPrior: null,
      };
      for (const kind of CARD_ACCOUNTS) {
        const from = this.ledger.getAccount(cardId, kind);
        if (!from) continue;
        const to = this.ledger.openAccount(newCardId, kind);
        moved[
          kind === 'reserve' ? 'reserve' : kind === 'medical_current' ? 'medicalCurrent' : 'medicalPrior'
        ] = from.balanceFen;
        if (from.balanceFen > 0) {
          lines.push({ accountId: from.accountId, amountFen: -from.balanceFen });
          lines.push({ accountId: to, amountFen: from.balanceFen });
        }
      }
      if (lines.length > 0) {
        this.ledger.post({
          txnId: `replacement:${cardId}:${newCardId}`,
          kind: 'replacement-transfer',
          memo: `补换卡 ${cardId} → ${newCardId}（${REASON_LABELS[reason].zh}）`,
          lines,
        });
      }
      this.ledger.setCardStatus(cardId, 'closed');
      this.commit(row, event, outcome, {
        zh: `新卡 ${newCardId}（三代卡，${REASON_LABELS[reason].zh}）`,
        en: `new card ${newCardId} (gen 3, ${REASON_LABELS[reason].en})`,
      });
      const progress = progressFields(newCardId, snapshot);
      const receipt = this.receipt({
        title: '社会保障卡补换卡回执',
        lines: [
          ['原卡号', cardId],
          ['新卡号', newCardId],
          ['银行卡号', profile.financial?.pan ?? ''],
          ['姓名', profile.holder.name],
          ['社会保障号码', maskSsn(profile.holder.ssn)],
          ['补换原因', REASON_LABELS[reason].zh],
          ['新卡', '三代社保卡'],
          ['制卡方式', MODE_LABELS[mode].zh],
          ['当前状态', progress.zh],
        ],
        at,
        footer: '原卡已注销，账户余额已转入新卡。领卡时须修改社保密码（初始密码123456不能在POS机使用）。',
      });
      return { ok: true as const, oldCardId: cardId, newCardId, moved, progress, receipt };
    });
  }

  // ---- closing (R14) ------------------------------------------------------------------------

  /**
   * 销卡销户: with a medical account, only once its closing was registered at the medical
   * insurance office; then the medical accounts first, the financial account second, and the
   * bank takes the card back.
   */
  close(cardId: string, options: CloseOptions): CounterResult<CloseOk> {
    const row = this.lifecycleRow(cardId);
    if (!row) return unknownCard(cardId);
    const b = this.ledger.balances(cardId);
    const hasMedicalAccount = b.medicalCurrent !== null || b.medicalPrior !== null;
    const event: LifecycleEvent = {
      type: 'CLOSE',
      hasMedicalAccount,
      medicalAccountClosed: options.medicalAccountClosedAtInsuranceOffice,
      crossRegion: options.crossRegion === true,
    };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);

    return this.tx(() => {
      const steps: Bilingual[] = [];
      let medicalPaidOutFen = 0;
      if (hasMedicalAccount) {
        const lines: PostingLine[] = [];
        for (const kind of ['medical_current', 'medical_prior'] as const) {
          const a = this.ledger.getAccount(cardId, kind);
          if (a && a.balanceFen > 0) {
            lines.push({ accountId: a.accountId, amountFen: -a.balanceFen });
            medicalPaidOutFen += a.balanceFen;
          }
        }
        if (lines.length > 0) {
          lines.push({
            accountId: this.ledger.systemAccount('medical_funding'),
            amountFen: medicalPaidOutFen,
          });
          this.ledger.post({
            txnId: `closing-medical:${cardId}`,
            kind: 'closing-medical',
            memo: `销户：医保个人账户清算 ${cardId}`,
            lines,
          });
        }
        steps.push({
          zh: `销医保账户（95000/95001），余额 ${yuan(medicalPaidOutFen)} 元交回医保基金清算`,
          en: `medical accounts (95000/95001) closed, ${yuan(medicalPaidOutFen)} yuan settled back to the medical insurance fund`,
        });
      }
      const reserve = this.ledger.getAccount(cardId, 'reserve');
      const reservePaidOutFen = reserve?.balanceFen ?? 0;
      if (reserve && reservePaidOutFen > 0) {
        this.ledger.post({
          txnId: `closing-reserve:${cardId}`,
          kind: 'closing-withdrawal',
          memo: `销户：备用金账户余额现金支取 ${cardId}`,
          lines: [
            { accountId: reserve.accountId, amountFen: -reservePaidOutFen },
            { accountId: this.ledger.systemAccount('bank_funding'), amountFen: reservePaidOutFen },
          ],
        });
      }
      steps.push({
        zh: `销金融账户（备用金），余额 ${yuan(reservePaidOutFen)} 元现金支付给持卡人`,
        en: `financial (reserve) account closed, ${yuan(reservePaidOutFen)} yuan paid out to the holder in cash`,
      });
      this.ledger.setCardStatus(cardId, 'closed');
      steps.push({ zh: '银行收回社保卡', en: 'the bank takes the card back' });
      this.commit(row, event, outcome, null);
      return {
        ok: true as const,
        ...progressFields(cardId, outcome.snapshot),
        hadMedicalAccount: hasMedicalAccount,
        medicalPaidOutFen,
        reservePaidOutFen,
        steps,
      };
    });
  }

  // ---- one person, one card (R7) --------------------------------------------------------------

  /**
   * 一人一卡归并: merges `mergedCardId` into `keptCardId`, two cards of the same person (R7.1).
   *
   * - R7.4: only at the issuing locality (`atIssuingLocality`), and only for another bank's card
   *   from another city of the province. A same-city card of another bank, this bank's card from
   *   elsewhere (or here), and another province's card are refused, each with its reason.
   * - R7.2: the contribution records are kept — the merged card's social security data is
   *   attached to the kept card (the `card_merges` row); the merged card's financial account
   *   keeps working (no posting, nothing closed); its medical account works locally only until
   *   the medical systems are connected (`medicalScope: 'local-only'`).
   * - R7.3: not a cancellation — the merged card's ledger status and balances stay as they are
   *   (compare `close`). The card no longer counts among the person's live cards (`liveCardsOf`).
   *
   * The region and bank are the teller's statement (the ledger does not know another bank's
   * cards as such). The merge is recorded in both cards' histories (event ONE_CARD_MERGE, the
   * lifecycle state unchanged: from = to), and so is a refusal; a card without a lifecycle
   * (not issued here and not active in the ledger) has no history to record it in — the
   * `card_merges` row is then the only record.
   */
  merge(keptCardId: string, mergedCardId: string, options: MergeOptions): CounterResult<MergeOk> {
    const kept = this.ledger.getCard(keptCardId);
    if (!kept) return unknownCard(keptCardId);
    const merged = this.ledger.getCard(mergedCardId);
    if (!merged) return unknownCard(mergedCardId);
    const rows = [keptCardId, mergedCardId]
      .filter((id, i, all) => all.indexOf(id) === i)
      .map((id) => this.lifecycleRow(id))
      .filter((r): r is LifecycleRow => r !== null);
    const refuse = (rule: string, zh: string, en: string): CounterRefusal => {
      const refusal: Refusal = { rule, zh, en };
      this.tx(() => {
        for (const r of rows) {
          const state = r.state as LifecycleState;
          this.insertEvent(r.card_id, 'ONE_CARD_MERGE', null, state, state, refusal, null);
        }
      });
      return no(refusal);
    };

    if (keptCardId === mergedCardId) {
      return refuse(
        'R7.1',
        `不能将卡 ${keptCardId} 归并到其自身`,
        `card ${keptCardId} cannot be merged into itself`,
      );
    }
    if (ssnKey(kept.ssn) !== ssnKey(merged.ssn)) {
      return refuse(
        'R7.1',
        `两张卡不属于同一人（社会保障号码 ${maskSsn(ssnKey(kept.ssn))} 与 ${maskSsn(ssnKey(merged.ssn))} 不同），不能做一人一卡归并`,
        `the two cards belong to different people (SSN ${maskSsn(ssnKey(kept.ssn))} and ${maskSsn(ssnKey(merged.ssn))}): no one-person-one-card merge`,
      );
    }
    if (!options.atIssuingLocality) {
      return refuse(
        'R7.4',
        '一人一卡清理仅支持在发卡地本地办理，本网点不能办理',
        'the one-person-one-card cleanup is done only at the issuing locality, not at this outlet',
      );
    }
    if (options.mergedCardBank === 'other' && options.mergedCardRegion === 'same-city') {
      return refuse(
        'R7.4',
        '一人一卡清理不能用于清理本地他行卡：请客户申请换行，或先注销他行卡',
        "the one-person-one-card cleanup cannot clear another bank's card in the same city: the customer changes bank or cancels that card",
      );
    }
    if (options.mergedCardBank === 'this') {
      return refuse(
        'R7.4',
        options.mergedCardRegion === 'same-city'
          ? '一人一卡清理不能用于清理本行卡：本市本行卡请办理补换领'
          : '一人一卡清理不能用于清理异地本行卡',
        options.mergedCardRegion === 'same-city'
          ? "the one-person-one-card cleanup cannot clear this bank's card: replace a same-city card instead"
          : "the one-person-one-card cleanup cannot clear this bank's card from elsewhere",
      );
    }
    if (options.mergedCardRegion === 'other-province') {
      return refuse(
        'R7.4',
        '一人一卡清理仅用于归并省内异地他行卡；外省他行卡无需清理，不能在此归并',
        "the cleanup only merges another bank's card from another city in the province; another province's card needs no cleanup and cannot be merged here",
      );
    }
    if (!isLiveCard(kept.status)) {
      return refuse(
        'R7.1',
        `保留的卡 ${keptCardId} 已注销，不能作为持卡人唯一的社保卡`,
        `the card to keep, ${keptCardId}, is closed: it cannot be the holder's one card`,
      );
    }
    if (merged.status === 'closed') {
      return refuse(
        'R7.3',
        `卡 ${mergedCardId} 已注销（销户），无需归并`,
        `card ${mergedCardId} is already closed (cancelled): there is nothing to merge`,
      );
    }
    const keptInto = this.mergedInto(keptCardId);
    if (keptInto !== null) {
      return refuse(
        'R7.1',
        `保留的卡 ${keptCardId} 已归并至卡 ${keptInto}，请以卡 ${keptInto} 为准`,
        `the card to keep, ${keptCardId}, was merged into card ${keptInto}: keep ${keptInto} instead`,
      );
    }
    const mergedInto = this.mergedInto(mergedCardId);
    if (mergedInto !== null) {
      return refuse(
        'R7.1',
        `卡 ${mergedCardId} 已归并至卡 ${mergedInto}，不能重复归并`,
        `card ${mergedCardId} was already merged into card ${mergedInto}`,
      );
    }
    const holding = this.mergesOf(mergedCardId).filter((m) => m.keptCardId === mergedCardId);
    if (holding.length > 0) {
      const ids = holding.map((m) => m.mergedCardId).join('、');
      return refuse(
        'R7.1',
        `卡 ${mergedCardId} 已承接其他卡（${ids}）的归并，不能再被归并：请保留该卡`,
        `card ${mergedCardId} holds the merged cards ${ids}: it cannot be merged itself; keep it instead`,
      );
    }

    const at = this.now();
    const merge: CardMerge = {
      keptCardId,
      mergedCardId,
      ssn: kept.ssn,
      mergedRegion: options.mergedCardRegion,
      mergedBank: options.mergedCardBank,
      medicalScope: 'local-only',
      branchId: this.branch.id,
      at,
    };
    const notes = new Map<string, Bilingual>([
      [
        keptCardId,
        {
          zh: `一人一卡：卡 ${mergedCardId}（省内异地他行卡）归并至本卡，其参保缴费记录由本卡承接`,
          en: `one person, one card: card ${mergedCardId} (another bank, another city in the province) merged into this card, which now holds its contribution records`,
        },
      ],
      [
        mergedCardId,
        {
          zh: `一人一卡：本卡归并至卡 ${keptCardId}；金融账户照常使用，医保账户暂仅支持本地使用（非注销）`,
          en: `one person, one card: merged into card ${keptCardId}; the financial account keeps working, the medical account works locally only (not a cancellation)`,
        },
      ],
    ]);
    const detail = JSON.stringify({
      keptCardId,
      mergedCardId,
      mergedRegion: merge.mergedRegion,
      mergedBank: merge.mergedBank,
      medicalScope: merge.medicalScope,
    });
    this.tx(() => {
      this.db
        .prepare(
          `INSERT INTO card_merges (kept_card_id, merged_card_id, ssn, merged_region, merged_bank, medical_scope,
                                    branch_id, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          merge.keptCardId,
          merge.mergedCardId,
          merge.ssn,
          merge.mergedRegion,
          merge.mergedBank,
          merge.medicalScope,
          merge.branchId,
          merge.at,
        );
      for (const r of rows) {
        const state = r.state as LifecycleState;
        this.insertEvent(
          r.card_id,
          'ONE_CARD_MERGE',
          detail,
          state,
          state,
          null,
          notes.get(r.card_id) ?? null,
        );
      }
    });
    return {
      ok: true,
      ...merge,
      contributionRecordsHeldBy: keptCardId,
      mergedCardStatus: merged.status,
      mergedCardBalances: this.ledger.balances(mergedCardId),
      steps: [
        {
          zh: `参保缴费记录保留：卡 ${mergedCardId} 的社保数据归并至卡 ${keptCardId}`,
          en: `contribution records kept: the social security data of card ${mergedCardId} is attached to card ${keptCardId}`,
        },
        {
          zh: `卡 ${mergedCardId} 的金融账户照常使用（未销户，余额不变）`,
          en: `the financial account of card ${mergedCardId} keeps working (not closed, balances unchanged)`,
        },
        {
          zh: `卡 ${mergedCardId} 的医保账户暂仅支持本地使用，待各地医保系统与省社保卡管理系统对接后可跨地使用`,
          en: `the medical account of card ${mergedCardId} works locally only until the medical systems are connected to the provincial card management system`,
        },
      ],
      historyRecordedFor: rows.map((r) => r.card_id),
    };
  }

  /** The merges involving the card, as the kept card or as the merged one, oldest first. */
  mergesOf(cardId: string): CardMerge[] {
    return this.db
      .prepare<[string, string], MergeRow>(
        `${MERGE_SELECT} WHERE kept_card_id = ? OR merged_card_id = ? ORDER BY id`,
      )
      .all(cardId, cardId)
      .map(toMerge);
  }

  /**
   * The cards that count against a new application (R5.2): the person's live cards, except
   * gen 1 cards — holders of a gen 1 card only (no financial function) may apply for a gen 3
   * card directly (R2.2).
   */
  cardsAgainstApplication(ssn: string): LiveCard[] {
    return this.liveCardsOf(ssn).filter((c) => this.ledger.getCard(c.cardId)?.generation !== 1);
  }

  /**
   * R7.1: the person's live cards — same SSN (x and X alike), not closed, and not merged into
   * another card — ready for `oneCardPerPerson` and `checkEligibility`. `region` is the card's
   * area code seen from this branch (same 4 digits: same city; same 2: the province); `bank`
   * is 'this' unless `bankOf` says otherwise, since the ledger does not record which bank
   * issued a card.
   */
  liveCardsOf(ssn: string, bankOf: (card: CardRow) => CardBank = () => 'this'): LiveCard[] {
    const key = ssnKey(ssn);
    const mergedIds = new Set(
      this.db.prepare<[], string>('SELECT merged_card_id FROM card_merges').pluck().all(),
    );
    return this.ledger
      .listCards()
      .filter((c) => ssnKey(c.ssn) === key && isLiveCard(c.status) && !mergedIds.has(c.cardId))
      .map((c) => ({
        cardId: c.cardId,
        ssn: c.ssn,
        status: c.status,
        bank: bankOf(c),
        region: this.regionOf(c),
      }));
  }

  // ---- queries ------------------------------------------------------------------------------

  /** Every event sent to the card's lifecycle, accepted or refused, oldest first. */
  history(cardId: string): CounterResult<HistoryOk> {
    const snapshot = this.snapshotOf(cardId);
    if (!snapshot) return unknownCard(cardId);
    const rows = this.db
      .prepare<[string], EventRow>(
        `SELECT event, from_state, to_state, refused_reason, note, branch_id, at
         FROM lifecycle_events WHERE card_id = ? ORDER BY id`,
      )
      .all(cardId);
    const entries = rows.map((r): HistoryEntry => {
      const to = r.to_state as LifecycleState;
      const words = EVENT_LABELS[r.event as keyof typeof EVENT_LABELS] ??
        COUNTER_EVENT_LABELS[r.event] ?? { zh: r.event, en: r.event };
      return {
        at: r.at,
        event: r.event,
        eventZh: words.zh,
        eventEn: words.en,
        from: r.from_state as LifecycleState | null,
        to,
        ...LIFECYCLE_LABELS[to],
        refused: parseJson<Refusal>(r.refused_reason),
        note: parseJson<Bilingual>(r.note),
        branch: r.branch_id,
      };
    });
    return { ok: true, ...progressFields(cardId, snapshot), entries };
  }

  /**
   * The card's profile as the ledger keeps it (no secrets), for a till or the CLI to insert
   * the card: `pin` is 123456 and `transactionPassword` a random one-time value, both ignored
   * for a card the ledger already has (its PIN state and password hash are the ledger's).
   */
  profileOf(cardId: string): CardProfile | null {
    const card = this.ledger.getCard(cardId);
    if (!card) return null;
    const stored = JSON.parse(card.profileJson) as CardProfileInput;
    const profile: CardProfileInput = {
      ...stored,
      status: card.status,
      pin: INITIAL_PIN,
      ...(card.generation === 1 ? {} : { transactionPassword: oneTimeSecret() }),
    };
    return parseProfile(profile, `card ${cardId} in the ledger`);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The card this one was merged into, or null. */
  private mergedInto(cardId: string): string | null {
    return (
      this.db
        .prepare<[string], { kept_card_id: string }>(
          'SELECT kept_card_id FROM card_merges WHERE merged_card_id = ?',
        )
        .get(cardId)?.kept_card_id ?? null
    );
  }

  /** Where the card was issued, seen from this branch, by its area code (unknown: this city). */
  private regionOf(card: CardRow): CardRegion {
    const stored = parseJson<{ card?: { areaCode?: unknown } }>(card.profileJson);
    const area = stored?.card?.areaCode;
    const here = this.branch.areaCode;
    if (typeof area !== 'string' || !/^[0-9]{6}$/.test(area)) return 'same-city';
    if (area.slice(0, 4) === here.slice(0, 4)) return 'same-city';
    return area.slice(0, 2) === here.slice(0, 2) ? 'other-city-in-province' : 'other-province';
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Creates the card's profile and imports it into the ledger (PIN hashed, reserve at 0). */
  private issueCard(holder: HolderFields, photo: boolean, issueDate: string): CardProfile {
    const profile = makeCardProfile(this.db, { holder, photo, areaCode: this.branch.areaCode, issueDate });
    this.store.open(profile);
    return profile;
  }

  /** A new lifecycle at `applied`, submitted for issuance. Inside the caller's transaction. */
  private startLifecycle(
    cardId: string,
    mode: 'normal' | 'instant',
    links: { applicationId: string | null; replaces: string | null },
  ): LifecycleSnapshot {
    const actor = createActor(cardLifecycleMachine, { input: { cardId } }).start();
    const initial = actor.getSnapshot();
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO card_lifecycle (card_id, application_id, replaces_card_id, branch_id, state, snapshot_json,
                                     version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
      )
      .run(
        cardId,
        links.applicationId,
        links.replaces,
        this.branch.id,
        initial.value,
        JSON.stringify(actor.getPersistedSnapshot()),
        now,
        now,
      );
    actor.stop();
    const note = links.replaces
      ? { zh: `补换卡：原卡 ${links.replaces}`, en: `replacement of card ${links.replaces}` }
      : null;
    this.insertEvent(cardId, 'xstate.init', null, null, 'applied', null, note);
    const row = this.lifecycleRow(cardId) as LifecycleRow;
    const event: LifecycleEvent = { type: mode === 'normal' ? 'SUBMIT_NORMAL' : 'SUBMIT_INSTANT' };
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') throw new Error(`a new card's lifecycle refused ${event.type}`);
    this.commit(row, event, outcome, null);
    return outcome.snapshot;
  }

  /**
   * The card's lifecycle row. A card the ledger knows as active but the counter never issued
   * (imported, in use) gets one started at `active` (cardInService).
   */
  private lifecycleRow(cardId: string): LifecycleRow | null {
    const select = this.db.prepare<[string], LifecycleRow>(
      `SELECT card_id, application_id, replaces_card_id, branch_id, state, snapshot_json, version
       FROM card_lifecycle WHERE card_id = ?`,
    );
    const row = select.get(cardId);
    if (row) return row;
    const card = this.ledger.getCard(cardId);
    if (!card || card.status !== 'active') return null;
    const { input, snapshot } = cardInService(cardId, card.generation);
    const actor = createActor(cardLifecycleMachine, { input, snapshot }).start();
    const now = this.now();
    this.tx(() => {
      this.db
        .prepare(
          `INSERT INTO card_lifecycle (card_id, application_id, replaces_card_id, branch_id, state, snapshot_json,
                                       version, created_at, updated_at)
           VALUES (?, NULL, NULL, ?, 'active', ?, 1, ?, ?)
           ON CONFLICT (card_id) DO NOTHING`,
        )
        .run(cardId, this.branch.id, JSON.stringify(actor.getPersistedSnapshot()), now, now);
    });
    actor.stop();
    return select.get(cardId) ?? null;
  }

  private snapshotOf(cardId: string): LifecycleSnapshot | null {
    const row = this.lifecycleRow(cardId);
    if (!row) return null;
    const actor = this.restore(row);
    const s = actor.getSnapshot();
    actor.stop();
    return s;
  }

  private restore(row: LifecycleRow) {
    return createActor(cardLifecycleMachine, {
      snapshot: JSON.parse(row.snapshot_json) as Snapshot<unknown>,
      input: { cardId: row.card_id },
    }).start();
  }

  /** Sends the event to a restored copy of the card's lifecycle; stores nothing. */
  private run(row: LifecycleRow, event: LifecycleEvent): Outcome {
    const actor = this.restore(row);
    try {
      const before = actor.getSnapshot();
      const from = before.value as LifecycleState;
      const label = LIFECYCLE_LABELS[from];
      const words = EVENT_LABELS[event.type];
      const notAllowed: Outcome = {
        kind: 'not-allowed',
        from,
        refusal: {
          rule: EVENT_RULES[event.type],
          zh: `卡片当前状态为“${label.zh}”，不能办理${words.zh}`,
          en: `the card is ${label.en}: ${words.en} is not possible now`,
        },
      };
      if (!before.can(event)) return notAllowed;
      const steps = before.context.history.length;
      actor.send(event);
      const after = actor.getSnapshot();
      const persisted = JSON.stringify(actor.getPersistedSnapshot());
      if (after.context.history.length > steps) return { kind: 'moved', from, snapshot: after, persisted };
      const r = after.context.lastRefusal;
      if (r) {
        return {
          kind: 'refused',
          from,
          snapshot: after,
          persisted,
          refusal: { rule: r.rule, zh: r.zh, en: r.en },
        };
      }
      return notAllowed;
    } finally {
      actor.stop();
    }
  }

  /** Stores the outcome: the new snapshot (if any) and the history row. Inside a transaction. */
  private commit(row: LifecycleRow, event: LifecycleEvent, outcome: Outcome, note: Bilingual | null): void {
    let to: LifecycleState = outcome.from;
    if (outcome.kind !== 'not-allowed') {
      to = outcome.snapshot.value as LifecycleState;
      const { changes } = this.db
        .prepare(
          `UPDATE card_lifecycle SET state = ?, snapshot_json = ?, version = version + 1, updated_at = ?
           WHERE card_id = ? AND version = ?`,
        )
        .run(to, outcome.persisted, this.now(), row.card_id, row.version);
      if (changes === 0) {
        throw new Error(`card ${row.card_id}: its lifecycle changed while ${event.type} was being handled`);
      }
    }
    const refusal = outcome.kind === 'moved' ? null : outcome.refusal;
    this.insertEvent(row.card_id, event.type, eventDetail(event), outcome.from, to, refusal, note);
  }

  private commitRefusal(row: LifecycleRow, event: LifecycleEvent, outcome: Outcome): CounterRefusal {
    this.tx(() => this.commit(row, event, outcome, null));
    if (outcome.kind === 'moved') throw new Error('commitRefusal called with an accepted event');
    return no(outcome.refusal);
  }

  /** A refusal decided by the counter itself (not the machine): history only. */
  private refuseOutside(row: LifecycleRow, type: LifecycleEvent['type'], refusal: Refusal): CounterRefusal {
    const from = row.state as LifecycleState;
    this.tx(() => this.insertEvent(row.card_id, type, null, from, from, refusal, null));
    return no(refusal);
  }

  private simpleStep(cardId: string, event: LifecycleEvent): CounterResult<CardProgress> {
    const row = this.lifecycleRow(cardId);
    if (!row) return unknownCard(cardId);
    const outcome = this.run(row, event);
    if (outcome.kind !== 'moved') return this.commitRefusal(row, event, outcome);
    this.tx(() => this.commit(row, event, outcome, null));
    return { ok: true, ...progressFields(cardId, outcome.snapshot) };
  }

  private insertEvent(
    cardId: string,
    event: string,
    detail: string | null,
    from: LifecycleState | null,
    to: LifecycleState,
    refusal: Refusal | null,
    note: Bilingual | null,
  ): void {
    this.db
      .prepare(
        `INSERT INTO lifecycle_events (card_id, event, detail_json, from_state, to_state, refused_reason, note,
                                       branch_id, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        cardId,
        event,
        detail,
        from,
        to,
        refusal ? JSON.stringify({ rule: refusal.rule, zh: refusal.zh, en: refusal.en }) : null,
        note ? JSON.stringify(note) : null,
        this.branch.id,
        this.now(),
      );
  }

  private receipt(r: { title: string; lines: [string, string][]; at: Date; footer: string }): string {
    const width = Math.max(...r.lines.map(([k]) => k.length));
    return [
      r.title,
      '-'.repeat(32),
      ...r.lines.map(([k, v]) => `${k}${'　'.repeat(width - k.length)}：${v}`),
      `受理网点${'　'.repeat(Math.max(0, width - 4))}：${this.branch.city} ${this.branch.id}`,
      `受理时间${'　'.repeat(Math.max(0, width - 4))}：${localDateTime(r.at)}`,
      '-'.repeat(32),
      r.footer,
    ].join('\n');
  }
}

function yuan(fen: number): string {
  return (fen / 100).toFixed(2);
}

// ---- RELOAD PIN on the card (the counter's key) ---------------------------------------------

const SELECT_SSSE = fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');

function swText(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** GET CHALLENGE, then RELOAD PIN (84 5E) MACed with the counter's key: sets the PIN, resets its counter. */
async function reloadPin(
  reader: CardReader,
  key: CounterPinKey,
  newPin: string,
): Promise<{ ok: boolean } & Bilingual> {
  const atr = await reader.connect();
  const fci = await exchange(reader, SELECT_SSSE);
  if (fci.sw !== 0x9000) {
    return {
      ok: false,
      zh: `选择社保应用失败（${swText(fci.sw)}）`,
      en: `SELECT SSSE answered ${swText(fci.sw)}`,
    };
  }
  const alg: Algorithm = findTag(fci.data, 0x9f0c)?.[2] === 0x03 ? 'sm4' : '3des';
  const serial = chipSerialFromAtr(atr);
  if (!serial) return { ok: false, zh: '无法从 ATR 读取芯片序列号', en: 'no chip serial in the ATR' };
  const ch = await exchange(reader, fromHex('0084000008'));
  if (ch.sw !== 0x9000) {
    return {
      ok: false,
      zh: `取随机数失败（${swText(ch.sw)}）`,
      en: `GET CHALLENGE failed (${swText(ch.sw)})`,
    };
  }
  const { sw } = await exchange(reader, key.reloadCommand(alg, serial, ch.data, newPin));
  return sw === 0x9000
    ? { ok: true, zh: '社保密码已设置', en: 'card PIN set' }
    : {
        ok: false,
        zh: `卡片拒绝重装密码（${swText(sw)}）`,
        en: `the card refused RELOAD PIN (${swText(sw)})`,
      };
}
