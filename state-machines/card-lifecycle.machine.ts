import { assign, setup, type SnapshotFrom } from 'xstate';
import type { Generation } from './types.ts';

/**
 * The bank counter's view of one social security card, from the accepted application to the
 * card's end (R10, R13, R14, R2.1). Pure: the counter tells the machine what happened (the
 * vendor finished, the city branch received the cards, the teller set the passwords…) and
 * the machine says what may happen next, or why not. Nothing here touches a database: the
 * counter supplies `persist` (`machine.provide({ actions })`) to store each step.
 *
 * Normal issuance (普通制卡, R10.1): applied → inProduction → atCityBranch → atOutlet → active.
 * A failed production (制卡失败) is a state of its own, so the outlet's progress query (step 5)
 * shows it, and it can be re-submitted.
 *
 * Instant issuance (即时制卡, R10.1/R10.2): applied → instantPrinting → printed → (the teller
 * checks the card is in normal state) → atOutlet → active, all on the spot. When the card face
 * printed but 省卡系统 still says 制卡中 (printedButPending), only 制卡补登 leads on; the card
 * is then checked again, and it reaches the holder (active) only once it is in normal state.
 *
 * In service: loss report (挂失) and release (解挂), also at another branch (R13); replacement
 * (补换卡), always as gen 3 (R2.1); closing (销卡销户), medical account first (R14).
 */

/** A Chinese and an English text: the counter shows zh, the docs and the CLI may show en. */
export interface Bilingual {
  zh: string;
  en: string;
}

export const LIFECYCLE_LABELS = {
  applied: { zh: '申请已受理', en: 'application accepted' },
  inProduction: { zh: '制卡中', en: 'in production' },
  productionFailed: { zh: '制卡失败', en: 'production failed' },
  atCityBranch: { zh: '市分行已接收', en: 'received by the city branch' },
  atOutlet: { zh: '网点已接收（待领卡启用）', en: 'at the outlet, awaiting collection' },
  instantPrinting: { zh: '即时制卡中', en: 'instant issuance: printing' },
  printedButPending: {
    zh: '卡面已打印，系统仍显示制卡中（须制卡补登）',
    en: 'card printed but the system still says in production (make-up registration needed)',
  },
  printed: { zh: '卡面已打印，待检查卡状态', en: 'card printed, card state to be checked' },
  active: { zh: '领卡启用', en: 'collected and active' },
  lossReported: { zh: '挂失', en: 'loss reported' },
  replaced: { zh: '已补换卡（新卡为三代卡）', en: 'replaced (the new card is gen 3)' },
  closed: { zh: '销卡销户（卡片已收回）', en: 'closed (card taken back)' },
} as const satisfies Record<string, Bilingual>;

export type LifecycleState = keyof typeof LIFECYCLE_LABELS;

/** Why a guard refused an event: the rule it enforces, in both languages. */
export interface Refusal extends Bilingual {
  rule: string;
}

export const REFUSALS = {
  financialPasswordMissing: {
    rule: 'R10.1',
    zh: '领卡启用须先设置金融密码',
    en: 'set the financial password before handing over the card',
  },
  pinMissing: {
    rule: 'R1.4',
    zh: '领卡启用须修改社保密码（PIN码）',
    en: "change the card's PIN before handing over the card",
  },
  initialPin: {
    rule: 'R1.4',
    zh: '新社保密码不能是初始密码123456',
    en: 'the new PIN cannot be the initial PIN 123456',
  },
  pinMalformed: { rule: 'R1.4', zh: '社保密码须为6位数字', en: 'the PIN must be 6 digits' },
  makeUpFirst: {
    rule: 'R10.2',
    zh: '省卡系统仍显示制卡中：请将卡片放回制卡机，执行制卡补登',
    en: 'the system still says in production: put the card back into the printer and run make-up registration',
  },
  lostNotReported: {
    rule: 'R13',
    zh: '卡片遗失须先挂失，再补卡',
    en: 'report the loss before replacing a lost card',
  },
  changeElsewhere: {
    rule: 'R13',
    zh: '异地仅支持挂失后补卡；换卡请到开卡分行办理',
    en: 'another branch can only replace a card after a loss report; other replacements are done at the issuing branch',
  },
  closeElsewhere: {
    rule: 'R13',
    zh: '异地不支持销户，请到开卡分行办理',
    en: 'a card can only be closed at its issuing branch',
  },
  medicalAccountOpen: {
    rule: 'R14',
    zh: '卡下有医保账户：请先到当地医保办理医保账户销户，再销金融账户',
    en: 'the card has a medical account: close it at the local medical insurance office first, then the financial account',
  },
} as const satisfies Record<string, Refusal>;

/** Why a card is replaced: R2.1 lost, damaged, expired; R2.2 a photo that no longer resembles. */
export type ReplaceReason = 'lost' | 'damaged' | 'expired' | 'photo';

export type LifecycleEvent =
  /** R10.1 step 3: new application, normal issuance. */
  | { type: 'SUBMIT_NORMAL' }
  /** R10.1/R9: instant issuance (省卡系统 + 531 system), printed at the outlet. */
  | { type: 'SUBMIT_INSTANT' }
  /** The instant card's printer finished and the system registered the card. */
  | { type: 'PRODUCTION_DONE' }
  /** The vendor reports a failed production (R10.1 step 5). */
  | { type: 'PRODUCTION_FAILED'; reason: string }
  | { type: 'RESUBMIT' }
  | { type: 'CITY_BRANCH_RECEIVED' }
  | { type: 'OUTLET_RECEIVED' }
  /** R10.2: the card face printed, but the system still says 制卡中 (network failure). */
  | { type: 'PRINTED_BUT_PENDING' }
  /** R10.2: 预制管理-新即时制卡-制卡补登, with the card back in the printer. */
  | { type: 'MAKE_UP_REGISTRATION' }
  /** The teller checks the card's state in 省卡系统: normal (正常) or still 制卡中. */
  | { type: 'VERIFY_NORMAL_STATE'; normal: boolean }
  /**
   * R10.1 step 7, 领卡启用: the financial password set (the bank keeps it) and the new PIN
   * the holder chose. The machine checks the PIN and keeps only that it was changed.
   */
  | { type: 'ACTIVATE'; financialPasswordSet: boolean; newPin: string | null }
  /** R13: also at another branch. */
  | { type: 'REPORT_LOSS'; crossRegion: boolean }
  | { type: 'RELEASE_LOSS'; crossRegion?: boolean }
  /** R2.1: the new card is gen 3. R13: at another branch only after a loss report. */
  | { type: 'REPLACE'; reason: ReplaceReason; crossRegion?: boolean }
  /** R14: medical account first; R13: only at the issuing branch. */
  | { type: 'CLOSE'; hasMedicalAccount: boolean; medicalAccountClosed: boolean; crossRegion?: boolean };

export interface LifecycleStep extends Bilingual {
  state: LifecycleState;
  /** The event that led here ('xstate.init' for the first step). */
  via: string;
}

export interface LifecycleContext {
  cardId: string;
  /** This card's generation: every card issued since 2020-09 is gen 3 (R2.1). */
  generation: Generation;
  /** Times the card was sent to production (normal issuance; 1 + re-submissions). */
  productionAttempts: number;
  /** The vendor's reason for the last failed production, for the progress query. */
  productionFailure: string | null;
  /** Instant issuance: the teller saw the card in normal state in 省卡系统 (R10.2). */
  verifiedNormal: boolean;
  /** R10.1 step 7; never the password itself. */
  financialPasswordSet: boolean;
  /** R1.4: the holder replaced the initial PIN; never the PIN itself. */
  pinChanged: boolean;
  /** The current loss report, if any (R13). */
  lossReport: { crossRegion: boolean } | null;
  /** The card that replaced this one (R2.1: always gen 3). */
  replacement: { generation: 3; reason: ReplaceReason; crossRegion: boolean } | null;
  /** R14: how the card was closed. */
  closure: { hadMedicalAccount: boolean } | null;
  history: LifecycleStep[];
  /** Why the last refused event was refused; cleared when the card moves on. */
  lastRefusal: (Refusal & { event: string }) | null;
}

export interface LifecycleInput {
  cardId: string;
}

const PIN_FORMAT = /^\d{6}$/;
const INITIAL_PIN = '123456';

export const cardLifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as LifecycleInput,
  },
  guards: {
    isFinancialPasswordMissing: ({ event }) => event.type === 'ACTIVATE' && !event.financialPasswordSet,
    isPinMissing: ({ event }) => event.type === 'ACTIVATE' && !event.newPin,
    isInitialPin: ({ event }) => event.type === 'ACTIVATE' && event.newPin === INITIAL_PIN,
    isPinMalformed: ({ event }) =>
      event.type === 'ACTIVATE' && event.newPin !== null && !PIN_FORMAT.test(event.newPin),
    isStateNormal: ({ event }) => event.type === 'VERIFY_NORMAL_STATE' && event.normal,
    isLostCard: ({ event }) => event.type === 'REPLACE' && event.reason === 'lost',
    isElsewhere: ({ event }) =>
      (event.type === 'REPLACE' || event.type === 'CLOSE') && event.crossRegion === true,
    isMedicalAccountOpen: ({ event }) =>
      event.type === 'CLOSE' && event.hasMedicalAccount && !event.medicalAccountClosed,
  },
  actions: {
    record: assign(({ context, event }, state: LifecycleState) => ({
      history: [...context.history, { state, ...LIFECYCLE_LABELS[state], via: event.type }],
      lastRefusal: null,
    })),
    /** Replaced by the counter with one that stores the step; by default nothing is stored. */
    persist: () => undefined,
    refuse: assign(({ event }, refusal: Refusal) => ({ lastRefusal: { ...refusal, event: event.type } })),
    countAttempt: assign(({ context }) => ({
      productionAttempts: context.productionAttempts + 1,
      productionFailure: null,
    })),
    keepFailure: assign(({ event }) => ({
      productionFailure: event.type === 'PRODUCTION_FAILED' ? event.reason : null,
    })),
    markVerified: assign({ verifiedNormal: true }),
    activate: assign({ financialPasswordSet: true, pinChanged: true }),
    keepLossReport: assign(({ event }) => ({
      lossReport: event.type === 'REPORT_LOSS' ? { crossRegion: event.crossRegion } : null,
    })),
    clearLossReport: assign({ lossReport: null }),
    keepReplacement: assign(({ event }) =>
      event.type === 'REPLACE'
        ? {
            replacement: {
              generation: 3 as const,
              reason: event.reason,
              crossRegion: event.crossRegion === true,
            },
          }
        : {},
    ),
    keepClosure: assign(({ event }) =>
      event.type === 'CLOSE' ? { closure: { hadMedicalAccount: event.hasMedicalAccount } } : {},
    ),
  },
}).createMachine({
  id: 'cardLifecycle',
  context: ({ input }) => ({
    cardId: input.cardId,
    generation: 3,
    productionAttempts: 0,
    productionFailure: null,
    verifiedNormal: false,
    financialPasswordSet: false,
    pinChanged: false,
    lossReport: null,
    replacement: null,
    closure: null,
    history: [],
    lastRefusal: null,
  }),
  initial: 'applied',
  states: {
    applied: {
      entry: [{ type: 'record', params: 'applied' }, 'persist'],
      on: {
        SUBMIT_NORMAL: { target: 'inProduction', actions: 'countAttempt' },
        SUBMIT_INSTANT: 'instantPrinting',
      },
    },
    inProduction: {
      entry: [{ type: 'record', params: 'inProduction' }, 'persist'],
      on: {
        PRODUCTION_FAILED: { target: 'productionFailed', actions: 'keepFailure' },
        // The vendor ships the finished cards to the city branch.
        CITY_BRANCH_RECEIVED: 'atCityBranch',
      },
    },
    productionFailed: {
      entry: [{ type: 'record', params: 'productionFailed' }, 'persist'],
      on: { RESUBMIT: { target: 'inProduction', actions: 'countAttempt' } },
    },
    atCityBranch: {
      entry: [{ type: 'record', params: 'atCityBranch' }, 'persist'],
      on: { OUTLET_RECEIVED: 'atOutlet' },
    },
    atOutlet: {
      entry: [{ type: 'record', params: 'atOutlet' }, 'persist'],
      on: {
        ACTIVATE: [
          {
            guard: 'isFinancialPasswordMissing',
            actions: { type: 'refuse', params: REFUSALS.financialPasswordMissing },
          },
          { guard: 'isPinMissing', actions: { type: 'refuse', params: REFUSALS.pinMissing } },
          { guard: 'isInitialPin', actions: { type: 'refuse', params: REFUSALS.initialPin } },
          { guard: 'isPinMalformed', actions: { type: 'refuse', params: REFUSALS.pinMalformed } },
          { target: 'active', actions: 'activate' },
        ],
      },
    },
    instantPrinting: {
      entry: [{ type: 'record', params: 'instantPrinting' }, 'persist'],
      on: {
        PRODUCTION_DONE: 'printed',
        PRINTED_BUT_PENDING: 'printedButPending',
      },
    },
    printedButPending: {
      entry: [{ type: 'record', params: 'printedButPending' }, 'persist'],
      on: {
        MAKE_UP_REGISTRATION: 'printed',
        // R10.2: nothing else moves this card on; say what to do instead.
        '*': { actions: { type: 'refuse', params: REFUSALS.makeUpFirst } },
      },
    },
    printed: {
      entry: [{ type: 'record', params: 'printed' }, 'persist'],
      on: {
        VERIFY_NORMAL_STATE: [
          { guard: 'isStateNormal', target: 'atOutlet', actions: 'markVerified' },
          // The check found the system still says 制卡中: the R10.2 fault.
          { target: 'printedButPending' },
        ],
      },
    },
    active: {
      entry: [{ type: 'record', params: 'active' }, 'persist'],
      on: {
        REPORT_LOSS: { target: 'lossReported', actions: 'keepLossReport' },
        REPLACE: [
          { guard: 'isLostCard', actions: { type: 'refuse', params: REFUSALS.lostNotReported } },
          { guard: 'isElsewhere', actions: { type: 'refuse', params: REFUSALS.changeElsewhere } },
          { target: 'replaced', actions: 'keepReplacement' },
        ],
        CLOSE: [
          { guard: 'isElsewhere', actions: { type: 'refuse', params: REFUSALS.closeElsewhere } },
          { guard: 'isMedicalAccountOpen', actions: { type: 'refuse', params: REFUSALS.medicalAccountOpen } },
          { target: 'closed', actions: 'keepClosure' },
        ],
      },
    },
    lossReported: {
      entry: [{ type: 'record', params: 'lossReported' }, 'persist'],
      on: {
        RELEASE_LOSS: { target: 'active', actions: 'clearLossReport' },
        // 挂失补卡: also at another branch, online (R13).
        REPLACE: { target: 'replaced', actions: 'keepReplacement' },
        CLOSE: [
          { guard: 'isElsewhere', actions: { type: 'refuse', params: REFUSALS.closeElsewhere } },
          { guard: 'isMedicalAccountOpen', actions: { type: 'refuse', params: REFUSALS.medicalAccountOpen } },
          { target: 'closed', actions: 'keepClosure' },
        ],
      },
    },
    replaced: {
      type: 'final',
      entry: [{ type: 'record', params: 'replaced' }, 'persist'],
    },
    closed: {
      type: 'final',
      entry: [{ type: 'record', params: 'closed' }, 'persist'],
    },
  },
});

export type LifecycleSnapshot = SnapshotFrom<typeof cardLifecycleMachine>;

/**
 * A card already in the holder's hands when the counter first sees it (e.g. a gen 2 card issued
 * before 2020-09): the actor options to start it at `active`,
 * `createActor(cardLifecycleMachine, cardInService(cardId, 2))`.
 */
export function cardInService(
  cardId: string,
  generation: Generation,
): { input: LifecycleInput; snapshot: LifecycleSnapshot } {
  const snapshot = cardLifecycleMachine.resolveState({
    value: 'active',
    context: {
      cardId,
      generation,
      productionAttempts: 0,
      productionFailure: null,
      verifiedNormal: false,
      financialPasswordSet: generation !== 1,
      pinChanged: generation === 3,
      lossReport: null,
      replacement: null,
      closure: null,
      history: [{ state: 'active', ...LIFECYCLE_LABELS.active, via: 'in-service' }],
      lastRefusal: null,
    },
  });
  return { input: { cardId }, snapshot };
}

/** The label the outlet's progress query shows (R10.1 step 5), with the failure reason if any. */
export function progressOf(snapshot: LifecycleSnapshot): Bilingual {
  const state = snapshot.value as LifecycleState;
  const label = LIFECYCLE_LABELS[state];
  const why = state === 'productionFailed' ? snapshot.context.productionFailure : null;
  return why ? { zh: `${label.zh}：${why}`, en: `${label.en}: ${why}` } : { ...label };
}
