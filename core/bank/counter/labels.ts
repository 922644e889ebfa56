/**
 * The counter's words for lifecycle events, issuance modes and replacement reasons, and the
 * rule each event answers to: one table shared by the history, refusals, memos and receipts.
 */
import type {
  Bilingual,
  LifecycleEvent,
  ReplaceReason,
} from '../../../state-machines/card-lifecycle.machine.ts';

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
export const COUNTER_EVENT_LABELS: Readonly<Record<string, Bilingual>> = {
  ONE_CARD_MERGE: { zh: '一人一卡归并', en: 'one-person-one-card merge' },
};

export const EVENT_RULES: Record<LifecycleEvent['type'], string> = {
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

export const MODE_LABELS = {
  normal: { zh: '普通制卡', en: 'normal issuance' },
  instant: { zh: '即时制卡', en: 'instant issuance' },
} as const;

export const REASON_LABELS: Record<ReplaceReason, Bilingual> = {
  lost: { zh: '遗失补领', en: 'lost' },
  damaged: { zh: '损坏换领', en: 'damaged' },
  expired: { zh: '逾有效期换领', en: 'expired' },
  photo: { zh: '相片变更换领', en: 'photo change' },
};
