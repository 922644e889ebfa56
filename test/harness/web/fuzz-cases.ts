import { seededRandom } from '../../../core/random.ts';
import { OP, frame, upgradeRequest, type FrameSpec } from './raw.ts';

/**
 * Random input for the web host's raw socket, from the project's one seeded PRNG: the same
 * seed gives the same cases, byte for byte (masking keys included), so a case that brings the
 * host down is replayed with `SSCARD_FUZZ_SEED=<seed>`.
 *
 * Two kinds: an HTTP request (random request line, headers, body, line endings, cut short or
 * pipelined) and a WebSocket session (a valid upgrade with the token, then frames: calls, JSON
 * that is no call, invalid UTF-8, binary, reserved opcodes and bits, unmasked, fragmented,
 * control frames too long, lengths that lie, messages near and over the size limit).
 */

export interface FuzzCase {
  /** A short description for the failure message. */
  what: string;
  /** Written in order on one connection (split at random byte boundaries, as TCP may). */
  chunks: Buffer[];
}

export interface HostAddress {
  port: number;
  token: string;
  origin: string;
}

type Rng = () => number;

function helpers(rng: Rng) {
  const int = (n: number) => Math.floor(rng() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => rng() < p;
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const printable = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + int(95));
    return s;
  };
  return { int, pick, chance, bytes, printable };
}

type H = ReturnType<typeof helpers>;

function randomTarget(h: H, host: HostAddress): string {
  return h.pick([
    '/',
    '/api',
    '/app.js',
    '/index.html',
    '/../package.json',
    '/%2e%2e/%2e%2e/etc/passwd',
    'http://[',
    'http://127.0.0.1/',
    `http://127.0.0.1:${host.port}/api?token=${host.token}`,
    '*',
    '//evil.example/x',
    '/\\evil.example',
    '/%',
    '/%00',
    '/?#',
    `/api?token=${host.token}`,
    `/api?token=${host.token}x`,
    '/api?token=',
    `/${'a'.repeat(h.int(20_000))}`,
    `/${h.printable(h.int(200))}`,
    h.bytes(h.int(64)).toString('latin1'),
  ]);
}

function randomHeaders(h: H, host: HostAddress): string[] {
  const choices: (() => string)[] = [
    () => `Host: 127.0.0.1:${host.port}`,
    () => `Host: localhost:${host.port}`,
    () => h.pick(['Host: evil.example', 'Host:', `Host: 127.0.0.1:${host.port}, evil.example`]),
    () => `Origin: ${h.pick([host.origin, 'http://evil.example', 'null', h.printable(h.int(40))])}`,
    () => `Upgrade: ${h.pick(['websocket', 'WebSocket', 'h2c', '', h.printable(10)])}`,
    () => `Connection: ${h.pick(['Upgrade', 'close', 'keep-alive', 'upgrade, keep-alive', ''])}`,
    () =>
      `Sec-WebSocket-Key: ${h.pick(['dGhlIHNhbXBsZSBub25jZQ==', '', 'short', h.bytes(16).toString('base64')])}`,
    () => `Sec-WebSocket-Version: ${h.pick(['13', '8', '0', '99999999999', 'x'])}`,
    () => `Sec-WebSocket-Extensions: ${h.pick(['permessage-deflate', 'x-foo; a=b', h.printable(30)])}`,
    () => `Content-Length: ${h.pick(['0', '5', '-1', '99999999999999999999', 'abc', String(h.int(5000))])}`,
    () => 'Transfer-Encoding: chunked',
    () => `X-Long: ${'v'.repeat(h.int(20_000))}`,
    () => `X-Bytes: ${h.bytes(h.int(40)).toString('latin1')}`,
    () => h.pick(['no colon here', ': empty name', 'Bad Name: x', ' leading-space: x']),
    () => `Cookie: ${h.printable(h.int(100))}`,
  ];
  const n = h.int(9);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(h.pick(choices)());
  return out;
}

function httpCase(h: H, host: HostAddress): FuzzCase {
  const method = h.pick([
    'GET',
    'HEAD',
    'POST',
    'PUT',
    'DELETE',
    'OPTIONS',
    'CONNECT',
    'get',
    'G ET',
    '',
    h.printable(8),
  ]);
  const target = randomTarget(h, host);
  const version = h.pick([
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.0',
    'HTTP/2.0',
    'HTTP/0.9',
    'HTTP/1.1x',
    '',
    'FOO',
  ]);
  const eol = h.pick(['\r\n', '\r\n', '\r\n', '\n', '\r']);
  const headers = randomHeaders(h, host);
  let body = Buffer.alloc(0);
  if (h.chance(0.3)) body = h.bytes(h.int(2_000));
  if (h.chance(0.1)) body = Buffer.from(`${h.pick(['5', 'zz', 'ffffffffffff', '-1'])}\r\nhello\r\n0\r\n\r\n`);
  let request = Buffer.concat([
    Buffer.from(
      `${method} ${target} ${version}${eol}${headers.join(eol)}${headers.length ? eol : ''}${eol}`,
      'latin1',
    ),
    body,
  ]);
  if (h.chance(0.15)) request = request.subarray(0, h.int(request.length));
  if (h.chance(0.1)) request = Buffer.concat([request, request]);
  return {
    what: `HTTP ${JSON.stringify(`${method} ${target} ${version}`.slice(0, 80))} + ${headers.length} headers, ${request.length} bytes`,
    chunks: [request],
  };
}

const METHODS = ['listCards', 'readerState', 'dropTables', '__proto__', 'constructor', 'toString', ''];

function randomJson(h: H, depth = 0): unknown {
  switch (h.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return h.pick([0, -1, 1e308, 2 ** 53, 0.5, -0]);
    case 2:
      return h.pick(['', '中文', '\u0000', '\ud800', 'x'.repeat(h.int(1_000))]);
    case 3:
      return h.chance(0.5);
    case 4:
      return h.printable(h.int(20));
    case 5:
      return Array.from({ length: h.int(4) }, () => randomJson(h, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: h.int(4) }, () => [
          h.pick(['id', 'method', 'args', '__proto__', 'cardId', h.printable(5)]),
          randomJson(h, depth + 1),
        ]),
      );
  }
}

/** One message or protocol fault after the upgrade. */
function randomFrames(h: H): { what: string; frames: FrameSpec[] } {
  const key = () => h.bytes(4);
  const text = (payload: Buffer, extra: Partial<FrameSpec> = {}): FrameSpec => ({
    opcode: OP.text,
    payload,
    maskKey: key(),
    ...extra,
  });
  const kind = h.int(16);
  switch (kind) {
    case 0: {
      if (h.chance(0.3)) {
        const d = h.int(100_000);
        const deep = `{"id":1,"method":"${h.pick(METHODS)}","args":{"cardId":${'['.repeat(d)}${']'.repeat(d)}}}`;
        return { what: `a call with arguments ${d} deep`, frames: [text(Buffer.from(deep))] };
      }
      const call = {
        id: h.pick([1, 'a', null, {}, [], -0.5, 'x'.repeat(100)]),
        method: h.pick(METHODS),
        args: randomJson(h),
      };
      return { what: 'a call', frames: [text(Buffer.from(JSON.stringify(call)))] };
    }
    case 1:
      return { what: 'JSON that is no call', frames: [text(Buffer.from(JSON.stringify(randomJson(h))))] };
    case 2: {
      const d = h.int(200_000);
      return {
        what: `nesting ${d} deep`,
        frames: [text(Buffer.from(`${'['.repeat(d)}${']'.repeat(h.chance(0.5) ? d : 0)}`))],
      };
    }
    case 3:
      return { what: 'random bytes as text', frames: [text(h.bytes(h.int(300)))] };
    case 4:
      return {
        what: 'binary',
        frames: [{ opcode: OP.binary, payload: h.bytes(h.int(300)), maskKey: key() }],
      };
    case 5:
      return {
        what: 'reserved opcode',
        frames: [
          {
            opcode: h.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]),
            payload: h.bytes(h.int(50)),
            maskKey: key(),
          },
        ],
      };
    case 6:
      return {
        what: 'RSV bits',
        frames: [text(Buffer.from('{"id":1,"method":"listCards","args":{}}'), { rsv: 1 + h.int(7) })],
      };
    case 7:
      return {
        what: 'unmasked',
        frames: [text(Buffer.from('{"id":1,"method":"listCards","args":{}}'), { mask: false })],
      };
    case 8: {
      const whole = Buffer.from(JSON.stringify({ id: 7, method: 'listCards', args: {} }));
      const cut = 1 + h.int(whole.length - 1);
      const frames: FrameSpec[] = [
        text(whole.subarray(0, cut), { fin: false }),
        ...(h.chance(0.5) ? [{ opcode: OP.ping, payload: h.bytes(h.int(20)), maskKey: key() }] : []),
        { opcode: OP.continuation, payload: whole.subarray(cut), maskKey: key(), fin: h.chance(0.8) },
      ];
      if (h.chance(0.3)) frames.push(text(Buffer.from('{}'))); // a new message inside an unfinished one
      return { what: 'fragmented call', frames };
    }
    case 9:
      return {
        what: 'continuation without a start',
        frames: [{ opcode: OP.continuation, payload: h.bytes(h.int(30)), maskKey: key() }],
      };
    case 10:
      return {
        what: 'control frame too long or fragmented',
        frames: [
          {
            opcode: h.pick([OP.ping, OP.pong, OP.close]),
            payload: h.bytes(h.chance(0.5) ? 126 + h.int(200) : h.int(20)),
            fin: h.chance(0.5),
            maskKey: key(),
          },
        ],
      };
    case 11: {
      const code = Buffer.alloc(2);
      code.writeUInt16BE(h.pick([0, 999, 1000, 1004, 1005, 1006, 1015, 2999, 4000, 65535]));
      const payload = h.pick([
        Buffer.alloc(0),
        Buffer.from([3]),
        code,
        Buffer.concat([code, h.bytes(h.int(40))]),
      ]);
      return { what: 'close frame', frames: [{ opcode: OP.close, payload, maskKey: key() }] };
    }
    case 12:
      return {
        what: 'a length that lies',
        frames: [
          text(h.bytes(h.int(100)), {
            declaredLength: h.pick([
              1_000,
              70_000,
              5 * 1024 * 1024,
              2 ** 32,
              2 ** 53 + 2,
              Number.MAX_SAFE_INTEGER,
            ]),
          }),
        ],
      };
    case 13: {
      const size = h.pick([1024 * 1024, 3 * 1024 * 1024, 4 * 1024 * 1024 + 1 + h.int(1024)]);
      return { what: `a message of ${size} bytes`, frames: [text(Buffer.alloc(size, 0x61))] };
    }
    case 14:
      return {
        what: 'invalid UTF-8 in a fragment',
        frames: [
          text(Buffer.from([0x22, 0xe2, 0x82]), { fin: false }),
          { opcode: OP.continuation, payload: Buffer.from([0x28, 0x22]), maskKey: key() },
        ],
      };
    default:
      return {
        what: 'ping and pong',
        frames: [{ opcode: h.pick([OP.ping, OP.pong]), payload: h.bytes(h.int(125)), maskKey: key() }],
      };
  }
}

function wsCase(h: H, host: HostAddress): FuzzCase {
  const n = 1 + h.int(5);
  const parts: string[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const f = randomFrames(h);
    parts.push(f.what);
    for (const spec of f.frames) frames.push(frame(spec));
  }
  let stream = Buffer.concat([upgradeRequest(host, h.bytes(16)), ...frames]);
  if (h.chance(0.1)) stream = stream.subarray(0, h.int(stream.length));
  return { what: `WebSocket: ${parts.join(', ')} (${stream.length} bytes)`, chunks: [stream] };
}

/** Splits at random boundaries, as TCP may deliver the bytes. */
function split(h: H, c: FuzzCase): FuzzCase {
  if (!h.chance(0.3)) return c;
  const all = Buffer.concat(c.chunks);
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < all.length) {
    const n = 1 + h.int(Math.min(all.length - at, 512));
    chunks.push(all.subarray(at, at + n));
    at += n;
  }
  return { what: c.what, chunks };
}

/** The cases of one seed, generated lazily in order. */
export function* fuzzCases(seed: number, host: HostAddress): Generator<FuzzCase> {
  const h = helpers(seededRandom(seed));
  for (;;) yield split(h, h.chance(0.45) ? httpCase(h, host) : wsCase(h, host));
}
