import { assign, fromPromise, sendTo, setup } from 'xstate';
import { gen1Machine } from './gen1.machine.ts';
import { gen2Machine } from './gen2.machine.ts';
import { gen3Machine } from './gen3.machine.ts';
import {
  failure,
  type CardSummary,
  type OperatorEvent,
  type PosMessage,
  type SessionResult,
} from './types.ts';

/**
 * The till: waits for a card, reads it (SSSE, EF05 → generation and expiry, EF06, and the
 * card's status), refuses unusable cards, then hands the session to the machine of the
 * card's generation and waits for the card to be removed.
 */
export interface TerminalContext {
  card: CardSummary | null;
  cardPresent: boolean;
  message: PosMessage;
  last: SessionResult | null;
}

const forwarded = ['AMOUNT_ENTERED', 'PIN_ENTERED', 'CANCEL', 'EDIT_AMOUNT', 'TIMEOUT'] as const;

export const terminalMachine = setup({
  types: {
    context: {} as TerminalContext,
    events: {} as OperatorEvent,
  },
  actors: {
    readCard: fromPromise<CardSummary, void>(async () => {
      throw new Error("actor 'readCard' must be provided by the terminal (machine.provide)");
    }),
    gen1: gen1Machine,
    gen2: gen2Machine,
    gen3: gen3Machine,
  },
  guards: {
    expired: ({ event }) => (event as unknown as { output: CardSummary }).output.expired,
    lossReported: ({ event }) =>
      (event as unknown as { output: CardSummary }).output.status === 'loss-reported',
    closed: ({ event }) => (event as unknown as { output: CardSummary }).output.status === 'closed',
    notActivated: ({ event }) =>
      (event as unknown as { output: CardSummary }).output.status === 'not-activated',
    isGen: ({ context }, gen: 1 | 2 | 3) => context.card?.generation === gen,
    readFailedBecauseRemoved: ({ event }) =>
      failure((event as unknown as { error: unknown }).error).code === 'CARD_REMOVED',
    cardStillIn: ({ context }) => context.cardPresent,
  },
  actions: {
    say: assign((_, message: PosMessage) => ({ message })),
    keepCard: assign(({ event }) => ({ card: (event as unknown as { output: CardSummary }).output })),
    refuse: assign(({ event }, code: PosMessage['code']) => {
      const card = (event as unknown as { output: CardSummary }).output;
      return { card, message: { code, params: { expiry: card.expiryDate } } };
    }),
    readFailed: assign(({ event }) => ({
      message: {
        code: 'READ_FAILED' as const,
        params: { reason: failure((event as unknown as { error: unknown }).error).message },
      },
    })),
    inserted: assign({ cardPresent: true, last: null }),
    removed: assign({ cardPresent: false }),
    reset: assign({ card: null, message: { code: 'INSERT_CARD' as const } }),
    sessionEnded: assign(({ event }) => {
      const last = (event as unknown as { output: SessionResult }).output;
      return { last, message: last.message };
    }),
    forward: sendTo('session', ({ event }) => event),
  },
}).createMachine({
  id: 'terminal',
  context: { card: null, cardPresent: false, message: { code: 'INSERT_CARD' }, last: null },
  initial: 'idle',
  states: {
    idle: {
      entry: 'reset',
      on: { CARD_INSERTED: { target: 'readingCard', actions: 'inserted' } },
    },
    readingCard: {
      entry: { type: 'say', params: { code: 'READING_CARD' } },
      invoke: {
        id: 'readCard',
        src: 'readCard',
        onDone: [
          { guard: 'expired', target: 'refused', actions: { type: 'refuse', params: 'CARD_EXPIRED' } },
          {
            guard: 'lossReported',
            target: 'refused',
            actions: { type: 'refuse', params: 'CARD_LOSS_REPORTED' },
          },
          { guard: 'closed', target: 'refused', actions: { type: 'refuse', params: 'CARD_CLOSED' } },
          {
            guard: 'notActivated',
            target: 'refused',
            actions: { type: 'refuse', params: 'CARD_NOT_ACTIVATED' },
          },
          { target: 'session', actions: 'keepCard' },
        ],
        onError: [
          { guard: 'readFailedBecauseRemoved', target: 'idle', actions: 'removed' },
          { target: 'refused', actions: 'readFailed' },
        ],
      },
      on: { CARD_REMOVED: { target: 'idle', actions: 'removed' } },
    },
    refused: {
      on: { CARD_REMOVED: { target: 'idle', actions: 'removed' } },
    },
    session: {
      initial: 'dispatch',
      states: {
        dispatch: {
          always: [
            { guard: { type: 'isGen', params: 1 }, target: 'gen1' },
            { guard: { type: 'isGen', params: 2 }, target: 'gen2' },
            { target: 'gen3' },
          ],
        },
        gen1: {
          invoke: {
            id: 'session',
            src: 'gen1',
            input: ({ context }) => ({ card: context.card! }),
            onDone: '#terminal.ended',
          },
        },
        gen2: {
          invoke: {
            id: 'session',
            src: 'gen2',
            input: ({ context }) => ({ card: context.card! }),
            onDone: '#terminal.ended',
          },
        },
        gen3: {
          invoke: {
            id: 'session',
            src: 'gen3',
            input: ({ context }) => ({ card: context.card! }),
            onDone: '#terminal.ended',
          },
        },
      },
      on: {
        ...Object.fromEntries(forwarded.map((t) => [t, { actions: 'forward' }])),
        // The generation machine decides what a pulled card means (e.g. reverse a debit).
        CARD_REMOVED: { actions: ['removed', 'forward'] },
      },
    },
    ended: {
      entry: 'sessionEnded',
      always: [{ guard: 'cardStillIn', target: 'removeCard' }, { target: 'idle' }],
    },
    removeCard: {
      on: { CARD_REMOVED: { target: 'idle', actions: 'removed' } },
    },
  },
});
