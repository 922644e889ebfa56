import { assign, fromPromise, setup } from 'xstate';
import type { PaymentMethod } from '../core/host/types.ts';
import {
  failure,
  MAX_AMOUNT_FEN,
  type ActorFailure,
  type CardSummary,
  type OperatorEvent,
  type PaymentOutcome,
  type PosMessage,
  type SessionResult,
} from './types.ts';

/**
 * What the three generation machines share: context, events, the named actors they invoke,
 * guards and actions. Each generation machine (gen1/gen2/gen3.machine.ts) is created from
 * this setup with its own states. Actors here only declare their shape: the terminal
 * supplies the real ones (card, PSAM, host, ledger) with `.provide({ actors })`.
 */
export interface SessionContext {
  card: CardSummary;
  amountFen: number;
  method: PaymentMethod;
  paymentId: string | null;
  /** Counts payment attempts, for ids made by the default assignPaymentId. */
  seq: number;
  triesLeft: number | null;
  message: PosMessage;
  outcome: PaymentOutcome | null;
  result: SessionResult['result'] | null;
}

export interface SessionInput {
  card: CardSummary;
}

export interface DebitInput {
  paymentId: string;
  card: CardSummary;
  amountFen: number;
  method: PaymentMethod;
  /** Gen 3 medical payments may be taken offline and forwarded later (R1.3). */
  offlineAllowed: boolean;
}

export interface ReverseOutput {
  /** true when the host took the reversal now; false when it is queued for forwarding. */
  online: boolean;
}

const unprovided = (name: string) =>
  fromPromise<never, unknown>(async () => {
    throw new Error(`actor '${name}' must be provided by the terminal (machine.provide)`);
  });

export function amountProblem(amountFen: number): string | null {
  if (!Number.isSafeInteger(amountFen)) return 'not a whole number of fen';
  if (amountFen <= 0) return 'must be more than 0';
  if (amountFen > MAX_AMOUNT_FEN) return 'too large';
  return null;
}

type ErrorEvent = { error: unknown };
const err = (event: unknown): ActorFailure => failure((event as ErrorEvent).error);

export const sessionSetup = setup({
  types: {
    context: {} as SessionContext,
    events: {} as OperatorEvent,
    input: {} as SessionInput,
    output: {} as SessionResult,
  },
  actors: {
    authenticateCard: unprovided('authenticateCard') as ReturnType<
      typeof fromPromise<void, { card: CardSummary }>
    >,
    verifyPin: unprovided('verifyPin') as ReturnType<typeof fromPromise<void, { pin: string }>>,
    verifyPassword: unprovided('verifyPassword') as ReturnType<
      typeof fromPromise<void, { card: CardSummary; password: string }>
    >,
    debit: unprovided('debit') as ReturnType<typeof fromPromise<PaymentOutcome, DebitInput>>,
    reverse: unprovided('reverse') as ReturnType<
      typeof fromPromise<ReverseOutput, { paymentId: string; card: CardSummary }>
    >,
  },
  guards: {
    amountInvalid: ({ event }) => event.type === 'AMOUNT_ENTERED' && amountProblem(event.amountFen) !== null,
    isReserve: ({ event }) => event.type === 'AMOUNT_ENTERED' && event.method === 'reserve',
    isInitialPin: ({ event }) => event.type === 'PIN_ENTERED' && event.pin === '123456',
    cardRemoved: ({ event }) => err(event).code === 'CARD_REMOVED',
    wrongPinTriesLeft: ({ event }) => err(event).code === 'WRONG_PIN' && (err(event).triesLeft ?? 0) > 0,
    pinBlocked: ({ event }) =>
      err(event).code === 'PIN_BLOCKED' ||
      (err(event).code === 'WRONG_PIN' && (err(event).triesLeft ?? 0) === 0),
    initialPinOnCard: ({ event }) => err(event).code === 'INITIAL_PIN',
    wrongPasswordTriesLeft: ({ event }) =>
      err(event).code === 'WRONG_PASSWORD' && (err(event).triesLeft ?? 0) > 0,
    passwordLocked: ({ event }) =>
      err(event).code === 'PASSWORD_LOCKED' ||
      (err(event).code === 'WRONG_PASSWORD' && (err(event).triesLeft ?? 0) === 0),
    hostUnreachable: ({ event }) => err(event).code === 'HOST_DOWN' || err(event).code === 'HOST_TIMEOUT',
    hostTimedOut: ({ event }) => err(event).code === 'HOST_TIMEOUT',
    insufficientFunds: ({ event }) => err(event).code === 'INSUFFICIENT_FUNDS',
    reversedOnline: ({ event }) => (event as unknown as { output: ReverseOutput }).output.online,
  },
  actions: {
    takeAmount: assign(({ event }) =>
      event.type === 'AMOUNT_ENTERED' ? { amountFen: event.amountFen, method: event.method } : {},
    ),
    say: assign((_, message: PosMessage) => ({ message })),
    invalidAmount: assign(({ event }) => ({
      message: {
        code: 'INVALID_AMOUNT' as const,
        params: { reason: event.type === 'AMOUNT_ENTERED' ? (amountProblem(event.amountFen) ?? '') : '' },
      },
    })),
    /** Replaced by the terminal with its ledger's id generator; the default suits model walks. */
    assignPaymentId: assign(({ context }) => ({
      seq: context.seq + 1,
      paymentId: `${context.card.cardNumber}-${context.seq + 1}`,
    })),
    wrongPin: assign(({ event }) => ({
      triesLeft: err(event).triesLeft ?? null,
      message: { code: 'WRONG_PIN' as const, params: { triesLeft: err(event).triesLeft ?? 0 } },
    })),
    wrongPassword: assign(({ event }) => ({
      triesLeft: err(event).triesLeft ?? null,
      message: { code: 'WRONG_PASSWORD' as const, params: { triesLeft: err(event).triesLeft ?? 0 } },
    })),
    failedWith: assign(({ event }, code: PosMessage['code']) => ({
      message: { code, params: { reason: err(event).message } },
    })),
    hostUnreachable: assign(({ context, event }) => ({
      message: {
        code:
          context.card.generation === 2 ? ('HOST_UNREACHABLE_GEN2' as const) : ('HOST_UNREACHABLE' as const),
        params: { reason: err(event).code === 'HOST_TIMEOUT' ? 'HOST_TIMEOUT' : 'HOST_DOWN' },
      },
    })),
    paid: assign(({ event }) => {
      const outcome = (event as unknown as { output: PaymentOutcome }).output;
      return {
        outcome,
        result: 'paid' as const,
        message: { code: outcome.mode === 'offline' ? ('APPROVED_OFFLINE' as const) : ('APPROVED' as const) },
      };
    }),
    end: assign((_, result: SessionResult['result']) => ({ result })),
  },
});

/** The shared part of every generation machine's output. */
export const sessionOutput = ({ context }: { context: SessionContext }): SessionResult => ({
  result: context.result ?? 'cancelled',
  message: context.message,
  outcome: context.outcome,
});

export function initialContext({ input }: { input: SessionInput }): SessionContext {
  return {
    card: input.card,
    amountFen: 0,
    method: 'medical',
    paymentId: null,
    seq: 0,
    triesLeft: null,
    message: { code: 'ENTER_AMOUNT' },
    outcome: null,
    result: null,
  };
}

type MachineConfig = Parameters<typeof sessionSetup.createMachine>[0];
export type SessionStates = NonNullable<MachineConfig['states']>;

/** Cancel, timeout and removal while the terminal waits for the operator or the holder. */
export const waitingExits = {
  CANCEL: { target: 'cancelled', actions: [{ type: 'say', params: { code: 'CANCELLED' } }] },
  TIMEOUT: { target: 'cancelled', actions: [{ type: 'say', params: { code: 'TIMED_OUT' } }] },
  CARD_REMOVED: { target: 'pulled', actions: [{ type: 'say', params: { code: 'CARD_PULLED' } }] },
} as const;

/**
 * While the PIN or password is asked for, the cashier may go back to the amount (Esc at the PIN
 * pad) to correct it or the payment method: nothing has reached the card or the bank yet.
 */
export const backToAmount = { EDIT_AMOUNT: 'holder' } as const;

/** How a session ends; a generation that cannot pay has no 'paid' or 'reversed' end. */
export function endStates(
  results: readonly SessionResult['result'][] = ['paid', 'declined', 'cancelled', 'pulled', 'reversed'],
): SessionStates {
  return Object.fromEntries(
    results.map((r) => [r, { type: 'final' as const, entry: { type: 'end' as const, params: r } }]),
  ) as SessionStates;
}

/**
 * The debit, shared by the generations that can pay: entered once the holder is verified;
 * an interrupted debit is reversed.
 */
export function paymentStates(offlineAllowed: (method: PaymentMethod) => boolean): SessionStates {
  return {
    paying: {
      entry: [{ type: 'assignPaymentId' }, { type: 'say', params: { code: 'PROCESSING' } }],
      invoke: {
        id: 'debit',
        src: 'debit',
        input: ({ context }) => ({
          paymentId: context.paymentId!,
          card: context.card,
          amountFen: context.amountFen,
          method: context.method,
          offlineAllowed: offlineAllowed(context.method),
        }),
        onDone: { target: 'paid', actions: 'paid' },
        onError: [
          { guard: 'cardRemoved', target: 'reversing' },
          // No answer in time: the host may have applied the debit. Reverse it to be sure.
          { guard: 'hostTimedOut', target: 'reversing' },
          {
            guard: 'insufficientFunds',
            target: 'declined',
            actions: { type: 'failedWith', params: 'INSUFFICIENT_FUNDS' },
          },
          { guard: 'hostUnreachable', target: 'declined', actions: 'hostUnreachable' },
          { target: 'declined', actions: { type: 'failedWith', params: 'PAYMENT_DECLINED' } },
        ],
      },
      on: {
        // The money may already have moved: never just walk away from a debit.
        CARD_REMOVED: 'reversing',
        CANCEL: 'reversing',
      },
    },
    reversing: {
      invoke: {
        id: 'reverse',
        src: 'reverse',
        input: ({ context }) => ({ paymentId: context.paymentId!, card: context.card }),
        onDone: [
          {
            guard: 'reversedOnline',
            target: 'reversed',
            actions: { type: 'say', params: { code: 'REVERSED' } },
          },
          { target: 'reversed', actions: { type: 'say', params: { code: 'REVERSAL_QUEUED' } } },
        ],
        onError: { target: 'reversed', actions: { type: 'say', params: { code: 'REVERSAL_QUEUED' } } },
      },
    },
  };
}

/**
 * The bank's transaction password, verified online (R1.2): gen 2 for every payment, gen 3 for
 * payments from the reserve/financial account. Wrong: tries left, ask again; locked or host
 * unreachable: declined, saying why.
 */
export function passwordStates(): SessionStates {
  return {
    awaitingPassword: {
      entry: { type: 'say', params: { code: 'ENTER_PASSWORD' } },
      on: { PIN_ENTERED: 'verifyingPassword', ...backToAmount, ...waitingExits },
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
    /** After a wrong password: waits again, the screen keeps "n tries left". */
    awaitingPasswordAgain: {
      on: { PIN_ENTERED: 'verifyingPassword', ...backToAmount, ...waitingExits },
    },
  };
}

/** Entering the amount: common to every generation; `next` is where a valid amount goes. */
export function holderState(next: SessionStates[string]['on']): SessionStates[string] {
  return {
    entry: { type: 'say', params: { code: 'ENTER_AMOUNT' } },
    on: {
      ...next,
      ...waitingExits,
    },
  };
}
