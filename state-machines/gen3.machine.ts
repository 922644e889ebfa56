import {
  sessionSetup,
  sessionOutput,
  initialContext,
  paymentStates,
  passwordStates,
  endStates,
  holderState,
  waitingExits,
  backToAmount,
} from './session-setup.ts';

/**
 * Gen 3 (三代卡): the card's own PIN, verified offline by the card (R1.3), after the PSAM's
 * external authentication. The initial PIN 123456 is refused (R1.4); 63Cx shows the tries
 * left; a blocked PIN sends the holder to a bank outlet. Medical payments work with the host
 * down (stored and forwarded). A payment from the reserve/financial account needs the bank's
 * transaction password online, as on gen 2.
 */
export const gen3Machine = sessionSetup.createMachine({
  id: 'gen3',
  context: initialContext,
  initial: 'holder',
  output: sessionOutput,
  states: {
    holder: holderState({
      AMOUNT_ENTERED: [
        { guard: 'amountInvalid', actions: 'invalidAmount' },
        { guard: 'isReserve', target: 'awaitingPassword', actions: 'takeAmount' },
        { target: 'authenticating', actions: 'takeAmount' },
      ],
    }),
    authenticating: {
      entry: { type: 'say', params: { code: 'AUTHENTICATING' } },
      invoke: {
        id: 'authenticateCard',
        src: 'authenticateCard',
        input: ({ context }) => ({ card: context.card }),
        onDone: 'awaitingPin',
        onError: [
          {
            guard: 'cardRemoved',
            target: 'pulled',
            actions: { type: 'say', params: { code: 'CARD_PULLED' } },
          },
          { target: 'declined', actions: { type: 'failedWith', params: 'AUTH_FAILED' } },
        ],
      },
      on: waitingExits,
    },
    awaitingPin: {
      entry: { type: 'say', params: { code: 'ENTER_PIN' } },
      on: {
        PIN_ENTERED: [
          // R1.4: refused at the till, before the card sees it, so it costs no try.
          {
            guard: 'isInitialPin',
            target: 'declined',
            actions: { type: 'say', params: { code: 'INITIAL_PIN_REFUSED' } },
          },
          { target: 'verifyingPin' },
        ],
        ...backToAmount,
        ...waitingExits,
      },
    },
    verifyingPin: {
      invoke: {
        id: 'verifyPin',
        src: 'verifyPin',
        input: ({ event }) => ({ pin: event.type === 'PIN_ENTERED' ? event.pin : '' }),
        onDone: 'paying',
        onError: [
          { guard: 'wrongPinTriesLeft', target: 'awaitingPinAgain', actions: 'wrongPin' },
          {
            guard: 'pinBlocked',
            target: 'declined',
            actions: { type: 'say', params: { code: 'PIN_BLOCKED' } },
          },
          {
            guard: 'initialPinOnCard',
            target: 'declined',
            actions: { type: 'say', params: { code: 'INITIAL_PIN_REFUSED' } },
          },
          {
            guard: 'cardRemoved',
            target: 'pulled',
            actions: { type: 'say', params: { code: 'CARD_PULLED' } },
          },
          { target: 'declined', actions: { type: 'failedWith', params: 'CARD_ERROR' } },
        ],
      },
      on: { CARD_REMOVED: { target: 'pulled', actions: { type: 'say', params: { code: 'CARD_PULLED' } } } },
    },
    /** After a wrong PIN: the same as awaitingPin, but the screen keeps "wrong PIN, n tries left". */
    awaitingPinAgain: {
      on: {
        PIN_ENTERED: [
          {
            guard: 'isInitialPin',
            target: 'declined',
            actions: { type: 'say', params: { code: 'INITIAL_PIN_REFUSED' } },
          },
          { target: 'verifyingPin' },
        ],
        ...backToAmount,
        ...waitingExits,
      },
    },
    ...passwordStates(),
    ...paymentStates((method) => method === 'medical'),
    ...endStates(),
  },
});
