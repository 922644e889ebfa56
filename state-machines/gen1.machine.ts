import { sessionSetup, sessionOutput, initialContext, endStates, holderState } from './session-setup.ts';

/**
 * Gen 1 (一代卡): the social security application only (R1.1). Any payment is declined with
 * the reason, and the holder is told to apply for a gen 3 card.
 */
export const gen1Machine = sessionSetup.createMachine({
  id: 'gen1',
  context: initialContext,
  initial: 'holder',
  output: sessionOutput,
  states: {
    holder: holderState({
      AMOUNT_ENTERED: [
        { guard: 'amountInvalid', actions: 'invalidAmount' },
        {
          guard: 'isReserve',
          target: 'declined',
          actions: { type: 'say', params: { code: 'GEN1_NO_FINANCIAL' } },
        },
        { target: 'declined', actions: { type: 'say', params: { code: 'GEN1_NO_MEDICAL' } } },
      ],
    }),
    ...endStates(['declined', 'cancelled', 'pulled']),
  },
});
