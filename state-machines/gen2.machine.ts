import {
  sessionSetup,
  sessionOutput,
  initialContext,
  paymentStates,
  endStates,
  holderState,
  waitingExits,
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
    awaitingPassword: {
      entry: { type: 'say', params: { code: 'ENTER_PASSWORD' } },
      on: { PIN_ENTERED: 'verifyingPassword', ...waitingExits },
    },
    verifyingPassword: {
      invoke: {
        id: 'verifyPassword',
        src: 'verifyPassword',
        input: ({ context, event }) => ({
          card: context.card,
          password: event.type === 'PIN_ENTERED' ? event.pin : '',
        }),
        onDone: 'paying',
        onError: [
          { guard: 'wrongPasswordTriesLeft', target: 'awaitingPasswordAgain', actions: 'wrongPassword' },
          {
            guard: 'passwordLocked',
            target: 'declined',
            actions: { type: 'say', params: { code: 'PASSWORD_LOCKED' } },
          },
          { guard: 'hostUnreachable', target: 'declined', actions: 'hostUnreachable' },
          { target: 'declined', actions: { type: 'failedWith', params: 'PAYMENT_DECLINED' } },
        ],
      },
      on: { CARD_REMOVED: { target: 'pulled', actions: { type: 'say', params: { code: 'CARD_PULLED' } } } },
    },
    awaitingPasswordAgain: {
      on: { PIN_ENTERED: 'verifyingPassword', ...waitingExits },
    },
    ...paymentStates(() => false),
    ...endStates(),
  },
});
