import { initialTransition, transition } from 'xstate';
import type { ArgsOf } from '../../../core/api/contract.ts';
import {
  cardLifecycleMachine,
  LIFECYCLE_LABELS,
  type LifecycleEvent,
  type LifecycleState,
} from '../../../state-machines/card-lifecycle.machine.ts';
import type { Bi } from './outcome.ts';

/**
 * Which issuance steps the counter offers for a card, asked of the card lifecycle machine
 * rather than kept in a table of its own, so the buttons cannot drift from the rules the
 * bank enforces (R10.1, R10.2).
 */

export type AdvanceEvent = ArgsOf<'counterAdvance'>['event'];

export const EVENTS: Record<AdvanceEvent, Bi> = {
  PRODUCTION_FAILED: { zh: '制卡失败（厂商）', en: 'production failed (vendor)' },
  RESUBMIT: { zh: '重新提交制卡', en: 're-submit' },
  CITY_BRANCH_RECEIVED: { zh: '市分行接收卡', en: 'city branch received' },
  OUTLET_RECEIVED: { zh: '网点接收卡', en: 'outlet received' },
  PRODUCTION_DONE: { zh: '制卡完成', en: 'production done' },
  PRINTED_BUT_PENDING: { zh: '卡面已打印，系统仍显示制卡中', en: 'printed, system still says in production' },
  MAKE_UP_REGISTRATION: { zh: '制卡补登', en: 'make-up registration' },
  VERIFY_NORMAL_STATE: { zh: '检查卡片状态', en: 'check the card state' },
};

/**
 * The clerk's step buttons, in the order they are shown. The instant printer's two answers
 * (PRODUCTION_DONE, PRINTED_BUT_PENDING) are not among them: they have buttons of their own.
 */
const STEP_ORDER: AdvanceEvent[] = [
  'CITY_BRANCH_RECEIVED',
  'PRODUCTION_FAILED',
  'RESUBMIT',
  'OUTLET_RECEIVED',
  'MAKE_UP_REGISTRATION',
  'VERIFY_NORMAL_STATE',
];

/**
 * The events asked about: answers the machine would accept where they belong (a vendor's
 * reason, a card found in normal state, a PIN that is not the initial one).
 */
const PROBE: { [K in AdvanceEvent | 'ACTIVATE']: LifecycleEvent } = {
  PRODUCTION_FAILED: { type: 'PRODUCTION_FAILED', reason: '制卡失败' },
  RESUBMIT: { type: 'RESUBMIT' },
  CITY_BRANCH_RECEIVED: { type: 'CITY_BRANCH_RECEIVED' },
  OUTLET_RECEIVED: { type: 'OUTLET_RECEIVED' },
  PRODUCTION_DONE: { type: 'PRODUCTION_DONE' },
  PRINTED_BUT_PENDING: { type: 'PRINTED_BUT_PENDING' },
  MAKE_UP_REGISTRATION: { type: 'MAKE_UP_REGISTRATION' },
  VERIFY_NORMAL_STATE: { type: 'VERIFY_NORMAL_STATE', normal: true },
  ACTIVATE: { type: 'ACTIVATE', financialPasswordSet: true, newPin: '864209' },
};

/** What the issuance section offers for a card in one lifecycle state. */
export interface IssuanceActions {
  /** The step buttons (counterAdvance). */
  steps: AdvanceEvent[];
  /** The instant printer's answers (counterPrintInstant). */
  printInstant: boolean;
  /** The collection form (counterActivate). */
  activate: boolean;
}

const NONE: IssuanceActions = { steps: [], printInstant: false, activate: false };
const cache = new Map<string, IssuanceActions>();

/** The machine's answer for a card in `state` (as counterProgress reports it). */
export function issuanceActions(state: string): IssuanceActions {
  if (!Object.hasOwn(LIFECYCLE_LABELS, state)) return NONE;
  let actions = cache.get(state);
  if (!actions) {
    actions = ask(state as LifecycleState);
    cache.set(state, actions);
  }
  return actions;
}

function ask(state: LifecycleState): IssuanceActions {
  // Only the state matters: the guards look at the event, never at the card's context.
  const [initial] = initialTransition(cardLifecycleMachine, { cardId: 'counter' });
  const snapshot = cardLifecycleMachine.resolveState({ value: state, context: initial.context });
  // can() is also true for an event the machine answers with a refusal (制卡补登 first, R10.2):
  // a step is offered only when the machine would take it without refusing.
  const accepts = (name: keyof typeof PROBE) => {
    const event = PROBE[name];
    return (
      snapshot.can(event) && transition(cardLifecycleMachine, snapshot, event)[0].context.lastRefusal === null
    );
  };
  return {
    steps: STEP_ORDER.filter(accepts),
    printInstant: accepts('PRODUCTION_DONE') && accepts('PRINTED_BUT_PENDING'),
    activate: accepts('ACTIVATE'),
  };
}
