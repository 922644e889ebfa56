/**
 * The crash soak's day at the till: a seeded, reproducible list of steps (payments, wrong PINs,
 * syncs, day closings) with the host link going down and up and the clock running across a
 * 21 June carry-over. The soak's parent writes it to a file; every child it starts plays a
 * stretch of it, and the parent checks the books against it after every kill.
 */
import { carryOverInstant } from '../../../core/host/medical.ts';
import type { LinkState, PaymentMethod } from '../../../core/host/types.ts';
import { businessDate } from '../../../core/time.ts';

export type SoakStepKind =
  /** gen3-active, medical, PIN 258014: online, or offline (queued) while the link is down. */
  | 'gen3-medical'
  /** gen3-active, from the financial account with the bank password 369258 (online only). */
  | 'gen3-reserve'
  /** gen2 with the transaction password 246810, medical or reserve (declined while the link is down). */
  | 'gen2'
  /** gen2 medical while the host applies the debit and loses its answer: the till reverses. */
  | 'gen2-answer-lost'
  /** gen3-active medical, the card pulled while the till is paying: reversed (queued when offline). */
  | 'pulled'
  /** The PIN witness card with a wrong PIN: one try gone (or PIN_BLOCKED once none is left). */
  | 'wrong-pin'
  /** The PIN witness unblocked at the bank counter (84 24): the only way its tries come back. */
  | 'unblock'
  /** The password witness, reserve, wrong bank password: one failure counted at the bank (link up). */
  | 'wrong-password'
  /** 日结: closes the business day `date`. */
  | 'settle'
  /** The operator's 上传: forwards the queue and the reversals owed (link up). */
  | 'sync';

export interface SoakStep {
  readonly i: number;
  readonly kind: SoakStepKind;
  /** The till's clock for this step (simulated time, ISO). */
  readonly at: string;
  readonly link: LinkState;
  readonly amountFen?: number;
  readonly method?: PaymentMethod;
  /** For 'settle': the business day closed. */
  readonly date?: string;
}

/**
 * Not a crash point of the app: the soak child's own host wrapper fires it, right after the
 * host applied a debit whose answer is lost (`gen2-answer-lost`) — the window in which a till
 * talking to a remote host dies before it hears of a debit the host holds. The reversal the till
 * wrote ahead of the debit settles it at the restart. Part of the soak's mix by default
 * (`inDoubtKills`): see docs/faults.md.
 */
export const IN_DOUBT_POINT = 'host-applied-answer-lost';

/** The cards of the soak (bundled fixtures) and their secrets. */
export const SOAK_CARDS = {
  /** Pays medical (PIN) and reserve (password). */
  gen3: { id: 'gen3-active', pin: '258014', password: '369258' },
  gen2: { id: 'gen2', password: '246810' },
  /** Only ever wrong PINs and counter unblocks: its try counter must follow exactly. */
  pinWitness: { id: 'gen3-hong-kong', wrongPin: '000000' },
  /** Only ever wrong bank passwords: its failure count must follow exactly. */
  passwordWitness: { id: 'gen3-foreigner', wrongPassword: '000000' },
} as const;

/** Far enough ahead that every queued entry is due: the till's start and the operator's 上传. */
export const EVERYTHING_DUE = new Date('9999-12-31T23:59:59Z');

export interface SoakLogTxn {
  id: string;
  kind: 'payment' | 'refund' | 'reversal';
  ref: string | null;
  cardId: string;
  amountFen: number;
  mode: 'online' | 'offline';
}

export type SoakLogLine =
  | { ev: 'begin'; step: number }
  | {
      ev: 'end';
      step: number;
      /** The session's end ('paid', 'declined', 'cancelled', 'reversed', 'pulled', 'refused') or 'done'. */
      result: string;
      /** The till's message code at the end (APPROVED, APPROVED_OFFLINE, WRONG_PIN…). */
      code: string;
      txns: SoakLogTxn[];
    };

/** Whether a step takes money (a payment attempt). */
export function isPaymentStep(kind: SoakStepKind): boolean {
  return (
    kind === 'gen3-medical' ||
    kind === 'gen3-reserve' ||
    kind === 'gen2' ||
    kind === 'gen2-answer-lost' ||
    kind === 'pulled'
  );
}

import { seededRandom } from '../../../core/random.ts';
export { seededRandom };

export interface SoakPlanOptions {
  seed: number;
  /** How many payments the soak aims to commit: sets the length and the pace of the clock. */
  payments: number;
  /** How many steps to plan (default three times `payments`); the clock's pace stays set by `payments`. */
  steps?: number;
  /**
   * Weights of the step kinds while the link is up, replacing the default mix's (MIX_UP) for the
   * kinds given, e.g. `{ 'gen2-answer-lost': 12 }` for more in-doubt debits. Whole numbers ≥ 0.
   */
  upWeights?: Partial<Record<SoakStepKind, number>>;
}

export interface SoakPlan {
  seed: number;
  /** When the ledger is prepared (before the first step). */
  setupAt: string;
  /** The 21 June carry-over instant the clock crosses. */
  carryOverAt: string;
  steps: SoakStep[];
}

type Weighted = readonly (readonly [SoakStepKind, number])[];

const MIX_UP: Weighted = [
  ['gen3-medical', 46],
  ['gen2', 22],
  ['gen3-reserve', 6],
  ['pulled', 4],
  ['gen2-answer-lost', 4],
  ['wrong-pin', 6],
  ['wrong-password', 2],
  ['sync', 5],
  ['settle', 5],
];
const MIX_DOWN: Weighted = [
  ['gen3-medical', 76],
  ['gen2', 4],
  ['pulled', 6],
  ['wrong-pin', 6],
  ['settle', 8],
];

/** The mix with some weights replaced (validated: known kinds of the mix, whole numbers ≥ 0). */
function withWeights(mix: Weighted, weights: Partial<Record<SoakStepKind, number>> | undefined): Weighted {
  if (weights === undefined) return mix;
  for (const [kind, w] of Object.entries(weights)) {
    if (!mix.some(([k]) => k === kind))
      throw new RangeError(`upWeights: ${kind} is not a step kind of the link-up mix`);
    if (!Number.isSafeInteger(w) || (w as number) < 0)
      throw new RangeError(`upWeights.${kind} must be a whole number ≥ 0, got ${String(w)}`);
  }
  const out = mix.map(([k, w]) => [k, weights[k] ?? w] as const);
  if (out.every(([, w]) => w === 0)) throw new RangeError('upWeights: every weight is 0');
  return out;
}

function pick(rnd: () => number, mix: Weighted): SoakStepKind {
  const total = mix.reduce((s, [, w]) => s + w, 0);
  let r = rnd() * total;
  for (const [k, w] of mix) {
    r -= w;
    if (r < 0) return k;
  }
  return mix[mix.length - 1]![0];
}

/**
 * The steps, three times as many as the payments aimed at unless told (the soak stops once
 * enough are committed). The clock runs over five days whatever the length, and crosses 21 June 2026
 * (00:00 Beijing) about 40 % of the way into the expected run.
 */
export function planSoak(options: SoakPlanOptions): SoakPlan {
  const { seed, payments } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a whole number, got ${seed}`);
  if (!Number.isSafeInteger(payments) || payments < 1)
    throw new RangeError(`payments must be a whole number ≥ 1, got ${payments}`);
  const total = options.steps ?? payments * 3;
  if (!Number.isSafeInteger(total) || total < 1)
    throw new RangeError(`steps must be a whole number ≥ 1, got ${total}`);
  const mixUp = withWeights(MIX_UP, options.upWeights);
  const rnd = seededRandom(seed);
  const expectedSteps = Math.ceil(payments * 1.5);
  const stepMs = Math.max(60_000, Math.floor((5 * 86_400_000) / expectedSteps));
  const carry = carryOverInstant(2026).getTime();
  const start = carry - Math.floor(expectedSteps * 0.4) * stepMs;
  const steps: SoakStep[] = [];
  let link: LinkState = 'up';
  let day = businessDate(new Date(start));
  let pinTries = 3; // the witness's (bundled with the default limit of 3)
  let unblockIn = -1;
  const push = (s: Omit<SoakStep, 'i'>) => steps.push({ i: steps.length, ...s });
  for (let n = 0; steps.length < total; n++) {
    const at = new Date(start + n * stepMs);
    const iso = at.toISOString();
    const today = businessDate(at);
    if (today !== day) {
      push({ kind: 'settle', at: iso, link, date: day }); // yesterday's closing, first thing
      day = today;
    }
    const wasDown = link === 'down';
    if (link === 'up' && rnd() < 0.04) link = 'down';
    else if (link === 'down' && rnd() < 0.12) link = 'up';
    if (wasDown && link === 'up') {
      push({ kind: 'sync', at: iso, link });
      continue;
    }
    if (unblockIn === 0) {
      push({ kind: 'unblock', at: iso, link });
      pinTries = 3;
      unblockIn = -1;
      continue;
    }
    if (unblockIn > 0) unblockIn--;
    const kind = pick(rnd, link === 'up' ? mixUp : MIX_DOWN);
    switch (kind) {
      case 'gen3-medical':
      case 'pulled':
        push({ kind, at: iso, link, method: 'medical', amountFen: 100 + Math.floor(rnd() * 7900) });
        break;
      case 'gen3-reserve':
        push({ kind, at: iso, link, method: 'reserve', amountFen: 100 + Math.floor(rnd() * 1900) });
        break;
      case 'gen2':
        push({
          kind,
          at: iso,
          link,
          method: rnd() < 0.7 ? 'medical' : 'reserve',
          amountFen: 100 + Math.floor(rnd() * 2900),
        });
        break;
      case 'gen2-answer-lost':
        push({ kind, at: iso, link, method: 'medical', amountFen: 100 + Math.floor(rnd() * 2900) });
        break;
      case 'wrong-pin':
        push({ kind, at: iso, link });
        if (pinTries > 0) pinTries--;
        if (pinTries === 0 && unblockIn < 0) unblockIn = Math.floor(rnd() * 8);
        break;
      case 'settle':
        push({ kind, at: iso, link, date: today });
        break;
      default:
        push({ kind, at: iso, link });
    }
  }
  return {
    seed,
    setupAt: new Date(start - 3_600_000).toISOString(),
    carryOverAt: new Date(carry).toISOString(),
    steps,
  };
}
