import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SocialSecurityCard } from '../card/social-security-card.ts';
import { verifySecret } from '../card/pin.ts';
import { loadWallet } from '../card/wallet.ts';
import { bundled, variant } from '../../test/harness/card/cards.ts';
import { VirtualReader } from '../../device/virtual-reader.ts';
import type { VirtualCard } from '../../device/reader.ts';
import { CHECKS, GROUPS } from './checks.ts';
import { inProcessTarget } from './pull.ts';
import { formatReport, runConformance, type ConformanceOptions, type ConformanceReport } from './runner.ts';
import type { CardProfile } from '../card/profile.ts';

/**
 * The conformance pack against the emulator, in-process: every bundled card passes, with
 * the PIN and card-pull checks too, and leaves its PIN counter as found; deliberately broken
 * cards fail exactly the checks that look at what is broken.
 */

const ALL = { pinChecks: true, pullChecks: true } as const;

async function runOn(card: VirtualCard, profile: CardProfile, options: ConformanceOptions = {}) {
  const t = inProcessTarget(card);
  return runConformance(t.reader, {
    pin: profile.pin,
    pull: t.pull,
    algorithm: profile.algorithm,
    ...options,
  });
}

const failed = (r: ConformanceReport) => r.results.filter((x) => x.status === 'fail').map((x) => x.id);
const status = (r: ConformanceReport, id: string) => r.results.find((x) => x.id === id)?.status;
const detail = (r: ConformanceReport, id: string) => r.results.find((x) => x.id === id)?.detail ?? '';

/** A card whose answers pass through `patch` (response = data ‖ SW). */
function patched(inner: VirtualCard, patch: (cmd: Uint8Array, resp: Uint8Array) => Uint8Array): VirtualCard {
  return {
    atr: inner.atr,
    powerOn: () => inner.powerOn(),
    powerOff: () => inner.powerOff(),
    reset: () => inner.reset(),
    transmit: (c) => patch(c, inner.transmit(c)),
  };
}

const swOf = (r: Uint8Array) => (r[r.length - 2]! << 8) | r[r.length - 1]!;

describe('the check list', () => {
  it('has unique ids, a known group, zh and en descriptions, a reference and an expectation', () => {
    const ids = CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of CHECKS) {
      expect(c.id).toMatch(/^(BAS|VER|CHG|RLD|UNB|DEB|DRD|APDU|PULL)-\d{2}$/);
      expect(GROUPS[c.group]).toBeDefined();
      expect(c.zh).toMatch(/[\u4e00-\u9fff]/);
      expect(c.en.length).toBeGreaterThan(10);
      expect(c.ref).not.toBe('');
      expect(c.expect).not.toBe('');
    }
    for (const g of [
      'iReadCardBas',
      'iVerifyPIN',
      'iChangePIN',
      'iReloadPIN',
      'iUnblockPIN',
      'iDoDebit',
      'iReadDebitRecord',
    ])
      expect(CHECKS.some((c) => c.group === g)).toBe(true);
  });

  it('docs/conformance.md documents every check: id, function group and reference', () => {
    const doc = readFileSync(new URL('../../docs/conformance.md', import.meta.url), 'utf8');
    for (const c of CHECKS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${c.id} |`));
      expect(row, c.id).toBeDefined();
      expect(row).toContain(c.group);
      expect(row).toContain(c.zh);
    }
  });
});

describe('every bundled card passes the whole pack in-process', () => {
  for (const { profile } of loadWallet()) {
    it(`${profile.id}: read, PIN and card-pull checks pass; the PIN counter and key counter are as found`, async () => {
      const card = new SocialSecurityCard(profile);
      const before = card.state;
      const r = await runOn(card, profile, ALL);
      expect(failed(r), formatReport(r).join('\n')).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.card.generation).toBe(profile.generation);
      expect(r.card.simulated).toBe(true);
      // Left as found: counter, retry limit, initial flag, key counter, and the same PIN.
      expect(card.state.pinTriesLeft).toBe(before.pinTriesLeft);
      expect(card.state.pinInitial).toBe(before.pinInitial);
      expect(card.state.keyTriesLeft).toBe(before.keyTriesLeft);
      expect(verifySecret(card.state.pinHash, profile.pin)).toBe(true);
      // What each generation cannot do is skipped, never failed.
      const skipped = r.results.filter((x) => x.status === 'skip').map((x) => x.id);
      if (profile.generation === 1)
        expect(skipped).toEqual(expect.arrayContaining(['DEB-02', 'DRD-01', 'DRD-02']));
      if (profile.generation === 3) expect(status(r, 'BAS-12')).toBe('pass');
      if (profile.protocol === 'T=0') expect(status(r, 'BAS-16')).toBe('pass');
      if (profile.pinTriesLeft === 0) expect(detail(r, 'VER-07')).toMatch(/blocked as found/);
      else expect(status(r, 'VER-07')).toBe('pass');
    });
  }
});

describe('what runs by default', () => {
  it('read-only checks only: no VERIFY, CHANGE, RELOAD or UNBLOCK is sent, PIN and pull checks are skipped with the option to give', async () => {
    const p = bundled('gen3-active');
    const r = await runOn(new SocialSecurityCard(p), p);
    expect(r.ok).toBe(true);
    for (const x of r.results) {
      if (x.kind === 'pin')
        expect([x.status, x.detail]).toEqual(['skip', 'PIN check: run with --pin-checks --pin <digits>']);
      if (x.kind === 'pull')
        expect([x.status, x.detail]).toEqual(['skip', 'card-pull check: run with --pull-checks']);
      for (const a of x.apdus) expect(['20', '24', '5E']).not.toContain(a.command.slice(2, 4));
    }
    expect(r.results.filter((x) => x.kind === 'read').every((x) => x.status !== 'fail')).toBe(true);
  });

  it('pull checks without a pullable card are skipped with the reason', async () => {
    const p = bundled('gen2');
    const reader = new VirtualReader();
    reader.insert(new SocialSecurityCard(p));
    const r = await runConformance(reader, { pullChecks: true });
    expect(status(r, 'PULL-01')).toBe('skip');
    expect(detail(r, 'PULL-01')).toMatch(/nobody can pull a card in a PC\/SC reader by software/);
    const withPull = await runOn(new SocialSecurityCard(p), p, { pullChecks: true });
    expect(status(withPull, 'PULL-01')).toBe('pass');
    expect(detail(withPull, 'PULL-04')).toBe('also needs --pin-checks: it sends a wrong PIN');
  });

  it('APDU logs carry status words and mask PINs; response data is never reported', async () => {
    const p = bundled('gen2');
    const r = await runOn(new SocialSecurityCard(p), p, { pinChecks: true, only: ['VER-02', 'BAS-05'] });
    expect(r.results.map((x) => x.id)).toEqual(['BAS-05', 'VER-02']);
    const json = JSON.stringify(r);
    expect(json).not.toContain('135790'); // the PIN
    expect(json).not.toContain(Buffer.from(p.card.number).toString('hex').toUpperCase());
    const ver = r.results[1]!.apdus.filter((a) => a.name === 'VERIFY PIN');
    expect(ver.length).toBeGreaterThan(2);
    for (const a of ver.filter((x) => x.command.length > 8)) expect(a.command).toMatch(/^0020000003\*+$/);
    expect(ver.map((a) => a.sw)).toEqual(expect.arrayContaining(['63C2', '63C1', '9000']));
  });
});

describe('a real card (not SSCard Lab’s) never gets a test key', () => {
  it('gen 3 treated as real: EF06 reported protected, not tested; counter-key checks skipped; no 82/84-class command sent', async () => {
    const p = bundled('gen3-active');
    const card = new SocialSecurityCard(p);
    const r = await runOn(card, p, { ...ALL, simulated: false, pull: null });
    expect(r.ok).toBe(true);
    expect(r.card.simulated).toBe(false);
    for (const id of ['BAS-12', 'BAS-13', 'BAS-14']) {
      expect(status(r, id)).toBe('skip');
      expect(detail(r, id)).toBe('protected, not tested: needs the issuer key RKSSSE in a real PSAM');
    }
    for (const id of ['RLD-01', 'RLD-02', 'UNB-01', 'UNB-02'])
      expect(detail(r, id)).toMatch(/bank counter’s PIN key/);
    expect(detail(r, 'VER-07')).toMatch(/would block the PIN of a real card/);
    expect(status(r, 'BAS-11')).toBe('pass');
    expect(status(r, 'VER-02')).toBe('pass');
    const sent = r.results.flatMap((x) => x.apdus.map((a) => a.command));
    expect(sent.some((c) => c.startsWith('0082') || c.startsWith('84'))).toBe(false);
    expect(card.state.keyTriesLeft).toBe(3);
    expect(card.state.pinTriesLeft).toBe(3);
  });

  it('no wrong PIN is sent to a real card that reports only one try left', async () => {
    const p = bundled('gen2');
    const inner = new SocialSecurityCard(p);
    const lastTry = patched(inner, (c, r) =>
      c.length === 4 && c[1] === 0x20 ? Uint8Array.of(0x63, 0xc1) : r,
    );
    const r = await runOn(lastTry, p, { pinChecks: true, simulated: false, pull: null });
    for (const id of ['VER-02', 'VER-03', 'VER-06', 'CHG-01']) {
      expect([id, status(r, id), detail(r, id)]).toEqual([
        id,
        'skip',
        'only 1 try left after the right PIN: a wrong PIN could block the card',
      ]);
    }
    expect(status(r, 'VER-01')).toBe('pass');
    expect(status(r, 'CHG-03')).toBe('pass');
    expect(inner.state.pinTriesLeft).toBe(3);
  });

  it('a wrong --pin costs one try and stops every PIN check', async () => {
    const p = bundled('gen2');
    const card = new SocialSecurityCard(p);
    const r = await runOn(card, p, { pinChecks: true, pin: '111111' });
    expect(failed(r)).toEqual(['VER-01']);
    expect(detail(r, 'VER-01')).toMatch(/the PIN given is wrong \(the card answered 63C2\)/);
    for (const x of r.results.filter((y) => y.kind === 'pin' && y.id !== 'VER-01')) {
      expect(x.status).toBe('skip');
      expect(x.apdus).toEqual([]);
    }
    expect(card.state.pinTriesLeft).toBe(2);
  });
});

describe('deliberately broken cards fail exactly the right checks', () => {
  it('a wrong card-number check character (EF05 tag 07) fails BAS-10 only', async () => {
    const p = bundled('gen3-active');
    const card = patched(new SocialSecurityCard(p), (_c, r) => {
      if (r.length === 13 && r[0] === 0x07 && r[1] === 0x09) {
        const out = new Uint8Array(r);
        out[10] = out[10] === 0x39 ? 0x30 : out[10]! + 1;
        return out;
      }
      return r;
    });
    const r = await runOn(card, p, ALL);
    expect(failed(r)).toEqual(['BAS-10']);
    expect(detail(r, 'BAS-10')).toMatch(/check character should be '8', not '9'/);
  });

  it('a wrong SSN check character (EF06 tag 08) fails BAS-14 only', async () => {
    const p = bundled('gen2');
    const card = patched(new SocialSecurityCard(p), (_c, r) => {
      if (r.length === 22 && r[0] === 0x08 && r[1] === 0x12) {
        const out = new Uint8Array(r);
        out[19] = out[19] === 0x33 ? 0x34 : 0x33;
        return out;
      }
      return r;
    });
    const r = await runOn(card, p, ALL);
    expect(failed(r)).toEqual(['BAS-14']);
    expect(detail(r, 'BAS-14')).toMatch(/^SSN: check character should be '2'/);
  });

  it('answering a wrong Le with 6700 instead of 6Cxx fails BAS-15 only', async () => {
    const p = bundled('gen1');
    const card = patched(new SocialSecurityCard(p), (_c, r) =>
      r.length === 2 && r[0] === 0x6c ? Uint8Array.of(0x67, 0x00) : r,
    );
    const r = await runOn(card, p, ALL);
    expect(failed(r)).toEqual(['BAS-15']);
    expect(detail(r, 'BAS-15')).toBe(
      'READ RECORD with Le=05: expected 6C0B, card answered 6700 (wrong length (Lc/Le))',
    );
  });

  it('answering an unknown instruction with 6E00 fails APDU-02 only', async () => {
    const p = bundled('gen3-initial-pin');
    const card = patched(new SocialSecurityCard(p), (_c, r) =>
      swOf(r) === 0x6d00 ? Uint8Array.of(0x6e, 0x00) : r,
    );
    const r = await runOn(card, p, ALL);
    expect(failed(r)).toEqual(['APDU-02']);
  });

  it('a PAN failing its Luhn check fails DRD-01 and DRD-02 (5A no longer matches track 2)', async () => {
    const p = bundled('gen2');
    const card = patched(new SocialSecurityCard(p), (_c, r) => {
      const at = r.findIndex((b, i) => b === 0x5a && r[i + 1] === 0x09);
      if (r[0] !== 0x70 || at < 0) return r;
      const out = new Uint8Array(r);
      const last = out[at + 10]!;
      out[at + 10] = (last & 0xf0) | (((last & 0x0f) + 1) % 10);
      return out;
    });
    const r = await runOn(card, p, ALL);
    expect(failed(r)).toEqual(['DRD-01', 'DRD-02']);
    expect(detail(r, 'DRD-01')).toMatch(/^PAN: Luhn check digit should be/);
  });

  it('a gen 3 card that accepts the unchanged initial PIN fails VER-05 only', async () => {
    const p = variant('gen3-initial-pin', (x) => {
      x.refuseInitialPin = false;
    });
    const card = new SocialSecurityCard(p);
    const r = await runOn(card, p, ALL);
    expect(failed(r)).toEqual(['VER-05']);
    expect(detail(r, 'VER-05')).toBe('the initial PIN 123456 was accepted with 9000; expected 6985');
    expect(card.state.pinTriesLeft).toBe(3);
  });

  it('a card that gives back the try when pulled after a wrong VERIFY fails PULL-05 only', async () => {
    const p = bundled('gen3-active');
    const t = inProcessTarget(new SocialSecurityCard(p));
    // The flaw: whatever was pulled never reached the card's memory.
    const arm = t.card.arm.bind(t.card);
    t.card.arm = (match) => arm(match, 'before');
    const r = await runConformance(t.reader, { ...ALL, pin: p.pin, pull: t.pull });
    expect(failed(r)).toEqual(['PULL-05']);
    expect(detail(r, 'PULL-05')).toBe('after reinsertion: 3 tries left, expected 2');
  });
});

describe('card pulls (防拔) in-process', () => {
  it('each pull is reported as card removed by the reader, and the card is back for the next check', async () => {
    const p = bundled('gen3-active');
    const card = new SocialSecurityCard(p);
    const t = inProcessTarget(card);
    const events: string[] = [];
    t.reader.on('card-removed', () => events.push('out'));
    t.reader.on('card-inserted', () => events.push('in'));
    const r = await runConformance(t.reader, {
      ...ALL,
      pin: p.pin,
      pull: t.pull,
      only: CHECKS.filter((c) => c.kind === 'pull').map((c) => c.id),
    });
    expect(r.results.map((x) => [x.id, x.status])).toEqual([
      ['PULL-01', 'pass'],
      ['PULL-02', 'pass'],
      ['PULL-03', 'pass'],
      ['PULL-04', 'pass'],
      ['PULL-05', 'pass'],
      ['PULL-06', 'pass'],
    ]);
    expect(events).toEqual(Array(6).fill(['out', 'in']).flat());
    for (const x of r.results) expect(x.apdus.some((a) => a.error === 'CARD_REMOVED')).toBe(true);
    expect(detail(r, 'PULL-06')).toBe('the change was applied whole: the new PIN verifies (changed back)');
    expect(card.state.pinTriesLeft).toBe(3);
    expect(verifySecret(card.state.pinHash, p.pin)).toBe(true);
    expect(t.reader.cardPresent()).toBe(true);
  });
});
