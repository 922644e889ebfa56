import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockVpcdSlots } from './vpcd-lock.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vpcdReaderName } from '../device/vpcd-bridge.ts';
import { waitForCard } from '../device/pcsc.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { loadProfile } from '../core/card/profile.ts';
import { cli } from '../cli/run-for-test.ts';

/**
 * Record and replay through a real pcscd: a bundled card served on slot 0 by `sscard serve`,
 * recorded with `sscard record --reader`, the recording served on slot 1 by `sscard serve
 * --card card.json`, and both read with `sscard read --reader` and raw READ RECORDs.
 */
const BIN = fileURLToPath(new URL('../bin/sscard.mjs', import.meta.url));
const SLOT0 = vpcdReaderName(0);
const SLOT1 = vpcdReaderName(1);
const SELECT_SSSE = '00A404000F7378312E73682EC9E7BBE1B1A3D5CF';
const EF05_BY_SFI = [1, 2, 3, 4, 5, 6, 7].map((n) => `00B20${n}2C00`);

let releaseSlots: (() => void) | null = null;
beforeAll(async () => {
  const status = inject('pcscd');
  if (!status.ok) throw new Error(`PC/SC tests need pcscd with vpcd: ${status.reason}`);
  // The vpcd slots are shared by every PC/SC test file: one file at a time.
  releaseSlots = await lockVpcdSlots();
}, 660_000);
afterAll(() => releaseSlots?.());

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null) {
      c.kill('SIGINT');
      await new Promise((r) => c.once('exit', r));
    }
  }
  await waitForCard(SLOT0, false, 5000);
  await waitForCard(SLOT1, false, 5000);
});

async function serve(card: string, slot: 0 | 1): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'serve', '--card', card, '--slot', String(slot)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  await waitForCard(vpcdReaderName(slot), true, 10_000);
}

/** EF05 as the card answers it: the responses of SELECT SSSE and READ RECORD 1–7 by SFI. */
async function ef05(reader: string): Promise<string[]> {
  const r = await cli('apdu', '--reader', reader, SELECT_SSSE, ...EF05_BY_SFI);
  expect(r.code).toBe(0);
  return r.out.split('\n').slice(1);
}

describe('record → serve → read through pcscd', () => {
  for (const id of ['gen1', 'gen2', 'gen3-initial-pin', 'gen3-active']) {
    it(`${id}: the recording served on slot 1 reads like the card on slot 0 (EF05, ATR, PAN; holder on gen 1/2)`, async () => {
      const original = resolveCard(id).profile;
      await serve(id, 0);
      const rec = await cli('record', '--reader', SLOT0);
      expect(rec.code).toBe(0);
      expect(rec.err).toMatch(
        new RegExp(
          `^sscard record: card ${original.card.number} \\(gen ${original.generation}\\) from "${SLOT0}"`,
        ),
      );
      const file = join(mkdtempSync(join(tmpdir(), 'sscard-record-')), 'card.json');
      writeFileSync(file, rec.out);
      const recorded = loadProfile(file); // valid against the profile format
      expect(recorded.recorded?.reader).toBe(SLOT0);
      expect(recorded.protocol).toBe(original.protocol); // as pcscd negotiated it
      expect(recorded.pin).toBe('000000');

      await serve(file, 1);
      const a = await cli('read', '--reader', SLOT0, '--json');
      const b = await cli('read', '--reader', SLOT1, '--json');
      expect([a.code, a.err, b.code, b.err]).toEqual([0, '', 0, '']);
      const x = JSON.parse(a.out) as Record<string, unknown>;
      const y = JSON.parse(b.out) as Record<string, unknown>;
      expect(y.reader).toBe(SLOT1);
      for (const k of [
        'atr',
        'generation',
        'specVersion',
        'cardIdentificationCode',
        'cardType',
        'issuer',
        'issueDate',
        'expiryDate',
        'cardNumber',
        'cardNumberValid',
        'pan',
      ]) {
        expect([k, y[k]]).toEqual([k, x[k]]);
      }
      const { reader: _r0, ...restA } = x;
      const { reader: _r1, ...restB } = y;
      if (original.generation < 3) expect(restB).toEqual(restA);
      else expect(y.name).toBe('未读取'); // gen 3 holder data was not readable without a PSAM

      expect(await ef05(SLOT1)).toEqual(await ef05(SLOT0));
    });
  }

  it('sscard record without --reader takes the reader with a card; with no card anywhere it is bad input', async () => {
    const none = await cli('record');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/^sscard: no card in any PC\/SC reader/);
    await serve('gen2', 1);
    const r = await cli('record');
    expect([r.code, r.err.split('\n')[0]]).toEqual([
      0,
      `sscard record: card B44010024 (gen 2) from "${SLOT1}"`,
    ]);
    expect(JSON.parse(r.out)).toMatchObject({ id: 'recorded-b44010024', recorded: { reader: SLOT1 } });
  });
});
