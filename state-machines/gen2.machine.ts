import {
  sessionSetup,
  sessionOutput,
  initialContext,
  paymentStates,
  passwordStates,
  endStates,
  holderState,
} from './session-setup.ts';

/**
 * Gen 2 (二代卡): one transaction password for the reserve and the medical account (R1.2),
 * kept and verified online by the bank. With the host unreachable nothing can be verified:
 * the payment is declined, saying why.
 */
export const gen2Machine = sessionSetup.createMachine({
  id: 'gen2',
  context: initialContext,
  initial: 'holder',
  output: sessionOutput,
  states: {
    holder: holderState({
      AMOUNT_ENTERED: [
        { guard: 'amountInvalid', actions: 'invalidAmount' },
        { target: 'awaitingPassword', actions: 'takeAmount' },
      ],
    }),
    ...passwordStates(),
    ...paymentStates(() => false),
    ...endStates(),
  },
});
