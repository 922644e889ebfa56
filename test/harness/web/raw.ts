import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * The web host's socket at the byte level, for the tests that send what no browser would:
 * broken request lines and headers, hand-made WebSocket frames (masked or not, any opcode,
 * fragmented, with lengths that lie) — loopback only.
 */

export interface RawResult {
  /** Everything the host wrote back. */
  data: Buffer;
  /** The host closed (or reset) the connection before the wait ended. */
  closed: boolean;
}

/** Connects, writes each chunk in order, and collects the answer until the host closes or `waitMs`. */
export function rawExchange(port: number, chunks: Buffer[], waitMs = 1_000): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(got), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const c of chunks) if (!socket.destroyed) socket.write(c);
    });
  });
}

/** The request that opens the Api's WebSocket, as the renderer's browser sends it. */
export function upgradeRequest(
  host: { port: number; token: string; origin: string },
  key: Buffer = randomBytes(16),
): Buffer {
  return Buffer.from(
    `GET /api?token=${host.token} HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${host.port}\r\n` +
      `Origin: ${host.origin}\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${key.toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n',
  );
}

export interface FrameSpec {
  opcode: number;
  payload: Buffer;
  fin?: boolean;
  /** RSV1–3 bits (0–7); anything but 0 is a protocol error without an extension. */
  rsv?: number;
  /** Clients must mask; false sends it in the clear (a protocol error from a client). */
  mask?: boolean;
  /** Declares this length instead of the payload's (a frame that lies about its size). */
  declaredLength?: number;
  /** The masking key (4 bytes); random by default. */
  maskKey?: Buffer;
}

/** One WebSocket frame (RFC 6455 §5.2), as a client would write it. */
export function frame(spec: FrameSpec): Buffer {
  const mask = spec.mask ?? true;
  const length = spec.declaredLength ?? spec.payload.length;
  const head: number[] = [
    ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f),
  ];
  const maskBit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (length < 126) head.push(maskBit | length);
  else if (length < 65_536) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(length);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(length));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, spec.payload]);
  const key = spec.maskKey ?? randomBytes(4);
  const body = Buffer.from(spec.payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** A text frame carrying this string (masked, final). */
export const textFrame = (text: string) => frame({ opcode: OP.text, payload: Buffer.from(text) });

/** The frames a server wrote (unmasked), after the 101 response; a cut-off last frame is left out. */
export function serverFrames(data: Buffer): { opcode: number; payload: Buffer }[] {
  const start = data.indexOf('\r\n\r\n');
  if (start < 0) return [];
  const frames: { opcode: number; payload: Buffer }[] = [];
  let i = start + 4;
  while (i + 2 <= data.length) {
    const opcode = data[i]! & 0x0f;
    let len = data[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      if (at + 2 > data.length) break;
      len = data.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (at + 8 > data.length) break;
      len = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > data.length) break;
    frames.push({ opcode, payload: data.subarray(at, at + len) });
    i = at + len;
  }
  return frames;
}

/** The close code in a close frame's payload (1005 when it carries none). */
export function closeCode(payload: Buffer): number {
  return payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
}

/** Keeps a socket open on the Api after the 101, for tests that write frames one by one. */
export async function openRawApi(host: { port: number; token: string; origin: string }): Promise<{
  socket: Socket;
  received(): Buffer;
  closed(): boolean;
}> {
  const socket = connect(host.port, '127.0.0.1');
  const got: Buffer[] = [];
  let closed = false;
  socket.on('data', (d) => got.push(d));
  socket.on('error', () => (closed = true));
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => socket.write(upgradeRequest(host)));
    const timer = setTimeout(() => reject(new Error('no 101 within 5 s')), 5_000);
    const check = () => {
      const text = Buffer.concat(got).toString('latin1');
      if (text.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.off('data', check);
        if (!text.startsWith('HTTP/1.1 101')) reject(new Error(`upgrade refused: ${text.slice(0, 80)}`));
        else resolve();
      }
    };
    socket.on('data', check);
  });
  return { socket, received: () => Buffer.concat(got), closed: () => closed };
}
