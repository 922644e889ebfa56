import { describe, expect, it } from 'vitest';
import { LIFECYCLE_LABELS, type LifecycleState } from '../../../state-machines/card-lifecycle.machine.ts';
import { issuanceActions, type AdvanceEvent, type IssuanceActions } from './issuance-actions.ts';

/** The hand-written table the counter used before it asked the machine (kept here as the oracle). */
const OLD_NEXT: Record<string, AdvanceEvent[]> = {
  inProduction: ['CITY_BRANCH_RECEIVED', 'PRODUCTION_FAILED'],
  productionFailed: ['RESUBMIT'],
  atCityBranch: ['OUTLET_RECEIVED'],
  printedButPending: ['MAKE_UP_REGISTRATION'],
  printed: ['VERIFY_NORMAL_STATE'],
};

function oldActions(state: string): IssuanceActions {
  return {
    steps: OLD_NEXT[state] ?? [],
    printInstant: state === 'instantPrinting',
    activate: state === 'atOutlet',
  };
}

const STATES = Object.keys(LIFECYCLE_LABELS) as LifecycleState[];

describe('the issuance actions come from the card lifecycle machine', () => {
  it.each(STATES)('%s: the same buttons, in the same order, as the old table', (state) => {
    expect(issuanceActions(state)).toEqual(oldActions(state));
  });

  it('a state the machine does not know offers nothing, as before', () => {
    expect(issuanceActions('noSuchState')).toEqual(oldActions('noSuchState'));
  });

  it('every lifecycle state is covered', () => {
    expect(STATES).toHaveLength(12);
  });
});
