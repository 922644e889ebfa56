import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { VpcdBridge, FrameReader, encodeFrame } from './vpcd-bridge.ts';
import { card } from '../test/harness/card/cards.ts';
import { toHex, fromHex } from '../core/card/hex.ts';

/** A stand-in for vpcd: a TCP server that speaks its framing, so the bridge can be tested without pcscd. */
class FakeVpcd {
  server: Server;
  socket: Socket | null = null;
  private frames = new FrameReader();
  private waiting: ((f: Buffer) => void)[] = [];
  private queue: Buffer[] = [];

  constructor() {
    this.server = createServer((s) => {
      this.socket = s;
      this.frames = new FrameReader();
      s.on('data', (d) => {
        for (const f of this.frames.push(d)) {
          const w = this.waiting.shift();
          if (w) w(f);
          else this.queue.push(f);
        }
      });
    });
  }
  async listen(port = 0): Promise<number> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }
  next(): Promise<Buffer> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((r) => this.waiting.push(r));
  }
  send(payload: Uint8Array) {
    this.socket!.write(encodeFrame(payload));
  }
  sendRaw(bytes: Uint8Array) {
    this.socket!.write(bytes);
  }
  async close() {
    this.socket?.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

const bridges: VpcdBridge[] = [];
const fakes: FakeVpcd[] = [];
afterEach(async () => {
  for (const b of bridges.splice(0)) await b.stop();
  for (const f of fakes.splice(0)) await f.close().catch(() => {});
});

async function setup(id = 'gen2') {
  const fake = new FakeVpcd();
  fakes.push(fake);
  const port = await fake.listen();
  const c = card(id);
  const bridge = new VpcdBridge({ card: c, port, reconnectDelayMs: 20 });
  bridges.push(bridge);
  bridge.start();
  await bridge.waitConnected();
  while (!fake.socket) await new Promise((r) => setTimeout(r, 5));
  return { fake, bridge, c, port };
}

describe('vpcd framing', () => {
  it('FrameReader reassembles frames split across reads and several frames in one read', () => {
    const r = new FrameReader();
    const all = Buffer.concat([encodeFrame(fromHex('00A4040000')), encodeFrame(Uint8Array.of(4))]);
    expect(r.push(all.subarray(0, 1))).toEqual([]);
    expect(r.push(all.subarray(1, 4))).toEqual([]);
    const frames = r.push(all.subarray(4));
    expect(frames.map((f) => toHex(f))).toEqual(['00A4040000', '04']);
  });
});

describe('vpcd bridge', () => {
  it('answers the ATR request, ignores power controls, and answers APDUs', async () => {
    const { fake, c } = await setup();
    fake.send(Uint8Array.of(1)); // power on: no answer
    fake.send(Uint8Array.of(4)); // ATR
    expect(toHex(await fake.next())).toBe(toHex(c.atr));
    fake.send(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));
    expect(toHex(await fake.next())).toBe('6118');
    fake.send(Uint8Array.of(2)); // reset: no answer
    fake.send(Uint8Array.of(0)); // power off: no answer
    fake.send(fromHex('00B2072C0B'));
    expect(toHex(await fake.next())).toBe('6A82'); // after reset/power-off SSSE is no longer selected
  });

  it('answers malformed APDUs with a status word and keeps going', async () => {
    const { fake } = await setup();
    fake.send(new Uint8Array(0));
    expect(toHex(await fake.next())).toBe('6700');
    fake.send(fromHex('0102'));
    expect(toHex(await fake.next())).toBe('6700');
    fake.send(new Uint8Array(400).fill(0xff));
    expect(toHex(await fake.next())).toBe('6700');
    fake.send(Uint8Array.of(9)); // unknown control: no answer, no crash
    fake.send(fromHex('00A40000'));
    expect(toHex(await fake.next())).toBe('9000');
  });

  it('a card that fails internally answers 6F00 instead of taking the bridge down', async () => {
    const fake = new FakeVpcd();
    fakes.push(fake);
    const port = await fake.listen();
    const inner = card('gen1');
    const broken = {
      ...inner,
      atr: inner.atr,
      powerOn: () => inner.powerOn(),
      powerOff: () => inner.powerOff(),
      reset: () => inner.reset(),
      transmit: (): Uint8Array => {
        throw new Error('bug');
      },
    };
    const bridge = new VpcdBridge({ card: broken, port });
    bridges.push(bridge);
    bridge.start();
    await bridge.waitConnected();
    while (!fake.socket) await new Promise((r) => setTimeout(r, 5));
    fake.send(fromHex('00A40000'));
    expect(toHex(await fake.next())).toBe('6F00');
  });

  it('a frame split over several TCP segments is answered once complete', async () => {
    const { fake } = await setup();
    const frame = encodeFrame(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));
    fake.sendRaw(frame.subarray(0, 2));
    await new Promise((r) => setTimeout(r, 20));
    fake.sendRaw(frame.subarray(2));
    expect(toHex(await fake.next())).toBe('6118');
  });

  it('reconnects when vpcd (pcscd) goes away and comes back', async () => {
    const { fake, bridge, port } = await setup();
    const events: string[] = [];
    bridge.on('disconnected', (why) => events.push(`out: ${why}`));
    bridge.on('connected', () => events.push('in'));
    await fake.close();
    fakes.splice(0);
    await once(bridge, 'disconnected');
    const again = new FakeVpcd();
    fakes.push(again);
    await again.listen(port);
    await once(bridge, 'connected');
    while (!again.socket) await new Promise((r) => setTimeout(r, 5));
    again.send(Uint8Array.of(4));
    expect((await again.next()).length).toBeGreaterThan(2);
    expect(events).toEqual(['out: pcscd closed the connection', 'in']);
  });

  it('stop() removes the card: the connection closes and no reconnect follows', async () => {
    const { fake, bridge } = await setup();
    const closed = once(fake.socket!, 'close');
    await bridge.stop();
    await closed;
    await new Promise((r) => setTimeout(r, 100));
    expect(bridge.connected).toBe(false);
  });

  it('uses TCP_QUICKACK when the sockopt module is present', async () => {
    const { bridge } = await setup();
    expect(bridge.quickAck).toBe(true);
  });
});
