import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { maskCommand } from '../../../device/trace.ts';
import {
  SocialSecurityCard,
  KEY_RETRY_LIMIT,
  type CardSecurityState,
} from '../../../core/card/social-security-card.ts';
import { CounterPinKey, PsamSimulator } from '../../../core/card/psam.ts';
import {
  blockSize,
  diversify,
  encryptEcb,
  seededRandom,
  type RandomSource,
} from '../../../core/card/crypto.ts';
import { TEST_MASTER_KEYS } from '../../../core/card/keys.ts';
import { decodePinBcd, encodePinBcd } from '../../../core/card/codec.ts';
import { verifySecret, INITIAL_PIN } from '../../../core/card/pin.ts';
import { DEBIT_AID, SSSE_AID } from '../../../core/card/layout.ts';
import { concatBytes, fromHex, toHex } from '../../../core/card/hex.ts';
import { profileRefusesInitialPin, type CardProfile } from '../../../core/card/profile.ts';

/**
 * APDU fuzzing of the card emulator (test support for core/card/fuzz.property.test.ts; see
 * docs/card-emulator.md, "Fuzzing"). A session is a fast-check-generated list of steps; each
 * step sends one fuzz APDU — random bytes, a structurally valid APDU with random fields, or a
 * mutation of a command real reader programs send — optionally after replaying the valid
 * commands that lead up to it (SELECT SSSE, GET CHALLENGE …), so mutations hit the card in the
 * state where the real command would arrive. Every answer goes through an oracle written from
 * the documentation, not from the emulator's code: ISO parsing, the documented status words,
 * the Le / GET RESPONSE rules, and the PIN and key counters' transitions as the ledger sees them.
 */

// ---------------------------------------------------------------------------------------------
// The documented status words

const EMULATOR_DOC = new URL('../../../docs/card-emulator.md', import.meta.url);

/**
 * The status words listed in docs/card-emulator.md, "Status words" (`61xx` style patterns
 * included). The fuzz fails on any other: the docs and the emulator must agree.
 */
export function documentedStatusWords(doc: URL | string = EMULATOR_DOC): {
  patterns: string[];
  has: (sw: number) => boolean;
} {
  const text = readFileSync(doc, 'utf8');
  const start = text.indexOf('## Status words');
  if (start < 0) throw new Error(`${String(doc)}: no "## Status words" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const patterns = [...section.matchAll(/^\| ([0-9A-F]{2}[0-9A-Fx]{2}) \|/gm)].map((m) => m[1]!);
  if (patterns.length < 10)
    throw new Error(`${String(doc)}: the status word table has only ${patterns.length} rows`);
  const exact = new Set<number>();
  const prefixes: { mask: number; value: number }[] = [];
  for (const p of patterns) {
    if (!p.includes('x')) exact.add(parseInt(p, 16));
    else {
      const xs = p.length - p.replace(/x+$/, '').length;
      if (p.slice(0, 4 - xs).includes('x')) throw new Error(`status word pattern ${p}: only trailing x`);
      const mask = (0xffff << (4 * xs)) & 0xffff;
      prefixes.push({ mask, value: parseInt(p.replaceAll('x', '0'), 16) });
    }
  }
  return { patterns, has: (sw) => exact.has(sw) || prefixes.some((q) => (sw & q.mask) === q.value) };
}

// ---------------------------------------------------------------------------------------------
// ISO 7816-4 short APDU parsing, written from the standard (not shared with the emulator)

export interface ParsedCommand {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  /** null when absent; Le = 00 is 256. */
  le: number | null;
  iso: 1 | 2 | 3 | 4;
}

const NO_DATA = new Uint8Array(0);

export function parseCommand(b: Uint8Array): ParsedCommand | null {
  const n = b.length;
  if (n < 4) return null;
  let data: Uint8Array = NO_DATA;
  let le: number | null = null;
  let iso: ParsedCommand['iso'] = 1;
  if (n === 5) {
    le = b[4]! || 256;
    iso = 2;
  } else if (n > 5) {
    const lc = b[4]!;
    if (lc === 0) return null; // extended length: not a short APDU
    if (n === 5 + lc) iso = 3;
    else if (n === 6 + lc) {
      iso = 4;
      le = b[5 + lc]! || 256;
    } else return null;
    data = b.subarray(5, 5 + lc);
  }
  return { cla: b[0]!, ins: b[1]!, p1: b[2]!, p2: b[3]!, data, le, iso };
}

// ---------------------------------------------------------------------------------------------
// The commands real reader programs send (card-reference.md §1–§5, docs/card-emulator.md)

/** What the session knows when it builds the next real command. */
export interface SessionContext {
  readonly profile: CardProfile;
  readonly serial: Uint8Array;
  /** The PIN the card holds now, as far as the session has seen it change. */
  pin: string;
  /** The last GET CHALLENGE answer (the card's current challenge, if it still holds it). */
  challenge: Uint8Array | null;
  /** xx of the last 61xx. */
  available: number | null;
}

type Template = (ctx: SessionContext) => Uint8Array;

const NEW_PINS = ['246813', '975310', '314159'];
const nextPin = (pin: string) => NEW_PINS.find((p) => p !== pin)!;
const wrongPin = (pin: string) => pin.slice(0, 5) + String((Number(pin[5]) + 1) % 10);
const hex = (h: string): Template => {
  const bytes = fromHex(h);
  return () => bytes.slice();
};
const u8 = (...parts: (number | Uint8Array)[]) =>
  concatBytes(...parts.map((p) => (typeof p === 'number' ? Uint8Array.of(p) : p)));
const challengeOf = (ctx: SessionContext) => ctx.challenge ?? new Uint8Array(8);

const TEMPLATES: Record<string, Template> = {
  selectSsse: () => u8(0x00, 0xa4, 0x04, 0x00, SSSE_AID.length, SSSE_AID),
  selectSsseLe: () => u8(0x00, 0xa4, 0x04, 0x00, SSSE_AID.length, SSSE_AID, 0x00),
  selectSsseNoFci: () => u8(0x00, 0xa4, 0x04, 0x0c, SSSE_AID.length, SSSE_AID),
  selectDebit: () => u8(0x00, 0xa4, 0x04, 0x00, DEBIT_AID.length, DEBIT_AID),
  selectMf: hex('00A40000023F00'),
  selectMfEmpty: hex('00A40000'),
  selectEf05: hex('00A4020002EF05'),
  selectEf06: hex('00A4000002EF06'),
  getResponse: (c) => u8(0x00, 0xc0, 0x00, 0x00, (c.available ?? 0) & 0xff),
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6, 7].map((n) => [`ef05Sfi${n}`, () => u8(0x00, 0xb2, n, 0x2c, 0x00)] as const),
  ),
  ...Object.fromEntries(
    [1, 2, 3, 4].map((n) => [`ef06Sfi${n}`, () => u8(0x00, 0xb2, n, 0x34, 0x00)] as const),
  ),
  ...Object.fromEntries([1, 3, 7].map((n) => [`current${n}`, () => u8(0x00, 0xb2, n, 0x04, 0x00)] as const)),
  ...Object.fromEntries(
    [0x07, 0x08, 0x09, 0x4e, 0x0a, 0x0d].map(
      (t) => [`tag${t.toString(16)}`, () => u8(0x00, 0xb2, t, 0x00, 0x00)] as const,
    ),
  ),
  ef05Tag03: hex('00B2032800'),
  ef05Rec7: hex('00B2072C0B'), // S2, S8, S10: the exact Le
  binarySfi7: hex('00B0870010'),
  binaryCurrent: hex('00B0000000'),
  getChallenge8: hex('0084000008'),
  getChallenge4: hex('0084000004'),
  extAuth: (c) =>
    u8(
      0x00,
      0x82,
      0x00,
      0x0a,
      0x10,
      new PsamSimulator().externalAuthenticate(c.profile.algorithm, c.serial, challengeOf(c)),
    ),
  extAuthShort: (c) => {
    // The 8-byte 3DES form (E(K, challenge)), which 3DES cards also accept.
    const key = diversify('3des', TEST_MASTER_KEYS.rksse, c.serial);
    const ch = new Uint8Array(8);
    ch.set(challengeOf(c).subarray(0, 8));
    return u8(0x00, 0x82, 0x00, 0x0a, 0x08, encryptEcb('3des', key, ch));
  },
  intAuth: (c) => {
    const n = blockSize(c.profile.algorithm);
    return u8(0x00, 0x88, 0x00, 0x00, n, new Uint8Array(n).fill(0x11), 0x00);
  },
  verify: (c) => u8(0x00, 0x20, 0x00, 0x00, 0x03, encodePinBcd(c.pin)),
  verifyWrong: (c) => u8(0x00, 0x20, 0x00, 0x00, 0x03, encodePinBcd(wrongPin(c.pin))),
  verifyStatus: hex('00200000'),
  changePin: (c) => u8(0x80, 0x5e, 0x01, 0x00, 0x07, encodePinBcd(c.pin), 0xff, encodePinBcd(nextPin(c.pin))),
  changeRef: (c) => u8(0x00, 0x24, 0x00, 0x00, 0x06, encodePinBcd(c.pin), encodePinBcd(nextPin(c.pin))),
  unblock: (c) => new CounterPinKey().unblockCommand(c.profile.algorithm, c.serial, challengeOf(c)),
  reload: (c) =>
    new CounterPinKey().reloadCommand(c.profile.algorithm, c.serial, challengeOf(c), nextPin(c.pin)),
  reloadInitial: (c) =>
    new CounterPinKey().reloadCommand(c.profile.algorithm, c.serial, challengeOf(c), INITIAL_PIN),
  gpo: hex('80A8000002830000'),
  debit1: hex('00B2010C00'),
  debit2: hex('00B2020C00'),
};

/** Sessions of real reader programs, POS terminals and the bank counter, in order. */
const SCRIPTS: Record<string, readonly string[]> = {
  readEf05BySfi: ['selectSsse', 'getResponse', ...[1, 2, 3, 4, 5, 6, 7].map((n) => `ef05Sfi${n}`)],
  readEf05ByFid: ['selectSsse', 'selectEf05', 'current1', 'current3', 'current7', 'tag7', 'ef05Rec7'],
  readEf06BySfi: [
    'selectSsse',
    'getResponse',
    'getChallenge8',
    'extAuth',
    'ef06Sfi1',
    'ef06Sfi2',
    'ef06Sfi3',
    'ef06Sfi4',
  ],
  readEf06ByTag: [
    'selectSsse',
    'getChallenge8',
    'extAuth',
    'selectEf06',
    'tag8',
    'tag9',
    'tag4e',
    'taga',
    'tagd',
  ],
  binary: ['selectSsse', 'getChallenge8', 'extAuth', 'binarySfi7', 'binaryCurrent'],
  shortAuth: ['selectSsse', 'getChallenge4', 'extAuthShort', 'ef06Sfi1', 'ef05Tag03'],
  verify: ['selectSsse', 'getResponse', 'verifyWrong', 'verify', 'verifyStatus'],
  changePin: ['selectSsse', 'verify', 'changePin', 'verify'],
  changeRef: ['selectSsse', 'changeRef', 'verifyStatus', 'verify'],
  counter: [
    'selectSsse',
    'getChallenge8',
    'unblock',
    'getChallenge8',
    'reload',
    'getChallenge4',
    'reloadInitial',
  ],
  internalAuth: ['selectSsseLe', 'getResponse', 'intAuth', 'getResponse'],
  debit: ['selectDebit', 'getResponse', 'gpo', 'getResponse', 'debit1', 'debit2'],
  mf: ['selectMf', 'selectMfEmpty', 'selectSsseNoFci', 'ef05Sfi3', 'selectSsseLe', 'getResponse'],
};

// ---------------------------------------------------------------------------------------------
// What fast-check generates

export type MutationOp =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'insert'; at: number; value: number }
  | { op: 'delete'; at: number }
  | { op: 'lc'; delta: number }
  | { op: 'le'; value: number | null }
  | { op: 'header'; at: number; value: number };

export type FuzzCommand =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'structured'; bytes: Uint8Array }
  | { kind: 'mutated'; ops: MutationOp[] };

export interface FuzzStep {
  /** Replay the script's valid commands up to `cut` before the fuzz command. */
  replay: boolean;
  script: number;
  cut: number;
  /** Before the step: 0 nothing, 1 warm reset, 2 power off and on. */
  power: 0 | 1 | 2;
  fuzz: FuzzCommand;
}

const byte = fc.integer({ min: 0, max: 255 });
const KNOWN_INS = [0xa4, 0xb2, 0xb0, 0xc0, 0x84, 0x82, 0x88, 0x20, 0x24, 0x5e, 0xa8, 0x2c, 0xca];
const param = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 15 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0x01, 0x02, 0x04, 0x0a, 0x0c, 0x28, 0x2c, 0x30, 0x34, 0x80, 0x87, 0x88),
  },
  { weight: 3, arbitrary: byte },
);

/** A structurally valid APDU with random CLA/INS/P1/P2, data, and a true or false Lc/Le. */
export const structuredApdu = fc
  .record({
    cla: fc.oneof(
      { weight: 5, arbitrary: fc.constant(0x00) },
      { weight: 2, arbitrary: fc.constantFrom(0x80, 0x84) },
      { weight: 2, arbitrary: byte },
    ),
    ins: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KNOWN_INS) }, { weight: 1, arbitrary: byte }),
    p1: param,
    p2: param,
    data: fc.oneof(
      { weight: 3, arbitrary: fc.constant(new Uint8Array(0)) },
      { weight: 5, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }) },
      { weight: 2, arbitrary: fc.uint8Array({ minLength: 17, maxLength: 255 }) },
    ),
    lc: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: byte }),
    le: fc.oneof(
      { weight: 2, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: byte },
    ),
  })
  .map(({ cla, ins, p1, p2, data, lc, le }) => {
    const parts: (number | Uint8Array)[] = [cla, ins, p1, p2];
    if (data.length) parts.push(lc ?? data.length, data);
    if (le !== null) parts.push(le);
    return u8(...parts);
  });

const position = fc.nat({ max: 299 });
export const mutationOp: fc.Arbitrary<MutationOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('set' as const), at: position, value: byte }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('extend' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, value: byte }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: position }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('lc' as const),
      delta: fc.oneof(fc.integer({ min: -3, max: -1 }), fc.integer({ min: 1, max: 3 }), byte),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('le' as const), value: fc.option(byte) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('header' as const), at: fc.nat({ max: 3 }), value: byte }),
  },
);

export const fuzzCommand: fc.Arbitrary<FuzzCommand> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('random' as const),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 300 })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('structured' as const), bytes: structuredApdu }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      ops: fc.array(mutationOp, { minLength: 1, maxLength: 3 }),
    }),
  },
);

export const fuzzStep: fc.Arbitrary<FuzzStep> = fc.record({
  replay: fc.boolean(),
  script: fc.nat({ max: 1000 }),
  cut: fc.nat({ max: 20 }),
  power: fc.oneof(
    { weight: 95, arbitrary: fc.constant(0 as const) },
    { weight: 3, arbitrary: fc.constant(1 as const) },
    { weight: 2, arbitrary: fc.constant(2 as const) },
  ),
  fuzz: fuzzCommand,
});

/** Applies mutations to a real command. Positions wrap around the command's length. */
export function mutate(command: Uint8Array, ops: readonly MutationOp[]): Uint8Array {
  let b = Array.from(command);
  for (const m of ops) {
    const at = (n: number) => ('at' in m && n > 0 ? m.at % n : 0);
    switch (m.op) {
      case 'flip':
        if (b.length) b[at(b.length)]! ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[at(b.length)] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, at(b.length + 1));
        break;
      case 'extend':
        b.push(...m.bytes);
        break;
      case 'insert':
        b.splice(at(b.length + 1), 0, m.value);
        break;
      case 'delete':
        if (b.length) b.splice(at(b.length), 1);
        break;
      case 'lc':
        if (b.length > 4) b[4] = (b[4]! + m.delta + 256) & 0xff;
        break;
      case 'le': {
        const p = parseCommand(Uint8Array.from(b));
        if (p && (p.iso === 2 || p.iso === 4)) {
          if (m.value === null) b.pop();
          else b[b.length - 1] = m.value;
        } else if (m.value !== null) b.push(m.value);
        break;
      }
      case 'header':
        if (b.length > m.at) b[m.at] = m.value;
        break;
    }
  }
  return Uint8Array.from(b);
}

// ---------------------------------------------------------------------------------------------
// The session runner and its oracle

export class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzFailure';
  }
}

export type Origin = 'random' | 'structured' | 'mutated' | 'valid' | 'follow-up' | 'final';

export interface FuzzStats {
  runs: number;
  /** APDUs per origin: the fuzz ones (random, structured, mutated) and the valid ones around them. */
  apdus: Record<Origin, number>;
  /** Status words seen, as '9000', '61xx', '63Cx', '6Cxx' … */
  statusWords: Map<string, number>;
  ledgerFailures: number;
  pinChanges: number;
  pinBlockedRuns: number;
  keyBlockedRuns: number;
}

export function newStats(): FuzzStats {
  return {
    runs: 0,
    apdus: { random: 0, structured: 0, mutated: 0, valid: 0, 'follow-up': 0, final: 0 },
    statusWords: new Map(),
    ledgerFailures: 0,
    pinChanges: 0,
    pinBlockedRuns: 0,
    keyBlockedRuns: 0,
  };
}

export const fuzzApdus = (s: FuzzStats) => s.apdus.random + s.apdus.structured + s.apdus.mutated;

/** Where the card's EEPROM goes: the ledger (core/ledger/card-store.ts) or a stand-in. */
export interface SecurityStore {
  save(state: CardSecurityState): void;
  load(): CardSecurityState | null;
}

export interface FuzzTarget {
  profile: CardProfile;
  /** The card's state when it left the factory (or the ledger), with its PIN hash. */
  pristine: CardSecurityState;
  store: SecurityStore;
  /** What a clean read of this profile answers (from `cleanRead` on a pristine card). */
  cleanTranscript: readonly [string, string][];
  /** Leave out the bank counter's commands (unblock, reload): a blocked PIN must stay blocked. */
  noCounter?: boolean;
}

const swKey = (sw: number) => {
  const h = sw.toString(16).toUpperCase().padStart(4, '0');
  if (h.startsWith('61')) return '61xx';
  if (h.startsWith('6C')) return '6Cxx';
  if (h.startsWith('63C')) return '63Cx';
  return h;
};

function sameState(a: CardSecurityState, b: CardSecurityState): boolean {
  return (
    a.pinTriesLeft === b.pinTriesLeft &&
    a.pinRetryLimit === b.pinRetryLimit &&
    a.pinInitial === b.pinInitial &&
    a.keyTriesLeft === b.keyTriesLeft &&
    JSON.stringify(a.pinHash) === JSON.stringify(b.pinHash)
  );
}

const DOCUMENTED = documentedStatusWords();

/** One fuzz session against a fresh card made from the target's pristine state. */
export class FuzzSession {
  readonly card: SocialSecurityCard;
  readonly ctx: SessionContext;
  private readonly t0: boolean;
  private readonly scripts: (readonly string[])[];
  /** The last exchanges, formatted only when a check fails. */
  private readonly recent: [Uint8Array, Uint8Array | null][] = [];
  private announced: number | null = null;
  private hookThrew = false;
  private states: [CardSecurityState, CardSecurityState] | null = null;
  private lastPersisted: CardSecurityState | null = null;
  private ledgerFlaky: RandomSource | null;

  constructor(
    private readonly target: FuzzTarget,
    seed: number,
    flakyLedger: boolean,
    private readonly stats: FuzzStats,
  ) {
    const { profile } = target;
    this.t0 = profile.protocol === 'T=0';
    this.ledgerFlaky = flakyLedger ? seededRandom(seed ^ 0x5bd1e995) : null;
    target.store.save(target.pristine);
    this.card = new SocialSecurityCard(profile, {
      state: target.pristine,
      random: seededRandom(seed),
      persist: (s) => {
        if (this.ledgerFlaky && this.ledgerFlaky(1)[0]! < 40) {
          this.hookThrew = true;
          throw new Error('the ledger refused the write (fuzz: flaky ledger)');
        }
        target.store.save(s);
        this.lastPersisted = s;
      },
    });
    this.card.powerOn();
    this.ctx = {
      profile,
      serial: fromHex(profile.card.chipSerial),
      pin: profile.pin,
      challenge: null,
      available: null,
    };
    this.scripts = Object.entries(SCRIPTS)
      .filter(([name]) => !(target.noCounter && name === 'counter'))
      .map(([, s]) => s);
    stats.runs++;
  }

  private fail(why: string): never {
    const show = (s: CardSecurityState) =>
      `PIN tries ${s.pinTriesLeft}/${s.pinRetryLimit}${s.pinInitial ? ' initial' : ''}, key tries ${s.keyTriesLeft}`;
    const states = this.states
      ? `\nstate before: ${show(this.states[0])}; after: ${show(this.states[1])}`
      : '';
    throw new FuzzFailure(
      `${this.target.profile.id}: ${why}${states}\nlast exchanges (PIN data masked):\n  ${this.recent.map(([c, r]) => `> ${maskCommand(c)}  < ${r ? toHex(r) : 'threw'}`).join('\n  ')}`,
    );
  }

  private remember(command: Uint8Array, answer: Uint8Array | null): void {
    if (this.recent.length === 14) this.recent.shift();
    this.recent.push([command, answer]);
  }

  /** Sends one command through the oracle; returns a copy of the answer. */
  send(command: Uint8Array, origin: Origin): Uint8Array {
    const sent = command.slice();
    const before = this.card.state;
    this.hookThrew = false;
    let resp: Uint8Array;
    try {
      resp = this.card.transmit(command);
    } catch (e) {
      this.remember(sent, null);
      this.fail(`transmit threw ${String(e)}`);
    }
    command.fill(0xa5); // the card must not keep a reference to the command buffer
    const answer = resp instanceof Uint8Array ? resp.slice() : resp;
    this.remember(sent, answer);
    this.stats.apdus[origin]++;
    this.check(sent, answer, before, this.card.state);
    resp.fill(0x5a); // nor to the answer it gave
    return answer;
  }

  private check(cmd: Uint8Array, resp: Uint8Array, s0: CardSecurityState, s1: CardSecurityState): void {
    this.states = [s0, s1];
    if (!(resp instanceof Uint8Array)) this.fail('the answer is not bytes');
    if (resp.length < 2) this.fail(`a ${resp.length}-byte answer: no status word`);
    if (resp.length > 258) this.fail(`a ${resp.length}-byte answer: more than 256 bytes of data`);
    const sw = (resp[resp.length - 2]! << 8) | resp[resp.length - 1]!;
    const sw1 = sw >> 8;
    const n = resp.length - 2;
    const key = swKey(sw);
    this.stats.statusWords.set(key, (this.stats.statusWords.get(key) ?? 0) + 1);
    const sws = key;
    if (!DOCUMENTED.has(sw)) this.fail(`status word ${sws} is not in docs/card-emulator.md`);

    // 6581 means "the ledger refused the write"; anything else answering it is an internal fault.
    if (sw === 0x6581 && !this.hookThrew)
      this.fail('6581 while the ledger accepted every write: an internal fault');
    if (this.hookThrew) {
      this.stats.ledgerFailures++;
      if (sw !== 0x6581) this.fail(`the ledger refused the write but the card answered ${sws}`);
      if (s1 !== s0) this.fail('the ledger refused the write but the card changed its state');
    }

    const p = parseCommand(cmd);
    if (!p && sw !== 0x6700) this.fail(`a malformed APDU answered ${sws}, not 6700`);
    if (p && p.cla !== 0x00 && p.cla !== 0x80 && p.cla !== 0x84 && sw !== 0x6e00)
      this.fail(`CLA ${p.cla.toString(16)} answered ${sws}, not 6E00`);

    // Le and data: ISO 7816-4 and -3 (T=0).
    if (sw1 === 0x61 && !this.t0) this.fail('61xx from a T=1 card');
    if (n > 0 && sw !== 0x9000 && sw1 !== 0x61) this.fail(`${n} bytes of data with ${sws}`);
    const isGetResponse =
      !!p && p.cla === 0 && p.ins === 0xc0 && p.p1 === 0 && p.p2 === 0 && p.data.length === 0;
    if (sw1 === 0x61 && n > 0 && !isGetResponse) this.fail('data with 61xx outside GET RESPONSE');
    if (sw === 0x9000 && n > 0 && p) {
      if (p.le !== null && p.le !== 256 && n !== p.le) this.fail(`9000 with ${n} bytes for Le=${p.le}`);
      if (this.t0 && (p.iso === 3 || p.iso === 4))
        this.fail('T=0: a command with data got data back without 61xx');
    }
    if (sw1 === 0x6c) {
      if (!p) this.fail('6Cxx to a malformed APDU');
      if (p.le !== null && (p.le & 0xff) === (sw & 0xff)) this.fail('6Cxx asks for the Le that was sent');
    }
    if (p && p.cla === 0 && p.ins === 0x84 && sw === 0x9000) {
      if (n !== p.le) this.fail(`GET CHALLENGE Le=${p.le} answered ${n} bytes`);
    }

    // GET RESPONSE against what the card announced.
    if (isGetResponse && p) {
      const want = p.le ?? 256;
      const a = this.announced;
      if (a === null) {
        if (sw !== 0x6985) this.fail(`GET RESPONSE with nothing announced answered ${sws}, not 6985`);
      } else if (want === 256 || want === a) {
        if (sw !== 0x9000 || n !== a)
          this.fail(`GET RESPONSE for the ${a} bytes announced answered ${n} bytes ${sws}`);
      } else if (want < a) {
        if (sw !== (0x6100 | ((a - want) & 0xff)) || n !== want)
          this.fail(`GET RESPONSE Le=${want} of ${a} announced answered ${n} bytes ${sws}`);
      } else if (sw !== (0x6c00 | (a & 0xff)) || n !== 0) {
        this.fail(`GET RESPONSE Le=${want} beyond the ${a} announced answered ${sws}`);
      }
    }
    if (sw1 === 0x61) {
      this.announced = sw & 0xff || 256;
      this.ctx.available = sw & 0xff;
    } else if (!(p && p.ins === 0xc0 && !(sw === 0x9000 && n > 0))) this.announced = null;
    if (p && p.cla === 0 && p.ins === 0x84 && sw === 0x9000) this.ctx.challenge = resp.slice(0, n);

    this.checkSecurity(p, sw, s0, s1);
  }

  /** The PIN and key counters as the ledger sees them: every change explained by its command. */
  private checkSecurity(
    p: ParsedCommand | null,
    sw: number,
    s0: CardSecurityState,
    s1: CardSecurityState,
  ): void {
    const sws = swKey(sw);
    const limit = this.target.pristine.pinRetryLimit;
    if (s1.pinRetryLimit !== limit) this.fail(`the PIN retry limit changed to ${s1.pinRetryLimit}`);
    if (!(s1.pinTriesLeft >= 0 && s1.pinTriesLeft <= limit)) this.fail(`PIN tries left ${s1.pinTriesLeft}`);
    if (!(s1.keyTriesLeft >= 0 && s1.keyTriesLeft <= KEY_RETRY_LIMIT))
      this.fail(`key tries left ${s1.keyTriesLeft}`);
    if (s1 !== s0 && s1 !== this.lastPersisted)
      this.fail('the card changed its state without the ledger write');

    const ins = p?.ins ?? -1;
    const isVerify = !!p && p.cla === 0x00 && ins === 0x20;
    const isChange = !!p && ((p.cla === 0x00 && ins === 0x24) || (p.cla === 0x80 && ins === 0x5e));
    const isPinCommand = isVerify || isChange;
    const isCounter = !!p && p.cla === 0x84 && (ins === 0x24 || ins === 0x5e);
    const isExtAuth = !!p && p.cla === 0x00 && ins === 0x82;

    if ((sw & 0xfff0) === 0x63c0) {
      if (isPinCommand) {
        if ((sw & 0x0f) !== s1.pinTriesLeft) this.fail(`${sws} but ${s1.pinTriesLeft} PIN tries left`);
      } else if (isExtAuth) {
        if ((sw & 0x0f) !== s1.keyTriesLeft) this.fail(`${sws} but ${s1.keyTriesLeft} key tries left`);
      } else this.fail(`${sws} to a command that verifies nothing`);
    }
    if (sw === 0x6983) {
      if (isPinCommand ? s0.pinTriesLeft !== 0 : isExtAuth ? s0.keyTriesLeft !== 0 : true)
        this.fail('6983 (blocked) while nothing is blocked');
    }
    if (isPinCommand && s0.pinTriesLeft === 0 && sw === 0x9000) this.fail('a blocked PIN answered 9000');

    const pinOk = (pin: string | null) => pin !== null && verifySecret(s0.pinHash, pin);
    // 6985 to VERIFY of the unchanged initial PIN (R1.4) also says "this is the PIN".
    if (p && isVerify && p.data.length > 0 && (sw === 0x9000 || sw === 0x6985)) {
      if (!pinOk(decodePinBcd(p.data))) this.fail(`VERIFY accepted a wrong PIN (${sws})`);
    }

    const hashChanged =
      s1.pinHash !== s0.pinHash &&
      (s1.pinHash.hash !== s0.pinHash.hash || s1.pinHash.salt !== s0.pinHash.salt);
    if (hashChanged) {
      if (!p || sw !== 0x9000 || !(isChange || (isCounter && ins === 0x5e)))
        this.fail(`the PIN changed on ${sws} to a command that cannot change it`);
      const d = p.data;
      const sep = d.indexOf(0xff);
      if (isChange) {
        const old = [
          sep > 0 ? d.subarray(0, sep) : null,
          d.length % 2 === 0 ? d.subarray(0, d.length / 2) : null,
        ];
        if (!old.some((o) => o && pinOk(decodePinBcd(o)))) this.fail('CHANGE PIN accepted a wrong old PIN');
      }
      const candidates = [
        sep > 0 ? d.subarray(sep + 1) : null,
        d.length % 2 === 0 ? d.subarray(d.length / 2) : null,
        isCounter ? d.subarray(0, d.length - 4) : null,
      ].map((c) => (c ? decodePinBcd(c) : null));
      const now = candidates.find((c) => c !== null && verifySecret(s1.pinHash, c));
      if (now === undefined || now === null)
        this.fail('the PIN was set to a value the command did not carry');
      if (isChange && !/^[0-9]{6}$/.test(now)) this.fail(`CHANGE PIN set a PIN of ${now.length} digits`);
      if (isChange && now === INITIAL_PIN) this.fail('CHANGE PIN set the initial PIN 123456');
      if (s1.pinInitial !== (isCounter && now === INITIAL_PIN))
        this.fail(`the initial-PIN flag is ${s1.pinInitial} after setting a new PIN`);
      this.ctx.pin = now;
      this.stats.pinChanges++;
    } else if (s1.pinInitial !== s0.pinInitial) this.fail('the initial-PIN flag changed without a new PIN');

    if (s1.pinTriesLeft < s0.pinTriesLeft) {
      if (!isPinCommand) this.fail(`a PIN try was counted on a command that sends no PIN (${sws})`);
      if (s1.pinTriesLeft !== s0.pinTriesLeft - 1) this.fail('more than one PIN try counted at once');
      if (sw !== (0x63c0 | s1.pinTriesLeft)) this.fail(`a PIN try counted, answered ${sws}`);
    } else if (s1.pinTriesLeft > s0.pinTriesLeft) {
      if (s1.pinTriesLeft !== limit) this.fail('the PIN counter rose, not back to its limit');
      const byHolder =
        isPinCommand &&
        s0.pinTriesLeft > 0 &&
        (sw === 0x9000 || (isVerify && sw === 0x6985 && s0.pinInitial));
      const byCounter = isCounter && sw === 0x9000;
      if (!byHolder && !byCounter) this.fail(`the PIN counter was reset by ${sws} to a command that cannot`);
    }
    if (s1.keyTriesLeft < s0.keyTriesLeft) {
      if (!isExtAuth || s1.keyTriesLeft !== s0.keyTriesLeft - 1 || sw !== (0x63c0 | s1.keyTriesLeft))
        this.fail(`the key counter fell on ${sws}`);
    } else if (s1.keyTriesLeft > s0.keyTriesLeft) {
      if (!isExtAuth || s1.keyTriesLeft !== KEY_RETRY_LIMIT || sw !== 0x9000 || s0.keyTriesLeft === 0)
        this.fail(`the key counter rose on ${sws}`);
    }
  }

  private powerEvent(kind: 1 | 2): void {
    if (kind === 1) this.card.reset();
    else {
      this.card.powerOff();
      this.card.powerOn();
    }
    this.announced = null;
    this.ctx.challenge = null;
  }

  /** Re-issues a command that got 6Cxx with Le = xx, as exchange() does: it must then succeed. */
  private reissue(command: Uint8Array, answer: Uint8Array): void {
    const sw = (answer[answer.length - 2]! << 8) | answer[answer.length - 1]!;
    if (sw >> 8 !== 0x6c) return;
    const p = parseCommand(command)!;
    const again = p.iso === 2 || p.iso === 4 ? command.slice() : u8(command, 0);
    again[again.length - 1] = sw & 0xff;
    const r = this.send(again, 'follow-up');
    const sw2 = (r[r.length - 2]! << 8) | r[r.length - 1]!;
    if (sw2 !== 0x9000 || r.length - 2 !== (sw & 0xff || 256))
      this.fail(`re-issued with Le=${(sw & 0xff).toString(16)} after 6Cxx, answered ${swKey(sw2)}`);
  }

  private sendAndFollow(command: Uint8Array, origin: Origin): Uint8Array {
    const sent = command.slice();
    const r = this.send(command, origin);
    this.reissue(sent, r);
    return r;
  }

  step(s: FuzzStep): void {
    if (s.power) this.powerEvent(s.power);
    const script = this.scripts[s.script % this.scripts.length]!;
    const cut = s.cut % script.length;
    if (s.replay)
      for (const name of script.slice(0, cut)) this.sendAndFollow(TEMPLATES[name]!(this.ctx), 'valid');
    const f = s.fuzz;
    if (f.kind === 'mutated')
      this.sendAndFollow(mutate(TEMPLATES[script[cut]!]!(this.ctx), f.ops), 'mutated');
    else this.sendAndFollow(f.bytes.slice(), f.kind);
  }

  /**
   * A clean session as a reader program does it after the fuzz: power on, SELECT SSSE, EF05 by
   * SFI and by FID, EF06 by SFI and by tag (gen 3: after external authentication). Labels and
   * answers, without the challenge (random).
   */
  cleanRead(): [string, string][] {
    this.powerEvent(2);
    const out: [string, string][] = [['ATR', toHex(this.card.atr)]];
    const ex = (label: string, command: Uint8Array) => {
      let r = this.send(command, 'final');
      const sw = (r[r.length - 2]! << 8) | r[r.length - 1]!;
      if (sw >> 8 === 0x61) r = this.send(u8(0x00, 0xc0, 0x00, 0x00, sw & 0xff), 'final');
      out.push([label, toHex(r)]);
    };
    ex('SELECT SSSE', TEMPLATES.selectSsse!(this.ctx));
    for (let n = 1; n <= 7; n++) ex(`EF05 SFI rec ${n}`, u8(0x00, 0xb2, n, 0x2c, 0x00));
    ex('SELECT EF05', TEMPLATES.selectEf05!(this.ctx));
    for (let n = 1; n <= 7; n++) ex(`EF05 rec ${n}`, u8(0x00, 0xb2, n, 0x04, 0x00));
    if (this.target.profile.generation === 3) {
      const ch = this.send(TEMPLATES.getChallenge8!(this.ctx), 'final');
      if (ch.length !== 10) this.fail('GET CHALLENGE failed in the clean session');
      ex('EXTERNAL AUTHENTICATE', TEMPLATES.extAuth!(this.ctx));
    }
    for (let n = 1; n <= 8; n++) ex(`EF06 SFI rec ${n}`, u8(0x00, 0xb2, n, 0x34, 0x00));
    ex('SELECT EF06', TEMPLATES.selectEf06!(this.ctx));
    for (const t of [0x08, 0x09, 0x4e, 0x0a, 0x0b, 0x0c, 0x0d])
      ex(`EF06 tag ${t}`, u8(0x00, 0xb2, t, 0x00, 0x00));
    return out;
  }

  /** After the fuzz: the ledger, the clean read and the PIN, against the pristine card. */
  finish(): void {
    this.ledgerFlaky = null;
    const s = this.card.state;
    const stored = this.target.store.load();
    if (!stored || !sameState(stored, s)) this.fail('the ledger does not hold the card’s state');
    if (s.pinTriesLeft === 0) this.stats.pinBlockedRuns++;
    if (this.target.noCounter && this.target.pristine.pinTriesLeft === 0 && s.pinTriesLeft !== 0)
      this.fail('a blocked PIN was unblocked without the bank counter');
    const keyBlocked = s.keyTriesLeft === 0;
    if (keyBlocked) this.stats.keyBlockedRuns++;

    const got = this.cleanRead();
    const expected = this.target.cleanTranscript.map(([label, answer]): [string, string] => {
      if (!keyBlocked || this.target.profile.generation !== 3) return [label, answer];
      // RKSSSE blocked by the fuzz (no command unblocks it): gen 3 holder data stays closed.
      if (label === 'EXTERNAL AUTHENTICATE') return [label, '6983'];
      if (label.startsWith('EF06')) return [label, '6982'];
      return [label, answer];
    });
    for (let i = 0; i < Math.max(got.length, expected.length); i++) {
      const [gl, ga] = got[i] ?? ['(none)', ''];
      const [el, ea] = expected[i] ?? ['(none)', ''];
      if (gl !== el || ga !== ea)
        this.fail(`clean read after the fuzz: ${el} answered ${ga}, a pristine card ${ea}`);
    }

    // The PIN the session knows is the card's, and the card treats it as its state says.
    if (!verifySecret(s.pinHash, this.ctx.pin)) this.fail('the card’s PIN is not the one the session set');
    const r = this.send(TEMPLATES.verify!(this.ctx), 'final');
    const sw = toHex(r.subarray(r.length - 2));
    const want =
      s.pinTriesLeft === 0
        ? '6983'
        : s.pinInitial && profileRefusesInitialPin(this.target.profile)
          ? '6985'
          : '9000';
    if (sw !== want) this.fail(`VERIFY of the card’s PIN after the fuzz answered ${sw}, not ${want}`);
    if (s.pinTriesLeft > 0 && this.card.state.pinTriesLeft !== this.target.pristine.pinRetryLimit)
      this.fail('a correct VERIFY did not reset the PIN counter');
  }
}

/** The clean read of a pristine card of this profile (what every fuzzed card must read back). */
export function cleanTranscriptOf(target: Omit<FuzzTarget, 'cleanTranscript'>): [string, string][] {
  const s = new FuzzSession({ ...target, cleanTranscript: [] }, 1, false, newStats());
  return s.cleanRead();
}
