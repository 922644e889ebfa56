import { z } from 'zod';
import { cardProfileSchema } from '../card/profile.ts';
import { MESSAGE_CODES } from '../../state-machines/messages.ts';
import type { MessageCode } from '../../state-machines/types.ts';
import { YUAN_PATTERN } from './money.ts';
import { CRASH_POINTS as CRASH_POINT_LIST, type CrashPoint } from '../crash-points.ts';
import { interfaceStepSchema, readerInterfaceHeaderSchema } from './interface-step-schema.ts';

/**
 * The scenario file format (YAML): a header (name, rules, card, reader, host, settings,
 * clock) and a list of steps. Documented in docs/scenarios.md; the JSON Schema in
 * fixtures/scenario.schema.json is generated from these definitions
 * (scripts/gen-scenario-schema.ts), so editors with the YAML language server complete and
 * check scenario files.
 *
 * Steps are one-key mappings (`- amount: "12.50"`) or, for steps without a value, a bare word
 * (`- insert`). The loader (load.ts) picks the step's schema by its key, so an error names the
 * step's own field rather than every possible step kind.
 */

// ---- values ---------------------------------------------------------------------------------

/** A type error's message: "is required" when the field is missing, else the hint given. */
const hint =
  (text: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : text;

export const yuanText = z
  .string({ error: hint('must be yuan as text in quotes, e.g. "12.50" (a bare 12.50 is read as a float)') })
  .regex(YUAN_PATTERN, 'must be yuan with at most two decimals, e.g. "12.50"')
  .describe('Yuan as text, exact to the fen: "12.50"');

/** Fen as a whole number, or yuan as text; null where an account does not exist. */
const moneyValue = z
  .union([z.number().int().min(0), yuanText, z.null()], {
    error: 'must be fen (a whole number, 1250) or yuan in quotes ("12.50"), or null for no such account',
  })
  .describe('Fen as a whole number (1250), or yuan as text ("12.50"); null: the account does not exist');

const digitsText = (what: string) =>
  z
    .string({ error: hint(`must be the ${what} as digits in quotes, e.g. "012345"`) })
    .regex(/^[0-9]{1,12}$/, `must be the ${what} as 1 to 12 digits`);

const sixDigits = (what: string) =>
  z
    .string({ error: hint(`must be the ${what} as six digits in quotes, e.g. "012345"`) })
    .regex(/^[0-9]{6}$/, `must be the ${what} as six digits`);

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

/** An instant with its UTC offset, or a date alone (09:00 Beijing time that day). */
export const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const instantOrDate = z
  .string({
    error: hint('must be an ISO instant with offset (2026-06-21T10:00:00+08:00) or a date (2026-06-21)'),
  })
  .refine(
    (s) =>
      (INSTANT_PATTERN.test(s) || /^\d{4}-\d{2}-\d{2}$/.test(s)) &&
      !Number.isNaN(new Date(/T/.test(s) ? s : `${s}T09:00:00+08:00`).getTime()),
    'must be an ISO instant with offset (2026-06-21T10:00:00+08:00) or a date (2026-06-21)',
  );

export const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
const duration = z
  .string({ error: hint('must be a duration such as "1d", "2h30m", "90s", "500ms"') })
  .refine(
    (s) => s !== '' && DURATION_PATTERN.test(s),
    'must be a duration such as "1d", "2h30m", "90s", "500ms"',
  );

const ruleId = z
  .string()
  .regex(/^R\d{1,2}(\.\d{1,2})?$/, 'must be a rule id such as R1.4 (see domain-rules.md)');

/**
 * A card: the id of a bundled card (`gen3-active`, see `sscard cards`), a profile JSON file
 * relative to the scenario file (`cards/my-card.json`), or a profile written inline.
 */
export const cardRef = z
  .union([z.string().min(1), cardProfileSchema], {
    error: 'must be a bundled card id, a profile file (.json) relative to this file, or an inline profile',
  })
  .meta({
    id: 'card',
    description:
      'A bundled card id (gen3-active), a card profile JSON file relative to the scenario file, or an inline profile',
  });

// ---- header ---------------------------------------------------------------------------------

export const LINK_STATES = ['up', 'down', 'slow'] as const;
export const MEDICAL_ORDERS = ['current-first', 'prior-first'] as const;
export const SHORTFALL_POLICIES = ['self-pay', 'decline'] as const;

const readerSpec = z
  .union(
    [
      z.literal('virtual'),
      z.object({ pcsc: z.string().min(1).describe('PC/SC reader name or a unique part of it') }).strict(),
    ],
    {
      error: 'must be virtual, or { pcsc: "<reader name>" }',
    },
  )
  .describe('virtual (the in-process reader, default) or { pcsc: "<reader name>" }');

const hostSpec = z
  .object({
    link: z.enum(LINK_STATES).default('up').describe('The host link at the start: up, down or slow'),
    timeoutMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(300)
      .describe('How long the terminal waits for the host (a slow link answers after 5 s)'),
  })
  .strict();

const settingsSpec = z
  .object({
    medicalOrder: z
      .enum(MEDICAL_ORDERS)
      .default('current-first')
      .describe('Which medical sub-account pays first (R4): 95000 current year, or 95001 prior year'),
    shortfall: z
      .enum(SHORTFALL_POLICIES)
      .default('self-pay')
      .describe('When the medical accounts fall short: the holder pays the rest in cash, or decline'),
  })
  .strict();

export const DEFAULT_START = '2026-03-02T10:00:00+08:00';

export const headerShape = {
  $schema: z.string().optional(),
  name: z
    .string({ error: hint('must be the scenario name as text') })
    .min(1)
    .describe('Scenario name, shown in reports'),
  description: z.string().optional().describe('What the scenario shows, for people'),
  rules: z.array(ruleId).default([]).describe('The rules it checks: [R1.4, R4.2]'),
  card: cardRef.optional().describe('The card the steps use unless a step names another one'),
  reader: readerSpec.default('virtual'),
  host: hostSpec.default({ link: 'up', timeoutMs: 300 }),
  settings: settingsSpec.default({ medicalOrder: 'current-first', shortfall: 'self-pay' }),
  clock: instantOrDate
    .default(DEFAULT_START)
    .describe(
      'Start instant with its offset (2026-06-20T10:00:00+08:00); a date alone means 09:00 Beijing time',
    ),
  readerInterface: readerInterfaceHeaderSchema
    .optional()
    .describe('The reader interface session the `interface` steps share (settings, counter key)'),
  stepTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe('How long a step may wait for the till to settle'),
};

// ---- steps ----------------------------------------------------------------------------------

/** The crash points of core/crash-points.ts, where a `crash` step has the till killed. */
export const CRASH_POINTS = CRASH_POINT_LIST as readonly CrashPoint[] as [CrashPoint, ...CrashPoint[]];
export type CrashPointName = CrashPoint;

export const HOST_STEPS = ['up', 'down', 'slow', 'error', 'drop-after-apply'] as const;

const amountObject = z
  .object({
    yuan: yuanText,
    method: z
      .enum(['medical', 'reserve'])
      .default('medical')
      .describe('medical: the medical account (PIN on gen 3); reserve: the financial account (password)'),
  })
  .strict();

const counterActions = z.discriminatedUnion(
  'action',
  [
    z
      .object({
        action: z.literal('change-pin'),
        old: sixDigits('old PIN'),
        new: sixDigits('new PIN'),
        card: cardRef.optional(),
      })
      .strict()
      .describe('修改密码: change the card PIN with the old one (the new one cannot be 123456, R1.4)'),
    z
      .object({ action: z.literal('unblock'), card: cardRef.optional() })
      .strict()
      .describe('密码解锁: reset the PIN try counter with the counter key; the PIN is unchanged'),
    z
      .object({
        action: z.literal('report-loss'),
        crossRegion: z.boolean().default(false),
        card: cardRef.optional(),
      })
      .strict()
      .describe('挂失: the card is then refused at every POS'),
    z
      .object({
        action: z.literal('release-loss'),
        crossRegion: z.boolean().default(false),
        card: cardRef.optional(),
      })
      .strict()
      .describe('解挂: the card is active again'),
    z
      .object({
        action: z.literal('activate'),
        newPin: sixDigits('new PIN'),
        password: sixDigits('financial password'),
        card: cardRef.optional(),
      })
      .strict()
      .describe('领卡启用: set the PIN and the financial password of a card waiting at the outlet'),
  ],
  { error: 'must name an action: change-pin, unblock, report-loss, release-loss or activate' },
);
export const COUNTER_ACTIONS = ['change-pin', 'unblock', 'report-loss', 'release-loss', 'activate'] as const;

const faultObject = z.union(
  [
    z
      .object({
        removeCardAtApdu: z
          .number()
          .int()
          .min(1)
          .describe('Pull the card out while the n-th APDU from now is in flight'),
      })
      .strict(),
    z
      .object({
        removeCardInState: z
          .string()
          .min(1)
          .describe('Pull the card out as soon as the till enters this state (paying, verifyingPin…)'),
      })
      .strict(),
    z
      .object({
        detachReaderAtApdu: z
          .number()
          .int()
          .min(1)
          .describe('Unplug the reader at the n-th APDU from now (reattach with `fault: reattach`)'),
      })
      .strict(),
    z
      .object({
        corruptRecord: z
          .object({
            file: z.enum(['EF05', 'EF06']),
            record: z.number().int().min(1).max(255),
            mode: z
              .enum(['flip', 'truncate', 'garbage'])
              .default('flip')
              .describe('flip: every bit inverted; truncate: only the first byte; garbage: noise'),
          })
          .strict(),
      })
      .strict(),
    z.enum(['none', 'reattach']),
  ],
  {
    error:
      'must be { removeCardAtApdu: n }, { removeCardInState: paying }, { detachReaderAtApdu: n }, { corruptRecord: { file, record, mode } }, none or reattach',
  },
);

// ---- expectations ---------------------------------------------------------------------------

export const RESULTS = ['paid', 'declined', 'cancelled', 'pulled', 'reversed', 'refused'] as const;
export const TERMINAL_STATES = ['idle', 'readingCard', 'refused', 'session', 'ended', 'removeCard'] as const;
export const WAITING_FOR = ['card', 'amount', 'pin', 'password', 'removal'] as const;
export const CARD_STATUSES = ['active', 'not-activated', 'loss-reported', 'closed'] as const;

const messageCode = z.enum(MESSAGE_CODES as [MessageCode, ...MessageCode[]], {
  error: `must be one of the till's message codes: ${MESSAGE_CODES.join(', ')}`,
});

const swPattern = z
  .string()
  .regex(/^[0-9A-Fa-fXx]{4}$/, 'must be a status word of 4 hex digits, x for any digit: "9000", "63Cx"');
const textOrList = z.union([z.string(), z.array(z.string())], { error: 'must be a text or a list of texts' });
const count = z.number().int().min(0);

export const expectationsSchema = z
  .object({
    state: z
      .string()
      .min(1)
      .optional()
      .describe("The till's full state name: idle, session.gen3/awaitingPin …"),
    terminalState: z.enum(TERMINAL_STATES).optional(),
    sessionState: z
      .string()
      .min(1)
      .nullable()
      .optional()
      .describe('The generation machine state (holder, awaitingPin…); null: no session'),
    waitingFor: z.enum(WAITING_FOR).nullable().optional().describe('What the till waits for; null: nothing'),
    statusWords: z
      .union([
        z.array(swPattern),
        z
          .object({
            inOrder: z.array(swPattern).optional().describe('Seen in this order (others may come between)'),
            contains: z.array(swPattern).optional().describe('Each seen, in any order'),
            excludes: z.array(swPattern).optional().describe('None of these seen'),
            last: swPattern.optional().describe('The last status word seen'),
          })
          .strict(),
      ])
      .optional()
      .describe('Status words the card answered since the previous expect step (a list: in order)'),
    message: z
      .union([
        messageCode,
        z
          .object({
            code: messageCode.optional(),
            contains: textOrList.optional().describe('Text the Chinese message contains'),
            containsEn: textOrList.optional().describe('Text the English message contains'),
          })
          .strict(),
      ])
      .optional()
      .describe('The message on the till screen now'),
    result: z.enum(RESULTS).optional().describe('How the last session ended (refused: the card was refused)'),
    balances: z
      .object({
        card: cardRef.optional(),
        reserve: moneyValue.optional(),
        medicalCurrent: moneyValue.optional().describe('95000 医保当年'),
        medicalPrior: moneyValue.optional().describe('95001 医保上年'),
      })
      .strict()
      .optional()
      .describe("The card's balances in the host's books"),
    receipt: z
      .object({
        contains: textOrList.optional(),
        mode: z.enum(['online', 'offline']).optional(),
        amount: moneyValue.optional(),
        present: z.boolean().optional().describe('false: the last session printed no receipt'),
      })
      .strict()
      .optional()
      .describe("The last session's receipt"),
    journal: z
      .object({
        payments: count.optional(),
        refunds: count.optional(),
        reversals: count.optional(),
        balanced: z.boolean().optional().describe("The terminal's journal sums to zero"),
        forwardQueue: count.optional().describe('Entries still waiting for the host'),
        reconciled: z.boolean().optional().describe('Terminal and host books agree (对账) now'),
      })
      .strict()
      .optional()
      .describe("The terminal's books"),
    pinTriesLeft: count.optional().describe("The card PIN's tries left, on the chip"),
    cardStatus: z.enum(CARD_STATUSES).optional().describe("The card's status in the card management system"),
    counter: z
      .object({
        ok: z.boolean().optional(),
        rule: ruleId.optional(),
        contains: textOrList.optional().describe('Text the counter answer contains (Chinese or English)'),
      })
      .strict()
      .optional()
      .describe("The last counter action's answer"),
    settlement: z
      .object({
        payments: count.optional(),
        refunds: count.optional(),
        reversals: count.optional(),
        total: moneyValue.optional().describe('Net total of the day'),
        pendingForward: count.optional(),
      })
      .strict()
      .optional()
      .describe('The last settle step (日结)'),
    reconciliation: z
      .object({ agree: z.boolean().optional(), mismatches: count.optional() })
      .strict()
      .optional()
      .describe('The last reconcile step (对账)'),
    sync: z
      .object({ sent: count.optional(), failed: count.optional(), pending: count.optional() })
      .strict()
      .optional()
      .describe('The last sync step'),
    recovery: z
      .object({ ok: z.boolean().optional(), payments: count.optional() })
      .strict()
      .optional()
      .describe('The recovery check after the last crash'),
  })
  .strict();

export type Expectations = z.output<typeof expectationsSchema>;

/**
 * Each step kind: the schema of its value (after shorthand expansion, see `expandShorthand`)
 * and the schema of what may be written (for the JSON Schema). A kind listed in BARE_STEPS may
 * be written as a bare word.
 */
export const stepValueSchemas = {
  insert: z.object({ card: cardRef.optional() }).strict().describe('Insert the card (or another one)'),
  remove: z.null().describe('Pull the card out now, whatever the till is doing'),
  amount: amountObject.describe('Enter the amount (and account) at the till'),
  pin: z.object({ value: digitsText('PIN') }).strict(),
  password: z.object({ value: digitsText('transaction password') }).strict(),
  cancel: z.null(),
  timeout: z.null(),
  host: z.object({ to: z.enum(HOST_STEPS, { error: `must be one of ${HOST_STEPS.join(', ')}` }) }).strict(),
  clock: z.union([z.object({ set: instantOrDate }).strict(), z.object({ advance: duration }).strict()], {
    error: 'must be an instant, a date, { set: <instant|date> } or { advance: "1d" }',
  }),
  counter: counterActions,
  sync: z.null(),
  settle: z.object({ date: isoDate.optional() }).strict(),
  reconcile: z.object({ date: isoDate.optional() }).strict(),
  refund: z
    .object({
      yuan: yuanText,
      payment: z.string().min(1).default('last').describe('The payment id, or last (the last one paid)'),
    })
    .strict(),
  fault: faultObject,
  crash: z
    .object({
      point: z.enum(CRASH_POINTS, { error: `must be one of ${CRASH_POINTS.join(', ')}` }),
      after: z.number().int().min(1).default(1).describe('Crash the k-th time the point is reached'),
    })
    .strict(),
  expect: expectationsSchema,
  interface: interfaceStepSchema,
} as const;

export type StepKind = keyof typeof stepValueSchemas;
export const STEP_KINDS = Object.keys(stepValueSchemas) as StepKind[];

/** Steps that may be written as a bare word (`- insert`), and the value that means. */
export const BARE_STEPS: Partial<Record<StepKind, unknown>> = {
  insert: {},
  remove: null,
  cancel: null,
  timeout: null,
  sync: null,
  settle: {},
  reconcile: {},
};

/** What a step's value may look like as written (shorthands included), for the JSON Schema. */
const writtenSchemas: Record<StepKind, z.ZodType> = {
  insert: z.union([z.null(), z.string().min(1), stepValueSchemas.insert]),
  remove: z.null(),
  amount: z.union([yuanText, amountObject]),
  pin: digitsText('PIN'),
  password: digitsText('transaction password'),
  cancel: z.null(),
  timeout: z.null(),
  host: z.enum(HOST_STEPS),
  clock: z.union([instantOrDate, stepValueSchemas.clock]),
  counter: z.union([z.enum(COUNTER_ACTIONS), counterActions]),
  sync: z.null(),
  settle: z.union([z.null(), stepValueSchemas.settle]),
  reconcile: z.union([z.null(), stepValueSchemas.reconcile]),
  refund: z.union([yuanText, stepValueSchemas.refund]),
  fault: faultObject,
  crash: z.union([z.enum(CRASH_POINTS), stepValueSchemas.crash]),
  expect: expectationsSchema,
  interface: interfaceStepSchema,
};

const STEP_HELP: Record<StepKind, string> = {
  insert: 'Insert the scenario card, or the card given: `insert`, `insert: gen2`',
  remove: 'Pull the card out now',
  amount: 'Enter the amount: `amount: "12.50"` or `{ yuan: "12.50", method: reserve }`',
  pin: 'The holder enters the card PIN (gen 3) or the transaction password: `pin: "258014"`',
  password: 'The holder enters the transaction password (gen 2, reserve payments): `password: "246810"`',
  cancel: 'The operator cancels',
  timeout: 'The till times out waiting',
  host: 'The host link: up, down, slow; or a host fault: error, drop-after-apply',
  clock: 'Set the clock (`clock: 2026-06-21`) or move it on (`clock: { advance: "1d" }`)',
  counter: 'A bank counter action on the card: change-pin, unblock, report-loss, release-loss, activate',
  sync: 'Forward queued offline payments, refunds and reversals',
  settle: 'Daily settlement (日结) of today, or of `{ date }`',
  reconcile: 'Reconciliation (对账) of the terminal against the host',
  refund: 'Refund (退费) part or all of the last payment: `refund: "5.00"`',
  fault: 'Arm a fault: { removeCardAtApdu: n }, { detachReaderAtApdu: n }, { corruptRecord: {…} }, none',
  crash: 'Run the next steps in a child process killed at this crash point, then reopen and go on',
  expect: 'Check the till, the card, the books: every key given is checked',
  interface: 'Call a reader interface function: `{ call: iReadCardBas, expect: { fields: { ssn: "…" } } }`',
};

/** A step as written: a bare word, or a mapping with exactly one step key. */
export const writtenStepSchema = z.union([
  z.enum(Object.keys(BARE_STEPS) as [StepKind, ...StepKind[]]),
  ...STEP_KINDS.map((k) =>
    z
      .object({ [k]: writtenSchemas[k] })
      .strict()
      .describe(STEP_HELP[k]),
  ),
]);

/** The whole file as written: what the JSON Schema describes. */
export const scenarioDocumentSchema = z
  .object({
    ...headerShape,
    steps: z.array(writtenStepSchema).min(1).describe('What happens, in order'),
  })
  .strict();

/** The header as the loader validates it (steps are checked one by one). */
export const headerSchema = z
  .object({
    ...headerShape,
    steps: z
      .array(z.unknown(), { error: 'is required: a list of steps' })
      .min(1, 'must list at least one step'),
  })
  .strict();

/**
 * Turns a step's shorthand into its full form: `amount: "12.50"` → `{ yuan: "12.50" }`,
 * `pin: "1234"` → `{ value: "1234" }`, `insert: gen2` → `{ card: gen2 }`… A value already in
 * full form is returned as is.
 */
export function expandShorthand(kind: StepKind, value: unknown): unknown {
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  switch (kind) {
    case 'insert':
      if (value === null || value === undefined) return {};
      // `insert: gen2`; an inline profile is written in full: `insert: { card: { id: … } }`.
      return typeof value === 'string' ? { card: value } : value;
    case 'amount':
    case 'refund':
      return typeof value === 'object' && value !== null ? value : { yuan: value };
    case 'pin':
    case 'password':
      return isObject ? value : { value };
    case 'host':
      return isObject ? value : { to: value };
    case 'clock':
      return isObject ? value : { set: value };
    case 'counter':
      return typeof value === 'string' ? { action: value } : value;
    case 'settle':
    case 'reconcile':
      return value === null || value === undefined ? {} : value;
    case 'crash':
      return isObject ? value : { point: value };
    default:
      return value;
  }
}

export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioDocumentSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-7',
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: 'SSCard Lab scenario (社保卡终端实验室 场景)',
    description:
      'A scenario for `sscard run`: a card, a till, a bank counter and the steps between them. See docs/scenarios.md.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}

/** fixtures/scenario.schema.json as scripts/gen-scenario-schema.ts writes it. */
export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}

/** Where the published schema lives. */
export const SCENARIO_SCHEMA_FILE = new URL('../../fixtures/scenario.schema.json', import.meta.url);
