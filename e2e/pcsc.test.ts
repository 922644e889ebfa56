import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockVpcdSlots } from './vpcd-lock.ts';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VpcdBridge, vpcdReaderName } from '../device/vpcd-bridge.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { waitForCard } from '../device/pcsc.ts';
import { isReaderError } from '../device/errors.ts';
import type { VirtualCard } from '../device/reader.ts';
import { readCard } from '../core/terminal/read-card.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { SocialSecurityCard } from '../core/card/social-security-card.ts';
import { seededRandom } from '../core/card/crypto.ts';
import { PsamSimulator } from '../core/card/psam.ts';
import { fromHex, toHex } from '../core/card/hex.ts';
import { run } from '../cli/main.ts';
import type { CliIo } from '../cli/io.ts';
import { cli } from '../cli/run-for-test.ts';

/**
 * Against a real pcscd with vsmartcard's vpcd driver (started by e2e/global-setup.ts when
 * none runs). Readers "Virtual PCD 00 00" (slot 0) and "Virtual PCD 00 01" (slot 1).
 */
const BIN = fileURLToPath(new URL('../bin/sscard.mjs', import.meta.url));
const execFileP = promisify(execFile);
const SLOT0 = vpcdReaderName(0);
const SLOT1 = vpcdReaderName(1);

let releaseSlots: (() => void) | null = null;
beforeAll(async () => {
  const status = inject('pcscd');
  if (!status.ok) throw new Error(`PC/SC tests need pcscd with vpcd: ${status.reason}`);
  // The vpcd slots are shared by every PC/SC test file: one file at a time.
  releaseSlots = await lockVpcdSlots();
}, 660_000);
afterAll(() => releaseSlots?.());

const bridges: VpcdBridge[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const b of bridges.splice(0)) await b.stop();
  for (const c of children.splice(0)) {
    if (c.exitCode === null) {
      c.kill('SIGINT');
      await new Promise((r) => c.once('exit', r));
    }
  }
  await waitForCard(SLOT0, false, 5000);
  await waitForCard(SLOT1, false, 5000);
});

async function insert(card: VirtualCard, slot: 0 | 1): Promise<VpcdBridge> {
  const bridge = new VpcdBridge({ card, slot });
  bridges.push(bridge);
  bridge.start();
  await bridge.waitConnected();
  await waitForCard(vpcdReaderName(slot));
  return bridge;
}

/** The responses in scriptor's output: '< ' then hex, wrapped over lines, up to ' : meaning'. */
function scriptorAnswers(stdout: string): string[] {
  const answers: string[] = [];
  let current: string | null = null;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('< ')) current = '';
    if (current === null) continue;
    const text = line.startsWith('< ') ? line.slice(2) : line;
    const end = text.indexOf(' : ');
    current += (end >= 0 ? text.slice(0, end) : text).replaceAll(' ', '');
    if (end >= 0) {
      answers.push(current.toUpperCase());
      current = null;
    }
  }
  return answers;
}

/** Starts `sscard serve` as its own process and waits until pcscd sees the card. */
async function serveProcess(args: string[], slot: 0 | 1): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args, '--slot', String(slot)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  await waitForCard(vpcdReaderName(slot), true, 10_000);
  return child;
}

async function stopProcess(child: ChildProcess): Promise<number | null> {
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  children.splice(children.indexOf(child), 1);
  return code;
}

describe('virtual cards on pcscd through vpcd', () => {
  for (const id of ['gen1', 'gen2', 'gen3-initial-pin', 'gen3-active', 'gen3-foreigner']) {
    it(`sscard read reads ${id} through smartcard with the fixture's values`, async () => {
      const { profile: p } = resolveCard(id);
      await insert(new SocialSecurityCard(p), 0);
      const r = await cli('read', '--reader', SLOT0, '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({
        reader: SLOT0,
        generation: p.generation,
        cardNumber: p.card.number,
        ssn: p.holder.ssn,
        name: p.holder.name,
        sex: p.holder.sex,
        birthDate: p.holder.birthDate,
        issueDate: p.card.issueDate,
        expiryDate: p.card.expiryDate,
        pan: p.financial?.pan ?? null,
      });
    });
  }

  it('sscard serve and sscard read as separate processes; sscard readers sees the card', async () => {
    const { profile: p } = resolveCard('gen2');
    const serve = await serveProcess(['--card', 'gen2'], 1);
    const readers = await execFileP(process.execPath, [BIN, 'readers', '--json']);
    const list = JSON.parse(readers.stdout) as { name: string; cardPresent: boolean }[];
    expect(list.find((r) => r.name === SLOT1)?.cardPresent).toBe(true);
    const { stdout } = await execFileP(process.execPath, [BIN, 'read', '--json']);
    expect(JSON.parse(stdout)).toMatchObject({ reader: SLOT1, cardNumber: p.card.number, name: '李娜' });
    expect(await stopProcess(serve)).toBe(0);
    await waitForCard(SLOT1, false);
  });

  it('a scriptor (pcsc-tools) script selects SSSE, reads EF05/EF06 and verifies the PIN (gen 2, T=0)', async () => {
    const { profile: p } = resolveCard('gen2');
    await insert(new SocialSecurityCard(p), 0);
    const script = [
      '00 A4 04 00 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF',
      '00 C0 00 00 18',
      '00 A4 02 00 02 EF 05',
      '00 B2 07 04 0B',
      '00 A4 02 00 02 EF 06',
      '00 B2 08 00 14',
      '00 20 00 00 03 13 57 90',
    ].join('\n');
    const file = join(mkdtempSync(join(tmpdir(), 'sscard-scriptor-')), 'read.script');
    writeFileSync(file, script + '\n');
    const { stdout } = await execFileP('scriptor', ['-r', SLOT0, file]);
    const answers = scriptorAnswers(stdout);
    expect(answers[0]).toBe('6118');
    expect(answers[1]).toMatch(/^6F16840F7378312E73682EC9E7BBE1B1A3D5CF.*9000$/);
    expect(answers[2]).toBe('9000');
    expect(answers[3]).toBe('0709' + toHex(new TextEncoder().encode(p.card.number)) + '9000');
    expect(answers[4]).toBe('9000');
    expect(answers[5]).toBe('0812' + toHex(new TextEncoder().encode(p.holder.ssn)) + '9000');
    expect(answers[6]).toBe('9000');
  });

  it('scriptor authenticates to a gen 3 card (T=1, SM4) and reads EF06 once the PSAM cryptogram is sent', async () => {
    const { profile: p } = resolveCard('gen3-active');
    const card = new SocialSecurityCard(p, { random: seededRandom(42) });
    await insert(card, 0);
    const challenge = seededRandom(42)(8);
    const crypt = new PsamSimulator().externalAuthenticate('sm4', fromHex(p.card.chipSerial), challenge);
    const spaced = (hex: string) => hex.match(/../g)!.join(' ');
    const script = [
      '00 A4 04 00 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF',
      '00 B2 01 34 14',
      '00 84 00 00 08',
      `00 82 00 0A 10 ${spaced(toHex(crypt))}`,
      '00 B2 01 34 14',
      '00 20 00 00 03 25 80 14',
    ].join('\n');
    const file = join(mkdtempSync(join(tmpdir(), 'sscard-scriptor-')), 'auth.script');
    writeFileSync(file, script + '\n');
    const { stdout } = await execFileP('scriptor', ['-p', 'T=1', '-r', SLOT0, file]);
    const sws = scriptorAnswers(stdout).map((a) => a.slice(-4));
    expect(sws).toEqual(['9000', '6982', '9000', '9000', '9000', '9000']);
  });

  it('three wrong PINs block the PIN, and the block survives re-serving with the same db', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'sscard-pcsc-')), 'ledger.db');
    const select = '00A404000F7378312E73682EC9E7BBE1B1A3D5CF';
    let serve = await serveProcess(['--card', 'gen3-active', '--db', db], 0);
    const tries: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await cli('apdu', '--reader', SLOT0, select, '0020000003111111');
      tries.push(r.out.split('\n')[1]!);
    }
    expect(tries).toEqual(['63C2', '63C1', '63C0']);
    expect(await stopProcess(serve)).toBe(0);
    await waitForCard(SLOT0, false);
    serve = await serveProcess(['--card', 'gen3-active', '--db', db], 0);
    const r = await cli('apdu', '--reader', SLOT0, select, '0020000003258014');
    expect(r.out.split('\n')[1]).toBe('6983');
    await stopProcess(serve);
  });

  it('a card removed between commands gives the typed CARD_REMOVED error', async () => {
    const bridge = await insert(new SocialSecurityCard(resolveCard('gen2').profile), 0);
    const reader = new PcscReader(SLOT0);
    try {
      await reader.connect();
      expect(toHex(await reader.transmit(fromHex('00A40000')))).toBe('9000');
      await bridge.stop();
      await waitForCard(SLOT0, false);
      const err = await reader.transmit(fromHex('00A40000')).catch((e: unknown) => e);
      expect(isReaderError(err, 'CARD_REMOVED')).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('a card pulled out in the middle of a command gives CARD_REMOVED, not a crash', async () => {
    let bridge: VpcdBridge | null = null;
    const inner = new SocialSecurityCard(resolveCard('gen3-active').profile);
    // The card is pulled while it works on READ RECORD: it never answers.
    const pulled: VirtualCard = {
      atr: inner.atr,
      powerOn: () => inner.powerOn(),
      powerOff: () => inner.powerOff(),
      reset: () => inner.reset(),
      transmit: (c) => {
        if (c[1] === 0xb2) {
          void bridge!.stop();
          return new Uint8Array(0);
        }
        return inner.transmit(c);
      },
    };
    bridge = await insert(pulled, 0);
    const reader = new PcscReader(SLOT0);
    try {
      await reader.connect();
      await reader.transmit(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));
      const err = await reader.transmit(fromHex('00B2072C0B')).catch((e: unknown) => e);
      expect(err, String(err)).toSatisfy((e) => isReaderError(e, 'CARD_REMOVED'));
    } finally {
      await reader.close();
    }
  });

  it('two cards in the two slots at once are read side by side', async () => {
    const a = resolveCard('gen2').profile;
    const b = resolveCard('gen3-hong-kong').profile;
    await insert(new SocialSecurityCard(a), 0);
    await insert(new SocialSecurityCard(b), 1);
    const r0 = new PcscReader(SLOT0);
    const r1 = new PcscReader(SLOT1);
    try {
      const [x, y] = await Promise.all([readCard(r0), readCard(r1)]);
      expect([x.cardNumber, x.generation]).toEqual([a.card.number, 2]);
      expect([y.cardNumber, y.ssn]).toEqual([b.card.number, 'HKG012345678']);
    } finally {
      await r0.close();
      await r1.close();
    }
  });

  it('reader events: card-inserted and card-removed from the PC/SC monitor', async () => {
    const reader = new PcscReader(SLOT1);
    const events: string[] = [];
    reader.on('card-inserted', () => events.push('in'));
    reader.on('card-removed', () => events.push('out'));
    try {
      await new Promise((r) => setTimeout(r, 200));
      const bridge = await insert(new SocialSecurityCard(resolveCard('gen1').profile), 1);
      for (let i = 0; i < 100 && !events.includes('in'); i++) await new Promise((r) => setTimeout(r, 20));
      await bridge.stop();
      for (let i = 0; i < 100 && !events.includes('out'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(events).toEqual(['in', 'out']);
    } finally {
      await reader.close();
    }
  });

  it('sscard readers --watch --json prints card-inserted and card-removed as they happen', async () => {
    const lines: string[] = [];
    const io: CliIo = { out: (t) => void lines.push(t), err: (t) => void lines.push(t) };
    const abort = new AbortController();
    const watching = run(['readers', '--watch', '--json'], io, abort.signal);
    await new Promise((r) => setTimeout(r, 300));
    const bridge = await insert(new SocialSecurityCard(resolveCard('gen3-expired').profile), 0);
    await bridge.stop();
    await waitForCard(SLOT0, false);
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    expect(await watching).toBe(0);
    const events = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; reader: string });
    // The monitor first reports the readers already there as attached; then the card events.
    const forSlot = events.filter((e) => e.reader === SLOT0).map((e) => e.type);
    expect(forSlot.filter((t) => t.startsWith('card-'))).toEqual(['card-inserted', 'card-removed']);
    expect(forSlot.filter((t) => t.startsWith('reader-'))).toEqual(['reader-attached']);
  });

  it('sscard apdu --reader with an unknown reader is a clear error', async () => {
    const r = await cli('apdu', '--reader', 'No Such Reader', '00A40000');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /no PC\/SC reader matches 'No Such Reader' \(readers: Virtual PCD 00 00, Virtual PCD 00 01/,
    );
  });
});
