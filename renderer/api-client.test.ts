import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiCallError, connect, type Client } from './api-client.ts';
import { API_MESSAGE_MAX_BYTES, PHOTO_MAX_BYTES, megabytes, photoTooLarge } from './upload-limits.ts';

/**
 * The browser's side of the web host's limits: a call larger than the host reads is refused
 * before it is sent (the host would close the connection with 1009), and a closed connection
 * says why and refuses further calls at once instead of leaving them pending forever.
 */

class FakeSocket extends EventTarget {
  static readonly OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 0;
  readonly sent: string[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.dispatchEvent(new Event('open'));
    });
  }
  send(text: string) {
    this.sent.push(text);
  }
  answer(message: unknown) {
    this.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(message) }));
  }
  closeFromHost(code: number) {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code }));
  }
}

let client: Client;
let socket: FakeSocket;

beforeEach(async () => {
  const store = new Map<string, string>();
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('window', {});
  vi.stubGlobal('location', { hash: '#token=t0ken', origin: 'http://127.0.0.1:5180' });
  vi.stubGlobal('sessionStorage', {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => store.set(k, v),
  });
  client = await connect();
  socket = FakeSocket.last!;
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the web client and the host limits', () => {
  it(`refuses a call over ${API_MESSAGE_MAX_BYTES} bytes before sending it, and the connection carries on`, async () => {
    expect(socket.url).toBe('ws://127.0.0.1:5180/api?token=t0ken');
    const big = client.call('counterCheckPhoto', { photoJpegBase64: 'A'.repeat(API_MESSAGE_MAX_BYTES) });
    const refused = (await big.catch((e: unknown) => e)) as ApiCallError;
    expect(refused).toBeInstanceOf(ApiCallError);
    expect(refused.failure.code).toBe('BAD_ARGUMENTS');
    expect(refused.failure.zh).toContain('counterCheckPhoto 的数据过大');
    expect(refused.failure.zh).toContain('终端每次最多接收 4 MB，未发送');
    expect(refused.failure.en).toContain('the till takes at most 4 MB per call. Nothing was sent');
    expect(socket.sent).toHaveLength(0);

    const small = client.call('listCards', {});
    expect(socket.sent).toHaveLength(1);
    const { id } = JSON.parse(socket.sent[0]!) as { id: number };
    socket.answer({ id, result: [] });
    expect(await small).toEqual([]);
  });

  it('when the host closes the connection (1009: too big), pending and later calls fail with the reason', async () => {
    const pending = client.call('listCards', {});
    socket.closeFromHost(1009);
    const lost = (await pending.catch((e: unknown) => e)) as ApiCallError;
    expect(lost.failure.zh).toBe('与终端的连接已断开（消息过大，超过 4 MB），请刷新页面重新连接');
    expect(lost.failure.en).toBe(
      'connection to the till lost (a message was over 4 MB); reload the page to reconnect',
    );
    const later = (await client.call('listCards', {}).catch((e: unknown) => e)) as ApiCallError;
    expect(later.failure.en).toContain('connection to the till lost');
    expect(socket.sent).toHaveLength(1);
  });

  it('words a photo over the limit with its size and the limit, in bytes when megabytes would hide the difference', () => {
    expect(megabytes(PHOTO_MAX_BYTES)).toBe('2 MB');
    expect(photoTooLarge(8_808_038).zh).toMatch(/^相片文件过大：8\.4 MB，上限 2 MB。/);
    expect(photoTooLarge(8_808_038).en).toMatch(/^The photo file is too large: 8\.4 MB, the limit is 2 MB\./);
    expect(photoTooLarge(PHOTO_MAX_BYTES + 1).zh).toContain('2,097,153 字节，上限 2 MB');
    expect(photoTooLarge(PHOTO_MAX_BYTES + 1).en).toContain('2,097,153 bytes, the limit is 2 MB');
  });
});
