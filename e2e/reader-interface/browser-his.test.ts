import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Browser } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../ui/harness.ts';
import { resolveCard } from '../../core/card/wallet.ts';
import {
  post,
  startService,
  type ServiceProcess,
} from '../../test/harness/reader-interface/driver-support.ts';

/**
 * A browser HIS: a page served from its own origin (as a hospital's intranet serves it) opens
 * ws://127.0.0.1:<port>/ and calls the interface as the public front ends do —
 * {"function":"iReadCardBas","iType":…} → {"functionName","success","pOutInfo"}. Then the
 * service's robustness: malformed requests of every kind, each answered, none crashing it;
 * Ctrl-C stops it cleanly.
 */
const dir = mkdtempSync(join(tmpdir(), 'sscard-driver-browser-'));
let service: ServiceProcess;
let his: Server;
let hisUrl = '';
let browser: Browser | null = null;

/** The HIS page: a WebSocket client like the vendors' JavaScript (sendMessage / onmessage). */
const HIS_PAGE = `<!doctype html><meta charset="utf-8"><title>HIS 收费</title>
<pre id="log"></pre>
<script>
window.callReader = (url, request) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  ws.onopen = () => ws.send(JSON.stringify(request));
  ws.onmessage = (e) => { resolve(JSON.parse(e.data)); ws.close(); };
  ws.onerror = () => reject(new Error('读卡服务未启动'));
});
window.postReader = async (url, fn, body) => {
  const r = await fetch(url + '/api/' + fn, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
};
</script>`;

beforeAll(async () => {
  service = await startService([
    '--card',
    'gen3-active',
    '--db',
    join(dir, 'ledger.db'),
    '--pin-timeout',
    '5',
    '--trace',
  ]);
  his = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HIS_PAGE),
  );
  await new Promise<void>((ok) => his.listen(0, '127.0.0.1', () => ok()));
  // Another origin than the service's: localhost vs 127.0.0.1, another port.
  hisUrl = `http://localhost:${(his.address() as { port: number }).port}/`;
  if (chromiumAvailable()) browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => his.close(ok));
  if (service.child.exitCode === null) await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a browser HIS page calling the service over WebSocket (Chromium)', () => {
  it('reads the gen 3 card, takes the HSM path, verifies the PIN and pays', async () => {
    if (!browser)
      throw new Error('Chromium is needed: /usr/bin/chromium (apt package chromium) or SSCARD_CHROMIUM');
    const page = await browser.newPage();
    try {
      await page.goto(hisUrl);
      const ws = service.wsUrl;
      const call = (request: Record<string, unknown>) =>
        page.evaluate(
          ([u, r]) =>
            (
              window as unknown as { callReader: (u: string, r: unknown) => Promise<Record<string, string>> }
            ).callReader(u as string, r),
          [ws, request] as const,
        );

      const plain = await call({ function: 'iReadCardBas', iType: 3 });
      expect(plain).toMatchObject({ functionName: 'iReadCardBas', success: '1' });
      expect(plain.pOutInfo!.split('|')[4]).toBe('');

      const s1 = await call({ function: 'iReadCardBas_HSM_Step1', iType: 3 });
      expect(s1.success).toBe('1');
      const auth = await page.evaluate(
        async ([u, step1]) =>
          (
            await fetch(`${u}/cardmgmt/auth`, { method: 'POST', body: JSON.stringify({ step1 }) })
          ).json() as Promise<{ pKey: string }>,
        [service.url, s1.pOutInfo!] as const,
      );
      const s2 = await call({ function: 'iReadCardBas_HSM_Step2', pKey: auth.pKey });
      const p = resolveCard('gen3-active').profile;
      expect(s2.success).toBe('1');
      // UTF-8 in JSON: the name as the page shows it.
      expect(s2.pOutInfo!.split('|')[4]).toBe(p.holder.name);

      await post(`${service.url}/pinpad`, { entries: ['000000'] });
      expect(await call({ function: 'iVerifyPIN', iType: 1 })).toMatchObject({
        success: '-51',
        pOutInfo: '2|',
      });
      await post(`${service.url}/pinpad`, { entries: [p.pin] });
      const debit = await page.evaluate(
        ([u, cardInfo]) =>
          (
            window as unknown as {
              postReader: (u: string, f: string, b: unknown) => Promise<Record<string, string>>;
            }
          ).postReader(u, 'iDoDebit', { iType: 1, pCardInfo: cardInfo, pPayInfo: '8.80|1|' }),
        [service.url, s2.pOutInfo!] as const,
      );
      expect(debit).toMatchObject({ functionName: 'iDoDebit', success: '1' });
      expect(debit.pOutInfo!.split('|')[1]).toBe('8.80');
      expect((await call({ function: 'iNoSuchFunction' })).success).toBe('-13');
    } finally {
      await page.close();
    }
  });
});

function ask(url: string, message: string | Buffer): Promise<Record<string, unknown> | { closed: number }> {
  return new Promise((ok, fail) => {
    const s = new WebSocket(url);
    s.once('open', () => s.send(message));
    s.once('message', (d) => {
      ok(JSON.parse(String(d)) as Record<string, unknown>);
      s.close();
    });
    s.once('close', (code) => ok({ closed: code }));
    s.once('error', fail);
  });
}

describe("the other vendors' positional shape", () => {
  it('answers {"func":…,"in":[…]} with {"result":…,"out":[…]}', async () => {
    const ws = service.wsUrl;
    const read = (await ask(ws, '{"func":"iReadCardBas","in":["3"]}')) as { result: string; out: string[] };
    expect(read.result).toBe('0');
    expect(read.out).toHaveLength(1);
    expect(read.out[0]!.split('|')).toHaveLength(12);
    const info = (await ask(ws, '{"func":"iGetReaderInfo","in":[]}')) as { result: string; out: string[] };
    expect(info.result).toBe('0');
    expect(info.out).toHaveLength(2);
    expect(info.out[1]).toMatch(/^[0-9]{12}$/);
    expect(await ask(ws, '{"func":"iReadCardBas","in":"3"}')).toMatchObject({ result: '-14' });
    expect(await ask(ws, '{"func":"iReadCardBas","in":["3","4"]}')).toMatchObject({ result: '-14' });
    expect(await ask(ws, '{"func":"iReadCardBas","in":["x"]}')).toMatchObject({ result: '-14' });
    expect(await ask(ws, '{"func":"dc_beep","in":["0","10"]}')).toMatchObject({ result: '-13' });
  });
});

describe('malformed requests never crash the service', () => {
  it('answers each with its code and keeps answering', async () => {
    const ws = service.wsUrl;
    expect(await ask(ws, '{"function":"iFormatDisk","iType":1}')).toMatchObject({ success: '-13' });
    expect(await ask(ws, '{"function":"iReadCardBas"}')).toMatchObject({ success: '-14' });
    expect(await ask(ws, '{"function":"iReadCardBas","iType":"x"}')).toMatchObject({ success: '-14' });
    expect(await ask(ws, '{"function":"iReadCardBas","iType":7}')).toMatchObject({ success: '-14' });
    expect(await ask(ws, '{"function":"iDoDebit","iType":1,"pCardInfo":{},"pPayInfo":[]}')).toMatchObject({
      success: '-14',
    });
    expect(await ask(ws, '{"function":')).toMatchObject({ success: '-14' });
    expect(await ask(ws, 'null')).toMatchObject({ success: '-14' });
    expect(await ask(ws, Buffer.from([0xc3, 0x28]))).toMatchObject({ success: '-14' });
    expect(
      await ask(ws, JSON.stringify({ function: 'iReadCardBas', iType: 1, pad: 'x'.repeat(100_000) })),
    ).toEqual({ closed: 1009 });
    const huge = await fetch(`${service.url}/api/iReadCardBas`, {
      method: 'POST',
      body: 'x'.repeat(200_000),
    }).catch((e: Error) => e);
    if (!(huge instanceof Error)) expect(huge.status).toBe(413);
    expect(
      (await post(`${service.url}/api/iReadCardBas_HSM_Step2`, { pKey: 'not hex' })).json.success,
    ).toMatch(/^-\d+$/);
    expect((await post(`${service.url}/pinpad`, { entries: ['12a'] })).status).toBe(400);
    expect((await post(`${service.url}/cardmgmt/auth`, { step1: '||||' })).status).toBe(422);
    expect((await fetch(`${service.url}/api/iReadCardBas`)).status).toBe(405);
    // Still serving, the card still read.
    expect(await ask(ws, '{"function":"iReadCardBas","iType":1}')).toMatchObject({ success: '1' });
  });

  it('stops cleanly on Ctrl-C', async () => {
    expect(await service.stop()).toBe(0);
    expect(service.output()).toContain('Reader service stopped (SIGINT)');
    // --trace printed every call and APDU, the VERIFY bodies masked: the PIN typed appears nowhere.
    expect(service.output()).toContain('iVerifyPIN → -51');
    expect(service.output()).toMatch(/0020000003\*+/);
    expect(service.output()).not.toContain(resolveCard('gen3-active').profile.pin);
    await expect(fetch(`${service.url}/`)).rejects.toThrow();
  });
});
