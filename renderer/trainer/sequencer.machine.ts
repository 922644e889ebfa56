import { assign, fromPromise, setup } from 'xstate';
import type { Bi } from '../apdu-decode.ts';
import { StepFailure, errorWords, type CheckResult, type Demo, type StepReport } from './runner.ts';

/**
 * The demo sequencer of trainer mode: idle → starting (a fresh training sandbox) → waiting
 * for 下一步 → running step n → waiting … → done. A step whose outcome is not what its
 * caption says stops the demo in `failed`, saying what went wrong; the trainer may retry the
 * step or start the demo again. Autoplay runs the next step after `delayMs`.
 *
 * The two actors are supplied by the panel (`machine.provide`), so this file stays pure.
 */
export interface SequencerContext {
  demo: Demo | null;
  /** The next step to run (= the number of steps done). */
  index: number;
  reports: StepReport[];
  error: { problem: Bi; checks: CheckResult[]; stepIndex: number } | null;
  autoplay: boolean;
  delayMs: number;
}

export type SequencerEvent =
  | { type: 'START'; demo: Demo; autoplay?: boolean }
  | { type: 'NEXT' }
  | { type: 'AUTOPLAY'; on: boolean }
  | { type: 'SPEED'; delayMs: number }
  | { type: 'RETRY' }
  | { type: 'RESTART' }
  | { type: 'STOP' };

const unprovided = (name: string) =>
  fromPromise<never, unknown>(async () => {
    throw new Error(`actor '${name}' must be provided by the trainer panel`);
  });

function failureOf(e: unknown, stepIndex: number): NonNullable<SequencerContext['error']> {
  if (e instanceof StepFailure) return { problem: e.problem, checks: e.report.checks, stepIndex };
  const w = errorWords(e);
  return { problem: w, checks: [], stepIndex };
}

export const sequencerMachine = setup({
  types: {
    context: {} as SequencerContext,
    events: {} as SequencerEvent,
    input: {} as { delayMs?: number } | undefined,
  },
  actors: {
    /** Enters a fresh training sandbox for the demo. */
    startDemo: unprovided('startDemo') as ReturnType<typeof fromPromise<void, { demo: Demo }>>,
    /** Performs and checks one step. */
    runStep: unprovided('runStep') as ReturnType<
      typeof fromPromise<StepReport, { demo: Demo; index: number }>
    >,
  },
  delays: {
    autoplayDelay: ({ context }) => context.delayMs,
  },
  guards: {
    autoplay: ({ context }) => context.autoplay,
    allDone: ({ context }) => context.demo !== null && context.index >= context.demo.steps.length,
  },
}).createMachine({
  id: 'demoSequencer',
  context: ({ input }) => ({
    demo: null,
    index: 0,
    reports: [],
    error: null,
    autoplay: false,
    delayMs: input?.delayMs ?? 1500,
  }),
  initial: 'idle',
  on: {
    START: {
      target: '.starting',
      actions: assign(({ event }) => ({
        demo: event.demo,
        index: 0,
        reports: [],
        error: null,
        autoplay: event.autoplay ?? false,
      })),
    },
    STOP: {
      target: '.idle',
      actions: assign({ demo: null, index: 0, reports: [], error: null, autoplay: false }),
    },
    AUTOPLAY: { actions: assign(({ event }) => ({ autoplay: event.on })) },
    SPEED: { actions: assign(({ event }) => ({ delayMs: event.delayMs })) },
  },
  states: {
    idle: {},
    starting: {
      entry: assign({ error: null }),
      invoke: {
        src: 'startDemo',
        input: ({ context }) => ({ demo: context.demo! }),
        onDone: 'waiting',
        onError: {
          target: 'failed',
          actions: assign(({ event }) => ({ error: failureOf(event.error, -1), autoplay: false })),
        },
      },
    },
    waiting: {
      always: { guard: 'allDone', target: 'done' },
      after: { autoplayDelay: { guard: 'autoplay', target: 'running' } },
      on: {
        NEXT: 'running',
        // Turning autoplay on plays the next step now; off, the pending timer finds it off.
        AUTOPLAY: [
          {
            guard: ({ event }) => event.on,
            target: 'running',
            actions: assign({ autoplay: true }),
          },
          { actions: assign({ autoplay: false }) },
        ],
      },
    },
    running: {
      invoke: {
        src: 'runStep',
        input: ({ context }) => ({ demo: context.demo!, index: context.index }),
        onDone: {
          target: 'waiting',
          actions: assign(({ context, event }) => ({
            reports: [...context.reports, event.output],
            index: context.index + 1,
          })),
        },
        onError: {
          target: 'failed',
          actions: assign(({ context, event }) => ({
            error: failureOf(event.error, context.index),
            autoplay: false,
          })),
        },
      },
    },
    failed: {
      on: {
        RETRY: [
          { guard: ({ context }) => (context.error?.stepIndex ?? -1) < 0, target: 'starting' },
          { target: 'running', actions: assign({ error: null }) },
        ],
        RESTART: {
          target: 'starting',
          actions: assign({ index: 0, reports: [], error: null, autoplay: false }),
        },
      },
    },
    done: {
      entry: assign({ autoplay: false }),
      on: {
        RESTART: {
          target: 'starting',
          actions: assign({ index: 0, reports: [], error: null }),
        },
      },
    },
  },
});

export type SequencerState = 'idle' | 'starting' | 'waiting' | 'running' | 'failed' | 'done';
