import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockVpcdSlots } from './vpcd-lock.ts';
import { VpcdBridge, vpcdReaderName } from '../device/vpcd-bridge.ts';
import { waitForCard } from '../device/pcsc.ts';
import type { VirtualCard } from '../device/reader.ts';
import { SocialSecurityCard } from '../core/card/social-security-card.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { verifySecret } from '../core/card/pin.ts';
import { vpcdTarget, type VpcdTarget } from '../core/conformance/pull.ts';
import { formatReport, runConformance, type ConformanceReport } from '../core/conformance/runner.ts';
import { cli } from '../cli/run-for-test.ts';

/**
 * The conformance pack through a real pcscd: virtual cards served into vpcd slot 0 and
 * tested through the `smartcard` PC/SC module, card pulls included (the vpcd connection
 * closed in the middle of a command). pcscd is started by e2e/global-setup.ts when none runs.
 */
const SLOT0 = vpcdReaderName(0);

let releaseSlots: (() => void) | null = null;
beforeAll(async () => {
  const status = inject('pcscd');
  if (!status.ok) throw new Error(`PC/SC tests need pcscd with vpcd: ${status.reason}`);
  // The vpcd slots are shared by every PC/SC test file: one file at a time.
  releaseSlots = await lockVpcdSlots();
}, 660_000);
afterAll(() => releaseSlots?.());

const targets: VpcdTarget[] = [];
const bridges: VpcdBridge[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.close();
  for (const b of bridges.splice(0)) await b.stop();
  await waitForCard(SLOT0, false, 5000);
});

async function serve(card: VirtualCard): Promise<VpcdTarget> {
  const t = await vpcdTarget(card, 0);
  targets.push(t);
  return t;
}

const failed = (r: ConformanceReport) => r.results.filter((x) => x.status === 'fail').map((x) => x.id);

describe('the conformance pack through pcscd (vpcd slot 0)', () => {
  for (const id of ['gen1', 'gen2', 'gen3-initial-pin', 'gen3-active']) {
    it(`${id}: every check passes, PIN and card-pull checks included; the counters are left as found`, async () => {
      const p = resolveCard(id).profile;
      const card = new SocialSecurityCard(p);
      const t = await serve(card);
      const r = await runConformance(t.reader, {
        pin: p.pin,
        pinChecks: true,
        pullChecks: true,
        pull: t.pull,
      });
      expect(failed(r), formatReport(r).join('\n')).toEqual([]);
      expect(r.readerKind).toBe('pcsc');
      expect(r.reader).toBe(SLOT0);
      expect(r.card).toMatchObject({ generation: p.generation, protocol: p.protocol, simulated: true });
      const pulls = r.results.filter((x) => x.kind === 'pull');
      expect(pulls.filter((x) => x.status === 'pass').length).toBeGreaterThanOrEqual(
        p.generation === 3 ? 5 : 4,
      );
      for (const x of pulls.filter((y) => y.status === 'pass')) {
        expect(x.apdus.some((a) => a.error === 'CARD_REMOVED')).toBe(true);
      }
      expect(card.state.pinTriesLeft).toBe(3);
      expect(card.state.keyTriesLeft).toBe(3);
      expect(verifySecret(card.state.pinHash, p.pin)).toBe(true);
    });
  }

  it('a card with a wrong card-number check character fails BAS-10 only, through pcscd too', async () => {
    const inner = new SocialSecurityCard(resolveCard('gen2').profile);
    const broken: VirtualCard = {
      atr: inner.atr,
      powerOn: () => inner.powerOn(),
      powerOff: () => inner.powerOff(),
      reset: () => inner.reset(),
      transmit: (c) => {
        const r = inner.transmit(c);
        if (r.length !== 13 || r[0] !== 0x07 || r[1] !== 0x09) return r;
        const out = new Uint8Array(r);
        out[10] = out[10] === 0x39 ? 0x30 : out[10]! + 1;
        return out;
      },
    };
    const t = await serve(broken);
    const r = await runConformance(t.reader, {});
    expect(failed(r)).toEqual(['BAS-10']);
  });
});

describe('sscard conformance --reader', () => {
  async function insert(id: string): Promise<void> {
    const bridge = new VpcdBridge({ card: new SocialSecurityCard(resolveCard(id).profile), slot: 0 });
    bridges.push(bridge);
    bridge.start();
    await bridge.waitConnected();
    await waitForCard(SLOT0);
  }

  it('tests the card in a PC/SC reader; pull checks are skipped: a card in a reader cannot be pulled by software', async () => {
    await insert('gen3-active');
    const r = await cli(
      'conformance',
      '--reader',
      'PCD 00 00',
      '--pin-checks',
      '--pin',
      '258014',
      '--pull-checks',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as ConformanceReport;
    expect(report).toMatchObject({ reader: SLOT0, readerKind: 'pcsc', ok: true });
    expect(report.options).toEqual({ pinChecks: true, pullChecks: true, pullAvailable: false });
    for (const x of report.results.filter((y) => y.kind === 'pull')) {
      expect(x.status).toBe('skip');
      expect(x.detail).toMatch(/nobody can pull a card in a PC\/SC reader by software/);
    }
    expect(report.results.filter((x) => x.kind !== 'pull' && x.status === 'skip').map((x) => x.id)).toEqual([
      'BAS-16', // T=1
      'VER-05', // the PIN is not the initial one
    ]);
  });

  it('without --reader it takes the reader with a card; text output ends with the summary', async () => {
    await insert('gen1');
    const r = await cli('conformance');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^SSCard Lab conformance — reader "Virtual PCD 00 00" \(PC\/SC\)\nCard: gen 1, T=0, 3DES, ATR /,
    );
    expect(r.out).toMatch(/\nSummary: 47 checks — \d+ pass, 0 fail, \d+ skip → PASS 通过$/);
  });

  it('an unknown reader is bad input (exit 1)', async () => {
    const r = await cli('conformance', '--reader', 'No Such Reader');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no PC\/SC reader matches 'No Such Reader'/);
  });
});
