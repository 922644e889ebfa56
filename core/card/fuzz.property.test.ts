import { afterAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type * as PinModule from './pin.ts';
import { openCardStore, type CardStore } from '../ledger/card-store.ts';
import { SocialSecurityCard, type CardSecurityState } from './social-security-card.ts';
import { fromHex, toHex } from './hex.ts';
import { bundled, SELECT_SSSE } from '../../test/harness/card/cards.ts';
import {
  cleanTranscriptOf,
  documentedStatusWords,
  fuzzApdus,
  fuzzStep,
  newStats,
  FuzzSession,
  type FuzzStats,
  type FuzzTarget,
} from '../../test/harness/card/fuzz-kit.ts';

/**
 * APDU fuzzing of every generation's emulator (docs/card-emulator.md, "Fuzzing"): at least
 * 100,000 fuzz APDUs per card — random bytes, structurally valid APDUs with random fields, and
 * mutations of the commands reader programs send, interleaved with the valid sessions that lead
 * up to them. Every answer goes through the oracle in fuzz-kit.ts; after each session a clean
 * read must match a pristine card's, the ledger must hold the card's state, and the card's PIN
 * must be the one the session set.
 *
 * Seeded: SSCARD_FUZZ_SEED changes the seed, SSCARD_FUZZ_APDUS the number of fuzz APDUs per
 * card (fast-check prints the seed and path of a failure, to replay it).
 *
 * PIN hashes use scrypt with N=2 in this file (hashSecret's default cost, mocked below): a
 * fuzz run sends thousands of distinct wrong PINs, and scrypt's cost is not what is under test.
 * The hash still goes through scrypt and verifySecret; the card's logic is unchanged.
 */
vi.mock('./pin.ts', async (importOriginal) => {
  const original = await importOriginal<typeof PinModule>();
  const cheap = { n: 2, r: 1, p: 1 };
  return {
    ...original,
    hashSecret: (secret: string, params: { n: number; r: number; p: number } = cheap) =>
      original.hashSecret(secret, params),
  };
});

const APDUS_PER_CARD = Number(process.env.SSCARD_FUZZ_APDUS ?? 100_000);
const SEED = Number(process.env.SSCARD_FUZZ_SEED ?? 0x55c4_2d01);
const STEPS_PER_SESSION = 200;
/** ≈4 s per 100,000 alone; generous for a loaded 2-core machine and for long runs. */
const TIMEOUT_MS = Math.max(120_000, (APDUS_PER_CARD / 100_000) * 60_000);
if (!Number.isSafeInteger(APDUS_PER_CARD) || APDUS_PER_CARD < STEPS_PER_SESSION)
  throw new Error(`SSCARD_FUZZ_APDUS must be a whole number ≥ ${STEPS_PER_SESSION}`);
if (!Number.isSafeInteger(SEED)) throw new Error('SSCARD_FUZZ_SEED must be a whole number');

/** Each generation; gen 3 both as 3DES/T=0 and SM4/T=1, and born blocked. */
const CARDS = [
  { id: 'gen1', what: 'gen 1, T=0, 3DES' },
  { id: 'gen2', what: 'gen 2, T=0, 3DES' },
  { id: 'gen3-initial-pin', what: 'gen 3, T=0, 3DES, initial PIN' },
  { id: 'gen3-active', what: 'gen 3, T=1, SM4' },
  { id: 'gen3-pin-blocked', what: 'gen 3, T=0, 3DES, PIN blocked, no bank counter' },
] as const;

const stores: CardStore[] = [];
afterAll(() => {
  for (const s of stores.splice(0)) s.close();
});

function targetFor(id: string, noCounter: boolean): FuzzTarget {
  const profile = bundled(id);
  const store = openCardStore(':memory:', () => new Date('2026-01-01T00:00:00Z'));
  stores.push(store);
  store.open(profile); // imports the card and its security state into the ledger
  const cardId = profile.card.number;
  const load = (): CardSecurityState | null => {
    const row = store.ledger.getSecurity(cardId);
    if (!row) return null;
    const { pinHash, pinTriesLeft, pinRetryLimit, pinInitial, keyTriesLeft } = row;
    return { pinHash, pinTriesLeft, pinRetryLimit, pinInitial, keyTriesLeft };
  };
  const pristine = load()!;
  const base = {
    profile,
    pristine,
    noCounter,
    store: { save: (s: CardSecurityState) => store.ledger.saveSecurity(cardId, s), load },
  };
  return { ...base, cleanTranscript: cleanTranscriptOf(base) };
}

/** Plain READ RECORD throughput of the same card in the same process (warmed up): the baseline. */
function baselineRate(target: FuzzTarget): number {
  const card = new SocialSecurityCard(target.profile, { state: target.pristine });
  card.powerOn();
  card.transmit(fromHex(SELECT_SSSE));
  const read = fromHex('00B2072C0B');
  for (let i = 0; i < 20_000; i++) card.transmit(read);
  const n = 100_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) card.transmit(read);
  return n / ((performance.now() - t) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function summary(
  id: string,
  stats: FuzzStats,
  seconds: number,
  cpuSeconds: number,
  baseline: number,
): string {
  const a = stats.apdus;
  const all = Object.values(a).reduce((x, y) => x + y, 0);
  const rate = all / seconds;
  const sws = [...stats.statusWords.entries()].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k}×${v}`);
  return [
    `fuzz ${id}: ${fmt(fuzzApdus(stats))} fuzz APDUs (random ${fmt(a.random)}, structured ${fmt(a.structured)}, mutated ${fmt(a.mutated)})`,
    `  + ${fmt(a.valid)} valid, ${fmt(a['follow-up'])} 6Cxx re-issues, ${fmt(a.final)} in clean reads; ${stats.runs} sessions`,
    `  ${fmt(all)} APDUs in ${seconds.toFixed(2)} s (CPU ${cpuSeconds.toFixed(2)} s) = ${fmt(rate)} APDU/s with the oracle = ${(rate / baseline).toFixed(2)} × plain READ RECORD (${fmt(baseline)} APDU/s)`,
    `  ledger write failures ${stats.ledgerFailures}, PIN changes ${stats.pinChanges}, sessions ending PIN-blocked ${stats.pinBlockedRuns}, key-blocked ${stats.keyBlockedRuns}`,
    `  status words: ${sws.join(' ')}`,
  ].join('\n');
}

/** What every card must have answered at least once: the fuzz reached these paths. */
const REACHED = [
  '9000',
  '6Cxx',
  '63Cx',
  '6581',
  '6700',
  '6981',
  '6982',
  '6983',
  '6985',
  '6986',
  '6988',
  '6A80',
  '6A82',
  '6A83',
  '6A86',
  '6A88',
  '6B00',
  '6D00',
  '6E00',
];

describe('found by the fuzz', () => {
  it('CHANGE PIN with the right old PIN after a wrong try, the ledger refusing the new PIN: 6581 and nothing changes', () => {
    const profile = bundled('gen3-active');
    let refuseNewPin = false;
    const written: CardSecurityState[] = [];
    const card: SocialSecurityCard = new SocialSecurityCard(profile, {
      persist: (s) => {
        if (refuseNewPin && s.pinHash !== card.state.pinHash) throw new Error('disk full');
        written.push(s);
      },
    });
    card.powerOn();
    card.transmit(fromHex(SELECT_SSSE));
    expect(toHex(card.transmit(fromHex('0020000003999999')))).toBe('63C2');
    const before = card.state;
    refuseNewPin = true;
    // old 258014 ‖ FF ‖ new 246813: the old PIN is right, so the counter goes back to 3 and the
    // new PIN is set — in one write. The card used to write the counter first, then fail on
    // the PIN: 6581 with the counter reset, against "6581: nothing changed".
    const change = fromHex('805E010007258014FF246813');
    expect(toHex(card.transmit(change))).toBe('6581');
    expect(card.state).toBe(before);
    expect(written.at(-1)).toBe(before);
    refuseNewPin = false;
    expect(toHex(card.transmit(change))).toBe('9000');
    expect(card.state.pinTriesLeft).toBe(3);
    expect(written.at(-1)).toBe(card.state);
    expect(toHex(card.transmit(fromHex('0020000003246813')))).toBe('9000');
  });
});

describe('APDU fuzzing: never a throw, always a documented status word, no state corruption', () => {
  it('the oracle reads the status word table of docs/card-emulator.md', () => {
    const doc = documentedStatusWords();
    expect(doc.patterns).toContain('61xx');
    expect(doc.has(0x9000)).toBe(true);
    expect(doc.has(0x63c2)).toBe(true);
    expect(doc.has(0x6f00)).toBe(false);
    expect(doc.has(0x6a81)).toBe(false);
  });

  CARDS.forEach(({ id, what }, index) => {
    it(
      `${id} (${what}): ${fmt(APDUS_PER_CARD)} fuzz APDUs`,
      () => {
        const noCounter = id === 'gen3-pin-blocked';
        const target = targetFor(id, noCounter);
        const baseline = baselineRate(target);
        const stats = newStats();
        const t = performance.now();
        const cpu = process.cpuUsage();
        fc.assert(
          fc.property(
            fc.integer(),
            fc.nat({ max: 3 }).map((x) => x === 0), // a quarter of the sessions: a flaky ledger
            fc.array(fuzzStep, { minLength: STEPS_PER_SESSION, maxLength: STEPS_PER_SESSION }),
            (seed, flakyLedger, steps) => {
              const session = new FuzzSession(target, seed, flakyLedger, stats);
              for (const step of steps) session.step(step);
              session.finish();
            },
          ),
          { numRuns: Math.ceil(APDUS_PER_CARD / STEPS_PER_SESSION), seed: SEED + index },
        );
        const seconds = (performance.now() - t) / 1000;
        const used = process.cpuUsage(cpu);
        console.log(summary(id, stats, seconds, (used.user + used.system) / 1e6, baseline));

        expect(fuzzApdus(stats)).toBeGreaterThanOrEqual(APDUS_PER_CARD);
        const reached = new Set(stats.statusWords.keys());
        // Without the bank counter's commands only a stray random 84 24 / 84 5E can answer 6988.
        const expected = REACHED.filter((sw) => !(noCounter && sw === '6988'));
        if (target.profile.protocol === 'T=0') expected.push('61xx');
        else expect(reached.has('61xx')).toBe(false);
        if (APDUS_PER_CARD >= 100_000) expect(expected.filter((sw) => !reached.has(sw))).toEqual([]);
      },
      TIMEOUT_MS,
    );
  });
});
