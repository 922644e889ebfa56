import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCardStore } from './card-store.ts';
import { bundled, SELECT_SSSE, sw } from '../../test/harness/card/cards.ts';
import { runGuessers } from '../../test/harness/ledger/guess-support.ts';
import { fromHex, toHex } from '../card/hex.ts';
import { CounterPinKey, PsamSimulator } from '../card/psam.ts';
import type { SocialSecurityCard } from '../card/social-security-card.ts';

/**
 * The card's retry counters under concurrency (issue 16 item 1, R1.3/R1.4: the card, not the
 * terminal, counts PIN tries). N processes, each with the card opened on ONE ledger file before
 * any of them guesses, send M wrong guesses each: between them the card evaluates exactly its
 * retry limit of guesses (63C2, 63C1, 63C0 once each), every other answer is 6983, and then the
 * right PIN is refused with 6983 too — by a fresh process and by a card object opened before
 * the guesses. Each process used to decide on the state it loaded at open and write absolute
 * values back, so every process spent the whole limit (N × 3 guesses evaluated).
 */
const PROCESSES = 6;
const GUESSES = 3;
const LIMIT = 3;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-guess-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

function opened(c: SocialSecurityCard): SocialSecurityCard {
  c.powerOn();
  expect(sw(c, toHex(fromHex(SELECT_SSSE)))).toBe('9000');
  return c;
}

/** The right EXTERNAL AUTHENTICATE for this card object's next challenge. */
function rightAuth(c: SocialSecurityCard): string {
  const challenge = toHex(c.transmit(fromHex('0084000008'))).slice(0, 16);
  const serial = fromHex(c.profile.card.chipSerial);
  const cryptogram = new PsamSimulator().externalAuthenticate(c.algorithm, serial, fromHex(challenge));
  return sw(c, '0082000A' + toHex(Uint8Array.of(cryptogram.length)) + toHex(cryptogram));
}

describe(`R1.3 the card's PIN counter: ${PROCESSES} processes × ${GUESSES} wrong PINs on one ledger`, () => {
  it(`evaluate exactly ${LIMIT} guesses, then every VERIFY answers 6983, the right PIN included`, async () => {
    const dbPath = freshDb();
    const profile = bundled('gen3-active');
    const store = openCardStore(dbPath);
    const stale = opened(store.open(profile)); // loaded with 3 tries left, before any guess

    const run = await runGuessers({
      dbPath,
      card: 'gen3-active',
      mode: 'pin',
      processes: PROCESSES,
      guesses: GUESSES,
    });

    const evaluated = run.sws.filter((s) => /^63C/.test(s));
    expect(evaluated.sort(), JSON.stringify(run.reports)).toEqual(['63C0', '63C1', '63C2']);
    expect(run.sws.filter((s) => s === '6983')).toHaveLength(PROCESSES * GUESSES - LIMIT);
    // Each process saw the counter only go down.
    for (const r of run.reports) {
      const left = r.sws.map((s) => (s === '6983' ? 0 : parseInt(s.slice(3), 16)));
      expect(left, JSON.stringify(r)).toEqual([...left].sort((a, b) => b - a));
    }

    expect(store.security(profile.card.number)).toMatchObject({ pinTriesLeft: 0 });
    expect(sw(stale, '0020000003' + profile.pin)).toBe('6983');
    expect(sw(stale, '00200000')).toBe('6983'); // the status query, too
    expect(sw(stale, '805E010007' + profile.pin + 'FF246813')).toBe('6983'); // and CHANGE PIN
    const fresh = openCardStore(dbPath);
    expect(sw(opened(fresh.open(profile)), '0020000003' + profile.pin)).toBe('6983');
    fresh.close();
    store.close();
  }, 120_000);

  it(`the EXTERNAL AUTHENTICATE key counter likewise: exactly ${LIMIT} wrong cryptograms evaluated, then 6983 for the right one`, async () => {
    const dbPath = freshDb();
    const profile = bundled('gen3-active');
    const store = openCardStore(dbPath);
    const stale = opened(store.open(profile));

    const run = await runGuessers({
      dbPath,
      card: 'gen3-active',
      mode: 'key',
      processes: PROCESSES,
      guesses: GUESSES,
    });

    expect(run.sws.filter((s) => /^63C/.test(s)).sort(), JSON.stringify(run.reports)).toEqual([
      '63C0',
      '63C1',
      '63C2',
    ]);
    expect(run.sws.filter((s) => s === '6983')).toHaveLength(PROCESSES * GUESSES - LIMIT);
    expect(store.security(profile.card.number)).toMatchObject({ keyTriesLeft: 0 });
    expect(rightAuth(stale)).toBe('6983');
    store.close();
  }, 120_000);
});

describe('card objects on one ledger are one card (two connections, one process)', () => {
  it('a PIN changed, blocked, unblocked or reloaded through one object is so for the other', () => {
    const dbPath = freshDb();
    const profile = bundled('gen3-active');
    const a = openCardStore(dbPath);
    const b = openCardStore(dbPath);
    const ca = opened(a.open(profile));
    const cb = opened(b.open(profile));
    expect(sw(cb, '805E010007' + profile.pin + 'FF246813')).toBe('9000');
    expect(sw(ca, '0020000003' + profile.pin)).toBe('63C2'); // the old PIN is no longer the PIN
    expect(sw(ca, '0020000003246813')).toBe('9000');
    for (const left of ['63C2', '63C1', '63C0']) expect(sw(cb, '0020000003999999')).toBe(left);
    expect(sw(ca, '0020000003246813')).toBe('6983');
    expect(ca.state.pinTriesLeft).toBe(0);
    // The counter's unblock through b; a, which saw the block, takes the PIN again.
    const challenge = fromHex(toHex(cb.transmit(fromHex('0084000008'))).slice(0, 16));
    const unblock = new CounterPinKey().unblockCommand(
      cb.algorithm,
      fromHex(profile.card.chipSerial),
      challenge,
    );
    expect(toHex(cb.transmit(unblock))).toBe('9000');
    expect(sw(ca, '0020000003246813')).toBe('9000');
    // RELOAD PIN through a; b verifies the reloaded PIN.
    const ch2 = fromHex(toHex(ca.transmit(fromHex('0084000008'))).slice(0, 16));
    const reload = new CounterPinKey().reloadCommand(
      ca.algorithm,
      fromHex(profile.card.chipSerial),
      ch2,
      '135792',
    );
    expect(toHex(ca.transmit(reload))).toBe('9000');
    expect(sw(cb, '0020000003246813')).toBe('63C2');
    expect(sw(cb, '0020000003135792')).toBe('9000');
    a.close();
    b.close();
  });

  it('a shared state that cannot be committed answers 6581 and leaves the session as it was', () => {
    const dbPath = freshDb();
    const profile = bundled('gen3-active');
    const store = openCardStore(dbPath);
    const c = opened(store.open(profile));
    store.close(); // the ledger is gone: nothing can be read or committed
    expect(sw(c, '0020000003' + profile.pin)).toBe('6581');
    expect(sw(c, '00200000')).toBe('6581');
  });
});
