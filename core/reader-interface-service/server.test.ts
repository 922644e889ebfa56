import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  startDriverService,
  type DriverBackend,
  type DriverCallRequest,
  type DriverCallResult,
  type DriverService,
} from './server.ts';

/**
 * The transport alone, against a recording backend: the wire shapes, one call at a time,
 * and malformed input answered, never crashing the service. The interface itself runs behind
 * it in e2e/reader-interface/.
 */
class RecordingBackend implements DriverBackend {
  calls: DriverCallRequest[] = [];
  pins: string[] = [];
  running = 0;
  maxRunning = 0;
  async call(request: DriverCallRequest): Promise<DriverCallResult> {
    this.calls.push(request);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 5));
    this.running -= 1;
    if (request.function === 'iExplode') throw new Error('boom');
    if (request.function === 'iVerifyPIN') return { functionName: 'iVerifyPIN', code: -51, pOutInfo: '2|' };
    if (request.function === 'iGetReaderInfo')
      return { functionName: 'iGetReaderInfo', code: 0, pOutInfo: '', pReaderSN: 'SN1', pPsamTermNo: 'T1' };
    return { functionName: request.function, code: 0, pOutInfo: `张三|${JSON.stringify(request)}|` };
  }
  queuePinEntries(entries: string[]): void {
    for (const e of entries) if (!/^(\d{6}|CANCEL)$/.test(e)) throw new Error(`bad PIN pad entry`);
    this.pins.push(...entries);
  }
  cardManagementAuth(step1: string): string {
    if (!step1.startsWith('410000|')) throw new Error('not a Step 1 answer of our cards');
    return 'KEY-' + step1.length;
  }
}

let backend: RecordingBackend;
let service: DriverService;

beforeAll(async () => {
  backend = new RecordingBackend();
  service = await startDriverService({ backend, port: 0, maxBodyBytes: 4096 });
});
afterAll(() => service.close());

function ws(): Promise<WebSocket> {
  const s = new WebSocket(service.wsUrl);
  return new Promise((ok, fail) => {
    s.once('open', () => ok(s));
    s.once('error', fail);
  });
}

function ask(s: WebSocket, message: string | Buffer): Promise<Record<string, unknown>> {
  return new Promise((ok) => {
    s.once('message', (d) => ok(JSON.parse(String(d)) as Record<string, unknown>));
    s.send(message);
  });
}

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(service.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('the reader service transport', () => {
  it("listens on loopback and answers a WebSocket call in the vendors' shape, UTF-8 intact", async () => {
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const s = await ws();
    const a = await ask(s, JSON.stringify({ function: 'iReadCardBas', iType: 1 }));
    expect(a).toEqual({
      functionName: 'iReadCardBas',
      success: '1',
      pOutInfo: '张三|{"function":"iReadCardBas","iType":1}|',
    });
    const b = await ask(s, JSON.stringify({ function: 'iVerifyPIN', iType: 1, id: 7 }));
    expect(b).toEqual({ id: 7, functionName: 'iVerifyPIN', success: '-51', pOutInfo: '2|' });
    expect(backend.calls.at(-1)).toEqual({ function: 'iVerifyPIN', iType: 1 });
    s.close();
  });

  it('answers POST /api/<function> with the same body and the outputs besides pOutInfo', async () => {
    const r = await post('/api/iReadCard', JSON.stringify({ iType: 1, pFileAddr: 'EF05|' }));
    expect(r.status).toBe(200);
    expect(r.json.success).toBe('1');
    expect(backend.calls.at(-1)).toEqual({ function: 'iReadCard', iType: 1, pFileAddr: 'EF05|' });
    const info = await post('/api/iGetReaderInfo', '{}');
    expect(info.json).toMatchObject({ success: '1', pReaderSN: 'SN1', pPsamTermNo: 'T1' });
    const mismatch = await post('/api/iReadCard', JSON.stringify({ function: 'iDoDebit' }));
    expect(mismatch.json.success).toBe('-14');
  });

  it('runs calls one at a time, whatever connection they come on', async () => {
    backend.maxRunning = 0;
    const sockets = await Promise.all([ws(), ws(), ws()]);
    await Promise.all([
      ...sockets.map((s) => ask(s, JSON.stringify({ function: 'iReadCardBas', iType: 1 }))),
      post('/api/iReadCardBas', '{"iType":1}'),
      post('/api/iReadCardBas', '{"iType":2}'),
    ]);
    expect(backend.maxRunning).toBe(1);
    for (const s of sockets) s.close();
  });

  it('answers malformed requests with -14 / -13 and keeps serving', async () => {
    const s = await ws();
    expect((await ask(s, 'not json')).success).toBe('-14');
    expect((await ask(s, '[1,2]')).success).toBe('-14');
    expect((await ask(s, '"iReadCardBas"')).success).toBe('-14');
    expect((await ask(s, '{"iType":1}')).success).toBe('-14');
    expect((await ask(s, '{"function":42}')).success).toBe('-14');
    expect((await ask(s, '{"function":"../../etc/passwd"}')).success).toBe('-13');
    expect((await ask(s, Buffer.from([0xff, 0xfe, 0x00]))).success).toBe('-14');
    expect((await post('/api/iReadCardBas', '{"iType":')).json.success).toBe('-14');
    expect((await post('/api/iReadCardBas', '{"iType":')).status).toBe(200);
    // The backend threw: an answer, not a crash.
    const boom = await ask(s, '{"function":"iExplode"}');
    expect(boom.success).toBe('-11');
    expect(String(boom.pOutInfo)).toContain('boom');
    expect((await ask(s, '{"function":"iReadCardBas","iType":1}')).success).toBe('1');
    s.close();
  });

  it('refuses oversized bodies and messages (413, WebSocket closed 1009) and keeps serving', async () => {
    const big = JSON.stringify({ function: 'iReadCardBas', pad: 'x'.repeat(10_000) });
    const r = await post('/api/iReadCardBas', big);
    expect(r.status).toBe(413);
    expect(r.json.success).toBe('-14');
    const s = await ws();
    const closed = new Promise<number>((ok) => s.once('close', (code) => ok(code)));
    s.send(big);
    expect(await closed).toBe(1009);
    const again = await ws();
    expect((await ask(again, '{"function":"iReadCardBas","iType":1}')).success).toBe('1');
    again.close();
  });

  it('rejects other addresses and methods clearly', async () => {
    expect((await fetch(service.url + '/nope')).status).toBe(404);
    expect((await fetch(service.url + '/api/iReadCardBas')).status).toBe(405);
    const root = (await (await fetch(service.url + '/')).json()) as Record<string, unknown>;
    expect(String(root.service)).toContain('reader interface');
    const bad = new WebSocket(service.wsUrl + 'elsewhere');
    const err = await new Promise<string>((ok) => bad.once('error', (e) => ok(e.message)));
    expect(err).toContain('404');
  });

  it('queues PIN pad entries and rejects bad ones without echoing them', async () => {
    const ok = await post('/pinpad', JSON.stringify({ entries: ['258014', 'CANCEL'] }));
    expect(ok).toMatchObject({ status: 200, json: { queued: 2 } });
    expect(backend.pins).toEqual(['258014', 'CANCEL']);
    const bad = await post('/pinpad', JSON.stringify({ entries: ['12ab34'] }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).not.toContain('12ab34');
    expect((await post('/pinpad', JSON.stringify({ entries: [] }))).status).toBe(400);
    expect((await post('/pinpad', JSON.stringify({ entries: [258014] }))).status).toBe(400);
    expect((await post('/pinpad', 'nope')).status).toBe(400);
  });

  it("answers the card-management centre's authentication", async () => {
    const r = await post('/cardmgmt/auth', JSON.stringify({ step1: '410000|x|' }));
    expect(r).toMatchObject({ status: 200, json: { pKey: 'KEY-9' } });
    const refused = await post('/cardmgmt/auth', JSON.stringify({ step1: 'garbage' }));
    expect(refused.status).toBe(422);
    expect(refused.json.error).toContain('not a Step 1 answer');
    expect((await post('/cardmgmt/auth', '{}')).status).toBe(400);
  });

  it('lets browser pages call it (CORS, private network preflight)', async () => {
    const pre = await fetch(service.url + '/api/iReadCardBas', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://his.example',
        'access-control-request-method': 'POST',
        'access-control-request-private-network': 'true',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-private-network')).toBe('true');
  });
});

describe('a service restricted to given origins', () => {
  it('refuses other origins on HTTP and WebSocket', async () => {
    const restricted = await startDriverService({
      backend: new RecordingBackend(),
      port: 0,
      allowedOrigins: ['http://his.example'],
    });
    try {
      const okRes = await fetch(restricted.url + '/api/iReadCardBas', {
        method: 'POST',
        headers: { origin: 'http://his.example' },
        body: '{"iType":1}',
      });
      expect(okRes.headers.get('access-control-allow-origin')).toBe('http://his.example');
      const no = await fetch(restricted.url + '/api/iReadCardBas', {
        method: 'POST',
        headers: { origin: 'http://evil.example' },
        body: '{"iType":1}',
      });
      expect(no.status).toBe(403);
      const s = new WebSocket(restricted.wsUrl, { origin: 'http://evil.example' });
      const err = await new Promise<string>((ok) => s.once('error', (e) => ok(e.message)));
      expect(err).toContain('403');
    } finally {
      await restricted.close();
    }
  });
});
