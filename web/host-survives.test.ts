import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_MESSAGE_MAX_BYTES, PHOTO_MAX_BYTES } from '../renderer/upload-limits.ts';
import { WEB_HOST_MAX_CONNECTIONS } from './server.ts';
import {
  apiClient,
  normalSession,
  startWebHostChild,
  type WebHostChild,
} from '../test/harness/web/host-child.ts';
import { paddedPhoto } from '../test/harness/web/photos.ts';
import { OP, closeCode, frame, openRawApi, rawExchange, serverFrames } from '../test/harness/web/raw.ts';

/**
 * The four inputs that knocked `npm run web` over (issue 16, item 2), each sent to the real
 * process: each must be refused or answered with an error, and the host must then still serve
 * a normal session (the page, the token, an Api call, an event).
 */

let dir: string;
let host: WebHostChild;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-web-survives-'));
  host = await startWebHostChild(join(dir, 'ledger.db'));
}, 70_000);
afterAll(async () => {
  await host?.stop();
  rmSync(dir, { recursive: true, force: true });
});
let restarts = 0;
afterEach(async () => {
  // Whatever the test sent, the process is up and an ordinary session still works.
  let failure: unknown = null;
  try {
    await normalSession(host);
  } catch (e) {
    failure = e;
  }
  if (failure || !host.alive()) {
    await new Promise((r) => setTimeout(r, 200));
    const output = host.output();
    const dead = !host.alive();
    await host.stop();
    // The next test gets a host of its own, so that each input is judged alone.
    host = await startWebHostChild(join(dir, `ledger-${++restarts}.db`));
    throw new Error(
      `${dead ? 'the web host died' : `no normal session after the input (${String(failure)})`}:\n${output}`,
    );
  }
  expect(host.output()).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
});

const statusOf = (data: Buffer) => /^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1'))?.[1];

describe('the web host refuses bad input and stays up', () => {
  it('answers the request line "GET http://[ HTTP/1.1" without a token with 400, on the HTTP path', async () => {
    const r = await rawExchange(host.port, [
      Buffer.from(`GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\n\r\n`),
    ]);
    expect(statusOf(r.data)).toBe('400');
  });

  it('answers the request line "GET http://[ HTTP/1.1" without a token with 400, on the upgrade path', async () => {
    const r = await rawExchange(host.port, [
      Buffer.from(
        `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nOrigin: ${host.origin}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    ]);
    expect(statusOf(r.data)).toBe('400');
    expect(r.closed).toBe(true);
  });

  it('answers the WebSocket message null (and other JSON that is not a call) with BAD_ARGUMENTS, keeping the connection', async () => {
    const c = await apiClient(host);
    try {
      for (const text of ['null', '[]', '42', '"listCards"', 'true', '{"id":{"x":1},"method":[]}']) {
        const before = c.messages.length;
        c.ws.send(text);
        const until = Date.now() + 5_000;
        while (c.messages.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        const reply = c.messages[before] as { id: unknown; error?: { code: string; zh: string; en: string } };
        expect(reply, `no answer to ${text}`).toBeDefined();
        expect(reply.id).toBe(null);
        expect(reply.error?.code, text).toMatch(/^(BAD_ARGUMENTS|UNKNOWN_METHOD)$/);
      }
      expect(c.messages[0]).toMatchObject({ error: { code: 'BAD_ARGUMENTS' } });
      // Still the same connection: a call on it is answered.
      const cards = (await c.call('listCards', {})) as { result: unknown[] };
      expect(cards.result.length).toBeGreaterThan(0);
    } finally {
      c.ws.close();
    }
  });

  it('closes the connection that sends a text frame of invalid UTF-8 with 1007 (invalid data)', async () => {
    const raw = await openRawApi(host);
    raw.socket.write(frame({ opcode: OP.text, payload: Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]) }));
    const until = Date.now() + 5_000;
    while (!raw.closed() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    raw.socket.destroy();
    const close = serverFrames(raw.received()).find((f) => f.opcode === OP.close);
    expect(close, 'a close frame').toBeDefined();
    expect(closeCode(close!.payload)).toBe(1007);
  });

  it(`closes the connection that sends a message over ${API_MESSAGE_MAX_BYTES} bytes with 1009 (too big); a ${PHOTO_MAX_BYTES}-byte photo is checked`, async () => {
    const c = await apiClient(host);
    try {
      // The largest photo the counter takes goes through and is checked (R8 passes).
      const photo = paddedPhoto(PHOTO_MAX_BYTES).toString('base64');
      const checked = (await c.call('counterCheckPhoto', { photoJpegBase64: photo }, 20_000)) as {
        result?: { ok: boolean; width: number };
      };
      expect(checked.result).toMatchObject({ ok: true, width: 358 });
      // One byte over the message limit: refused with the WebSocket's own code for it.
      c.ws.send('x'.repeat(API_MESSAGE_MAX_BYTES + 1));
      const closed = await Promise.race([c.closed, new Promise((r) => setTimeout(() => r('open'), 10_000))]);
      expect(closed).toMatchObject({ code: 1009 });
    } finally {
      c.ws.terminate();
    }
  });

  it('answers the other faults the table in docs/security.md names: 403, 400, BAD_ARGUMENTS for binary, 1002, 1009 on a declared length', async () => {
    const noToken = await rawExchange(host.port, [
      Buffer.from(
        `GET /api HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nOrigin: ${host.origin}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    ]);
    expect(statusOf(noToken.data)).toBe('403');
    const badKey = await rawExchange(host.port, [
      Buffer.from(
        `GET /api?token=${host.token} HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nOrigin: ${host.origin}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    ]);
    expect(statusOf(badKey.data)).toBe('400');

    const closeCodeAfter = async (...frames: Buffer[]) => {
      const raw = await openRawApi(host);
      for (const f of frames) raw.socket.write(f);
      const until = Date.now() + 5_000;
      while (!raw.closed() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      raw.socket.destroy();
      const all = serverFrames(raw.received());
      const close = all.find((f) => f.opcode === OP.close);
      return { code: close ? closeCode(close.payload) : null, frames: all };
    };
    const call = Buffer.from('{"id":1,"method":"listCards","args":{}}');
    expect((await closeCodeAfter(frame({ opcode: OP.text, payload: call, mask: false }))).code).toBe(1002);
    expect((await closeCodeAfter(frame({ opcode: 3, payload: call }))).code).toBe(1002);
    expect((await closeCodeAfter(frame({ opcode: OP.text, payload: call, rsv: 4 }))).code).toBe(1002);
    expect((await closeCodeAfter(frame({ opcode: OP.continuation, payload: call }))).code).toBe(1002);
    expect((await closeCodeAfter(frame({ opcode: OP.ping, payload: Buffer.alloc(126) }))).code).toBe(1002);
    expect(
      (await closeCodeAfter(frame({ opcode: OP.ping, payload: Buffer.alloc(1), fin: false }))).code,
    ).toBe(1002);
    // A frame that only declares 2^40 bytes is refused on its header, before any payload.
    expect(
      (await closeCodeAfter(frame({ opcode: OP.text, payload: Buffer.alloc(10), declaredLength: 2 ** 40 })))
        .code,
    ).toBe(1009);

    // A binary frame is answered, and the connection stays for the next call.
    const raw = await openRawApi(host);
    raw.socket.write(frame({ opcode: OP.binary, payload: call }));
    raw.socket.write(frame({ opcode: OP.text, payload: call }));
    const until = Date.now() + 5_000;
    while (serverFrames(raw.received()).filter((f) => f.opcode === OP.text).length < 2 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    raw.socket.destroy();
    const replies = serverFrames(raw.received())
      .filter((f) => f.opcode === OP.text)
      .map(
        (f) =>
          JSON.parse(f.payload.toString()) as { id: unknown; error?: { code: string }; result?: unknown },
      );
    expect(replies[0]).toMatchObject({ id: null, error: { code: 'BAD_ARGUMENTS' } });
    expect(replies.find((r) => r.id === 1)?.result).toBeDefined();
  });

  it('a flood of more connections than it takes at once is cut off at the door, then it serves again', async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < WEB_HOST_MAX_CONNECTIONS + 100; i++) {
      const s = connect(host.port, '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const refused = sockets.filter((s) => s.destroyed).length;
    for (const s of sockets) s.destroy();
    expect(refused).toBeGreaterThanOrEqual(100);
    await new Promise((r) => setTimeout(r, 200));
  });
});
