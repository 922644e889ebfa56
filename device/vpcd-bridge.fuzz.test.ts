import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import fc from 'fast-check';
import { VpcdBridge, FrameReader, encodeFrame } from './vpcd-bridge.ts';
import { ApduTrace, commandCarriesPin } from './trace.ts';
import type { VirtualCard } from './reader.ts';
import { SocialSecurityCard, type CardSecurityState } from '../core/card/social-security-card.ts';
import { seededRandom } from '../core/card/crypto.ts';
import { fromHex, toHex } from '../core/card/hex.ts';
import { structuredApdu } from '../test/harness/card/fuzz-kit.ts';
import { bundled } from '../test/harness/card/cards.ts';
import type { CardProfile } from '../core/card/profile.ts';

/**
 * The vpcd bridge under malformed vpcd traffic (docs/pcsc.md, "Fuzzing"): random frame
 * streams cut into random TCP writes, zero-length and oversized frames, unknown controls,
 * commands before power-on, torn frames and dropped connections. The oracle is a mirror card
 * (same profile, same state, same seeded challenges) fed the same frames as vpcd's protocol
 * defines them: the bridge must answer exactly what the mirror answers, nothing more, stay up,
 * and afterwards serve a clean card read like a pristine card.
 */

const SEED = Number(process.env.SSCARD_FUZZ_SEED ?? 0x0bcd_2026);
const PROFILES = ['gen2', 'gen3-active'] as const;
const SELECT_SSSE = fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');

/** vpcd's side: a TCP server that sends raw bytes and parses the bridge's answers itself. */
class FakeVpcd {
  readonly server: Server;
  socket: Socket | null = null;
  connections = 0;
  private buffered = Buffer.alloc(0);
  private answers: Buffer[] = [];
  private waiting: (() => void)[] = [];

  constructor() {
    this.server = createServer((s) => {
      s.setNoDelay(true);
      this.socket = s;
      this.connections++;
      this.buffered = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        // Parsed here, not with the bridge's FrameReader: the oracle must not share its code.
        this.buffered = Buffer.concat([this.buffered, d]);
        while (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
          const len = this.buffered.readUInt16BE(0);
          this.answers.push(Buffer.from(this.buffered.subarray(2, 2 + len)));
          this.buffered = this.buffered.subarray(2 + len);
        }
        for (const w of this.waiting.splice(0)) w();
      });
      s.on('error', () => {});
      s.on('close', () => {
        for (const w of this.waiting.splice(0)) w();
      });
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  /** The next answer frame, or a clear failure after timeoutMs. */
  async next(what: string, timeoutMs = 4000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = this.answers.shift();
      if (a) return a;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`vpcd got no answer from the bridge for ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Answers received and not yet taken. */
  get unread(): number {
    return this.answers.length;
  }

  async waitConnections(n: number, timeoutMs = 4000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections < n) {
      if (Date.now() > deadline) throw new Error(`the bridge did not connect (${this.connections}/${n})`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Writes bytes in the given chunk sizes, yielding to the event loop now and then. */
  async write(bytes: Uint8Array, chunks: readonly number[] = [bytes.length]): Promise<void> {
    const s = this.socket!;
    let at = 0;
    let i = 0;
    while (at < bytes.length) {
      const size = Math.max(1, chunks[i % chunks.length]!);
      s.write(bytes.subarray(at, at + size));
      at += size;
      if (++i % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  async dropConnection(): Promise<void> {
    const s = this.socket;
    if (!s || s.destroyed) return;
    const closed = once(s, 'close');
    s.destroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.dropConnection();
    this.server.close();
    await once(this.server, 'close');
  }
}

const pristine = new Map<string, { profile: CardProfile; state: CardSecurityState }>();
beforeAll(() => {
  for (const id of PROFILES) {
    const profile = bundled(id);
    pristine.set(id, { profile, state: new SocialSecurityCard(profile).state });
  }
});

function cardOf(id: string, seed: number): SocialSecurityCard {
  const p = pristine.get(id)!;
  return new SocialSecurityCard(p.profile, { state: p.state, random: seededRandom(seed) });
}

/**
 * What vpcd's protocol says the card side answers for a frame: a 1-byte payload is a control
 * (00 off, 01 on, 02 reset: no answer; 04: the ATR; others: no answer), anything else is a
 * command APDU answered with the response APDU.
 */
function mirrorAnswer(mirror: VirtualCard, payload: Uint8Array): Uint8Array | null {
  if (payload.length === 1) {
    switch (payload[0]) {
      case 0:
        mirror.powerOff();
        return null;
      case 1:
        mirror.powerOn();
        return null;
      case 2:
        mirror.reset();
        return null;
      case 4:
        return mirror.atr;
      default:
        return null;
    }
  }
  return mirror.transmit(payload);
}

const REAL = [
  '00A404000F7378312E73682EC9E7BBE1B1A3D5CF',
  '00C0000018',
  '00C000001E',
  '00B2072C0B',
  '00B2012C00',
  '00B2013400',
  '0084000008',
  '00200000',
  '0020000003999999',
  '00A4040008A000000333010101',
  '80A8000002830000',
].map(fromHex);

const payload: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...[0, 1, 2, 4].map((c) => Uint8Array.of(c))) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((c) => Uint8Array.of(c)) }, // unknown controls too
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 4, arbitrary: fc.constantFrom(...REAL) },
  { weight: 4, arbitrary: structuredApdu },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 2, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 301, maxLength: 3000 }) },
);

/** How the stream is cut into TCP writes: whole, byte by byte, or random sizes. */
const chunking: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([1 << 20]),
  fc.constant<number[]>([1]),
  fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
);

const bridges: VpcdBridge[] = [];
const fakes: FakeVpcd[] = [];
afterEach(async () => {
  for (const b of bridges.splice(0)) await b.stop();
});
afterAll(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function fake(): Promise<{ vpcd: FakeVpcd; port: number }> {
  const vpcd = new FakeVpcd();
  fakes.push(vpcd);
  return { vpcd, port: await vpcd.listen() };
}

async function insert(vpcd: FakeVpcd, port: number, card: VirtualCard, trace?: ApduTrace) {
  const before = vpcd.connections;
  const bridge = new VpcdBridge({ card, port, reconnectDelayMs: 10, ...(trace ? { trace } : {}) });
  bridges.push(bridge);
  const events: string[] = [];
  bridge.on('disconnected', (why) => events.push(why));
  bridge.start();
  await vpcd.waitConnections(before + 1);
  await bridge.waitConnected();
  return { bridge, events };
}

async function remove(bridge: VpcdBridge): Promise<void> {
  bridges.splice(bridges.indexOf(bridge), 1);
  await bridge.stop();
}

/** A clean read through vpcd: ATR, power on, SELECT SSSE (with GET RESPONSE), EF05 records 1–7. */
async function cleanRead(vpcd: FakeVpcd, t0: boolean): Promise<string[]> {
  const out: string[] = [];
  const ask = async (p: Uint8Array, what: string) => {
    await vpcd.write(encodeFrame(p));
    const a = await vpcd.next(what);
    out.push(toHex(a));
    return a;
  };
  await ask(Uint8Array.of(4), 'GET ATR');
  await vpcd.write(encodeFrame(Uint8Array.of(1)));
  const sel = await ask(SELECT_SSSE, 'SELECT SSSE');
  if (t0 && sel.length === 2 && sel[0] === 0x61)
    await ask(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, sel[1]!), 'GET RESPONSE');
  for (let n = 1; n <= 7; n++) await ask(Uint8Array.of(0x00, 0xb2, n, 0x2c, 0x00), `READ RECORD ${n}`);
  return out;
}

/** The same read straight from a pristine card. */
function cleanReadDirect(card: VirtualCard, t0: boolean): string[] {
  const out = [toHex(card.atr)];
  card.powerOn();
  const sel = card.transmit(SELECT_SSSE);
  out.push(toHex(sel));
  if (t0 && sel.length === 2 && sel[0] === 0x61)
    out.push(toHex(card.transmit(Uint8Array.of(0, 0xc0, 0, 0, sel[1]!))));
  for (let n = 1; n <= 7; n++) out.push(toHex(card.transmit(Uint8Array.of(0x00, 0xb2, n, 0x2c, 0x00))));
  return out;
}

describe('vpcd bridge fuzzing: malformed vpcd traffic never takes it down', () => {
  it('FrameReader: a 65,535-byte frame dribbled byte by byte is one frame, in linear time', () => {
    const frame = encodeFrame(Uint8Array.from({ length: 0xffff }, (_, i) => i & 0xff));
    const reader = new FrameReader();
    const got: Buffer[] = [];
    const t = performance.now();
    for (let i = 0; i < frame.length; i++) got.push(...reader.push(frame.subarray(i, i + 1)));
    const ms = performance.now() - t;
    expect(got).toHaveLength(1);
    expect(Buffer.compare(got[0]!, frame.subarray(2))).toBe(0);
    expect(reader.pending).toBe(0);
    console.log(`FrameReader: 65,537 one-byte reads in ${ms.toFixed(1)} ms`);
  });

  it('random frame streams, cut into random TCP writes: the bridge answers exactly what the card answers', async () => {
    const { vpcd, port } = await fake();
    let frames = 0;
    let answers = 0;
    const t = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PROFILES),
        fc.integer(),
        fc.array(payload, { minLength: 20, maxLength: 80 }),
        chunking,
        async (id, seed, payloads, chunks) => {
          const trace = new ApduTrace();
          const { bridge, events } = await insert(vpcd, port, cardOf(id, seed), trace);
          const mirror = cardOf(id, seed);
          try {
            const expected = payloads.map((p) => mirrorAnswer(mirror, p));
            const stream = Buffer.concat([
              ...payloads.map((p) => encodeFrame(p)),
              encodeFrame(Uint8Array.of(4)),
            ]);
            await vpcd.write(stream, chunks);
            for (let i = 0; i < payloads.length; i++) {
              const want = expected[i];
              if (!want) continue;
              const got = await vpcd.next(`frame ${i} (${toHex(payloads[i]!).slice(0, 40)})`);
              if (toHex(got) !== toHex(want))
                throw new Error(
                  `frame ${i} ${toHex(payloads[i]!)}: bridge answered ${toHex(got)}, the card ${toHex(want)}`,
                );
              answers++;
            }
            // The closing GET ATR must be the very next answer: nothing extra was sent.
            expect(toHex(await vpcd.next('the closing GET ATR'))).toBe(toHex(mirror.atr));
            expect(vpcd.unread).toBe(0);
            expect(events).toEqual([]);
            expect(bridge.connected).toBe(true);
            // The trace holds one entry per APDU frame (controls are not APDUs), PINs masked.
            const apdus = payloads.filter((p) => p.length !== 1);
            expect(trace.list()).toHaveLength(apdus.length);
            trace.list().forEach((e, i) => {
              if (commandCarriesPin(apdus[i]!)) expect(e.command.slice(10)).toMatch(/^\**$/);
            });
            frames += payloads.length;
          } finally {
            await remove(bridge);
          }
        },
      ),
      { numRuns: 200, seed: SEED },
    );
    console.log(
      `vpcd fuzz: ${frames} frames (${answers} answers) in ${((performance.now() - t) / 1000).toFixed(2)} s`,
    );
    // Afterwards the bridge serves a clean card as a pristine card reads.
    const { bridge } = await insert(vpcd, port, cardOf('gen2', 1));
    expect(await cleanRead(vpcd, true)).toEqual(cleanReadDirect(cardOf('gen2', 1), true));
    await remove(bridge);
  });

  it('a torn frame (declared length beyond the data) then a dropped connection: the bridge reconnects and reads clean', async () => {
    const { vpcd, port } = await fake();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PROFILES),
        fc.array(fc.constantFrom(...REAL), { maxLength: 6 }),
        fc.integer({ min: 1, max: 0xffff }),
        fc.nat({ max: 4000 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
        async (id, before, declared, sent, chunks) => {
          const card = cardOf(id, 5);
          const mirror = cardOf(id, 5);
          const t0 = pristine.get(id)!.profile.protocol === 'T=0';
          const { bridge, events } = await insert(vpcd, port, card);
          try {
            const connections = vpcd.connections;
            for (const p of before) {
              await vpcd.write(encodeFrame(p));
              expect(toHex(await vpcd.next(toHex(p)))).toBe(toHex(mirrorAnswer(mirror, p)!));
            }
            // A header promising `declared` bytes, fewer of them, then vpcd goes away.
            const torn = Buffer.alloc(2 + Math.min(sent, declared - 1), 0x00);
            torn.writeUInt16BE(declared, 0);
            await vpcd.write(torn, chunks);
            await new Promise((r) => setImmediate(r));
            await vpcd.dropConnection();
            await vpcd.waitConnections(connections + 1);
            await bridge.waitConnected();
            expect(events).toEqual(['pcscd closed the connection']);
            expect(vpcd.unread).toBe(0); // the torn frame got no answer
            // Out of the reader means powered off: SSSE is no longer selected …
            await vpcd.write(encodeFrame(fromHex('00B2072C0B')));
            expect(toHex(await vpcd.next('READ RECORD after reconnect'))).toBe('6A82');
            // … and nothing of the torn frame is left: a clean read works.
            expect(await cleanRead(vpcd, t0)).toEqual(cleanReadDirect(cardOf(id, 5), t0));
          } finally {
            await remove(bridge);
          }
        },
      ),
      { numRuns: 12, seed: SEED + 1 },
    );
  });

  it('the largest frame vpcd can declare (65,535 bytes), in small writes, is answered 6700; the stream goes on', async () => {
    const { vpcd, port } = await fake();
    const { bridge, events } = await insert(vpcd, port, cardOf('gen2', 2));
    const huge = encodeFrame(new Uint8Array(0xffff).fill(0x00));
    await vpcd.write(huge, [7, 1, 13, 512]);
    expect(toHex(await vpcd.next('the 65,535-byte frame'))).toBe('6700');
    await vpcd.write(encodeFrame(new Uint8Array(0))); // zero length: an empty APDU
    expect(toHex(await vpcd.next('the empty frame'))).toBe('6700');
    expect(await cleanRead(vpcd, true)).toEqual(cleanReadDirect(cardOf('gen2', 2), true));
    expect(events).toEqual([]);
    await remove(bridge);
  });

  it('commands before power-on and after power-off are answered, as vsmartcard’s own card does', async () => {
    const { vpcd, port } = await fake();
    const { bridge } = await insert(vpcd, port, cardOf('gen3-active', 3));
    await vpcd.write(encodeFrame(SELECT_SSSE)); // no power-on yet
    expect((await vpcd.next('SELECT before power-on')).subarray(-2).toString('hex')).toBe('9000');
    await vpcd.write(Buffer.concat([encodeFrame(Uint8Array.of(0)), encodeFrame(fromHex('00B2072C0B'))]));
    expect(toHex(await vpcd.next('READ after power-off'))).toBe('6A82'); // power-off cleared the selection
    await remove(bridge);
  });

  it('a card that fails — throws on power controls and the ATR, answers 70,000 bytes — never takes the bridge down', async () => {
    const { vpcd, port } = await fake();
    const inner = cardOf('gen2', 4);
    let mode: 'huge' | 'throw' | 'ok' = 'huge';
    const broken: VirtualCard = {
      get atr(): Uint8Array {
        throw new Error('no ATR');
      },
      powerOn: () => {
        throw new Error('power on failed');
      },
      powerOff: () => {
        throw new Error('power off failed');
      },
      reset: () => {
        throw new Error('reset failed');
      },
      transmit: (c) => {
        if (mode === 'huge') return new Uint8Array(70_000);
        if (mode === 'throw') throw new Error('card bug');
        return inner.transmit(c);
      },
    };
    const { bridge } = await insert(vpcd, port, broken);
    await vpcd.write(Buffer.concat([0, 1, 2, 9].map((c) => encodeFrame(Uint8Array.of(c)))));
    await vpcd.write(encodeFrame(Uint8Array.of(4)));
    expect((await vpcd.next('GET ATR of a card without one')).length).toBe(0); // vpcd: no card
    await vpcd.write(encodeFrame(SELECT_SSSE));
    expect(toHex(await vpcd.next('a 70,000-byte answer'))).toBe('6F00');
    mode = 'throw';
    await vpcd.write(encodeFrame(SELECT_SSSE));
    expect(toHex(await vpcd.next('a throwing card'))).toBe('6F00');
    mode = 'ok';
    await vpcd.write(encodeFrame(SELECT_SSSE));
    expect(toHex(await vpcd.next('the card working again'))).toBe('6118');
    // vpcd drops the connection: powerOff throws in the close handler, the bridge reconnects.
    const connections = vpcd.connections;
    await vpcd.dropConnection();
    await vpcd.waitConnections(connections + 1);
    await bridge.waitConnected();
    await vpcd.write(encodeFrame(fromHex('00A40000')));
    expect(toHex(await vpcd.next('after the reconnect'))).toBe('9000');
    await remove(bridge);
  });
});
