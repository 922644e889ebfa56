import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, toFailure, type Core } from './create-core.ts';
import type { CoreEvent } from './events.ts';
import { fixedClock } from '../time.ts';

/** 读卡服务 from the app: the local reader service on the core's own reader, till and PIN pad. */

let dir: string;
let core: Core;
let events: CoreEvent[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-rsvc-'));
  core = await createCore({ dbPath: join(dir, 'ledger.db'), clock: fixedClock('2026-03-02T02:00:00Z') });
  events = [];
  core.subscribe((e) => events.push(e));
});

afterEach(async () => {
  await core.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return toFailure(e);
  }
  throw new Error('expected the call to fail');
}

async function post(url: string, fn: string, body: Record<string, unknown>) {
  const r = await fetch(`${url}/api/${fn}`, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status).toBe(200);
  return (await r.json()) as { functionName: string; success: string; pOutInfo: string };
}

function nextEvent<T extends CoreEvent['type']>(type: T, timeoutMs = 5000) {
  return new Promise<Extract<CoreEvent, { type: T }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
    const off = core.subscribe((e) => {
      if (e.type === type) {
        clearTimeout(timer);
        off();
        resolve(e as Extract<CoreEvent, { type: T }>);
      }
    });
  });
}

async function startOnFreePort() {
  const view = await core.api.startReaderService({ listen: '127.0.0.1:0' });
  expect(view.running).toBe(true);
  expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+$/);
  return view.url!;
}

describe('读卡服务 from the app', () => {
  it('starts on the app reader: a HIS reads the card in it over HTTP, the screens hear start and stop', async () => {
    await core.api.insertCard({ cardId: 'gen2' });
    const url = await startOnFreePort();
    expect(events.find((e) => e.type === 'reader-service')).toMatchObject({
      service: { running: true, url },
    });
    const r = await post(url, 'iReadCardBas', { iType: 1 });
    expect(r.success).toBe('1');
    expect(r.pOutInfo.split('|')[4]).toBe('李娜');
    expect(await core.api.readerServiceState({})).toMatchObject({ running: true, url, calls: 1 });
    // The service's APDUs show in the app's trace like the till's.
    expect(events.some((e) => e.type === 'trace')).toBe(true);

    const stopped = await core.api.stopReaderService({});
    expect(stopped).toMatchObject({ running: false, url: null });
    expect(events.at(-1)).toMatchObject({ type: 'reader-service', service: { running: false } });
    await expect(fetch(`${url}/api/iReadCardBas`, { method: 'POST', body: '{"iType":1}' })).rejects.toThrow();
  });

  it('a PIN function waits for the customer PIN pad: the event names it, the PIN answers it, nothing echoes the PIN', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    const url = await startOnFreePort();
    const asked = nextEvent('reader-service-pin');
    const call = post(url, 'iVerifyPIN', { iType: 1 });
    const { request } = await asked;
    expect(request).toEqual({ functionName: 'iVerifyPIN', prompt: 'pin' });
    expect((await core.api.readerServiceState({})).waiting).toEqual(request);

    // Meanwhile the till keeps its hands off the card.
    const till = await failureOf(core.api.enterAmount({ amountFen: 100, method: 'medical' }));
    expect(till.code).toBe('CONFLICT');
    expect(till.en).toMatch(/reader service is using the card \(iVerifyPIN/);
    expect((await failureOf(core.api.insertCard({ cardId: 'gen2' }))).code).toBe('CONFLICT');

    const ended = nextEvent('reader-service-pin-done');
    const after = await core.api.readerServicePinPad({ entry: '258014' });
    expect(after.waiting).toBeNull();
    expect(await ended).toMatchObject({ outcome: 'entered', request: { functionName: 'iVerifyPIN' } });
    expect(await call).toMatchObject({ functionName: 'iVerifyPIN', success: '1', pOutInfo: '' });

    // A wrong PIN: -51 and the tries left.
    const again = nextEvent('reader-service-pin');
    const wrong = post(url, 'iVerifyPIN', { iType: 1 });
    await again;
    await core.api.readerServicePinPad({ entry: '111111' });
    expect(await wrong).toMatchObject({ success: '-51', pOutInfo: '2|' });

    const seen = JSON.stringify(events);
    expect(seen).not.toContain('258014');
    expect(seen).not.toContain('111111');
    // The till is free again once the call is over.
    await core.api.removeCard({});
    await core.api.insertCard({ cardId: 'gen3-active' });
  });

  it('cancel on the PIN pad answers -31; stopping cancels a wait; a PIN with nothing waiting is refused', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    const url = await startOnFreePort();

    const none = await failureOf(core.api.readerServicePinPad({ entry: '258014' }));
    expect(none.code).toBe('CONFLICT');
    const bad = await failureOf(core.call('readerServicePinPad', { entry: '25801x' }));
    expect(bad.code).toBe('BAD_ARGUMENTS');
    expect(JSON.stringify(bad)).not.toContain('25801x');

    const asked = nextEvent('reader-service-pin');
    const call = post(url, 'iVerifyPIN', { iType: 1 });
    await asked;
    const ended = nextEvent('reader-service-pin-done');
    await core.api.readerServicePinPad({ entry: 'CANCEL' });
    expect(await ended).toMatchObject({ outcome: 'cancel' });
    expect(await call).toMatchObject({ success: '-31' });

    // Stopping while a function waits: it is cancelled, not left hanging.
    const waiting = nextEvent('reader-service-pin');
    const hanging = fetch(`${url}/api/iVerifyPIN`, { method: 'POST', body: '{"iType":1}' }).then(
      async (r) => (await r.json()) as { success: string },
      () => ({ success: 'connection closed' }),
    );
    await waiting;
    await core.api.stopReaderService({});
    expect(['-31', 'connection closed']).toContain((await hanging).success);
    expect(events.filter((e) => e.type === 'reader-service-pin-done').at(-1)).toMatchObject({
      outcome: 'cancel',
    });
    await expect(fetch(`${url}/`)).rejects.toThrow();
  });

  it('iChangePIN asks the PIN pad three times, each prompt its own event; a mismatch is -34', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    const url = await startOnFreePort();
    const prompts: string[] = [];
    const off = core.subscribe((e) => {
      if (e.type !== 'reader-service-pin') return;
      prompts.push(e.request.prompt);
      const entry = { 'old-pin': '258014', 'new-pin': '135790', 'new-pin-again': '135791' }[
        e.request.prompt as 'old-pin'
      ];
      setTimeout(() => void core.api.readerServicePinPad({ entry }), 0);
    });
    try {
      const r = await post(url, 'iChangePIN', { iType: 1 });
      expect(prompts).toEqual(['old-pin', 'new-pin', 'new-pin-again']);
      expect(r.success).toBe('-34');
    } finally {
      off();
    }
  });

  it('iDoDebit pays at the app till: the PIN from the customer PIN pad, the debit in its books', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    const url = await startOnFreePort();
    const bas = await post(url, 'iReadCardBas', { iType: 1 });
    expect(bas.success).toBe('1');
    const before = await core.api.payments({});
    const asked = nextEvent('reader-service-pin');
    const debit = post(url, 'iDoDebit', { iType: 1, pCardInfo: bas.pOutInfo, pPayInfo: '12.50|1|HIS-0001|' });
    expect((await asked).request).toEqual({ functionName: 'iDoDebit', prompt: 'pin' });
    const booksBefore = events.filter((e) => e.type === 'books-changed').length;
    await core.api.readerServicePinPad({ entry: '258014' });
    const r = await debit;
    expect(r.success).toBe('1');
    const [paymentId, amount, medicalCurrent, , , , online, , terminalId, reference] = r.pOutInfo.split('|');
    expect({ amount, medicalCurrent, online, terminalId, reference }).toEqual({
      amount: '12.50',
      medicalCurrent: '12.50',
      online: '1',
      terminalId: 'T0001',
      reference: 'HIS-0001',
    });
    const after = await core.api.payments({});
    expect(after.length).toBe(before.length + 1);
    expect(after[0]).toMatchObject({ paymentId, amountFen: 1250 });
    expect(events.filter((e) => e.type === 'books-changed').length).toBeGreaterThan(booksBefore);
    const record = await post(url, 'iReadDebitRecord', { iType: 1 });
    expect(record.pOutInfo.split('|')[0]).toBe(paymentId);
    expect(JSON.stringify(events)).not.toContain('258014');
  });

  it('a service call is refused while the till waits for the holder mid-payment', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    await core.api.enterAmount({ amountFen: 1250, method: 'medical' });
    expect((await core.api.tillState({})).waitingFor).toBe('pin');
    const url = await startOnFreePort();
    const r = await post(url, 'iReadCardBas', { iType: 1 });
    expect(r.success).toBe('-11');
    expect(r.pOutInfo).toMatch(/till is in a payment/);
    await core.api.cancel({});
    expect((await post(url, 'iReadCardBas', { iType: 1 })).success).toBe('1');
  });

  it('defaults to 127.0.0.1:12342 and takes a free port when it is taken; an explicit taken port is refused', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => {
      blocker.once('error', () => resolve()); // someone else holds 12342 already: as good
      blocker.listen(12342, '127.0.0.1', () => resolve());
    });
    try {
      const view = await core.api.startReaderService({});
      expect(view).toMatchObject({ running: true, requestedPort: 12342, pinTimeoutSeconds: 30 });
      expect(view.port).not.toBe(12342);
      expect(view.url).toBe(`http://127.0.0.1:${view.port}`);
      expect((await failureOf(core.api.startReaderService({}))).code).toBe('CONFLICT');
      await core.api.stopReaderService({});

      const taken = await failureOf(core.api.startReaderService({ listen: '127.0.0.1:12342' }));
      expect(taken.code).toBe('CONFLICT');
      expect(taken.en).toMatch(/127\.0\.0\.1:12342 is already in use/);
      expect((await core.api.readerServiceState({})).running).toBe(false);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    const remote = await failureOf(core.api.startReaderService({ listen: '0.0.0.0:12342' }));
    expect(remote).toMatchObject({ code: 'BAD_ARGUMENTS' });
    expect(remote.en).toMatch(/loopback only/);
    expect((await failureOf(core.api.startReaderService({ listen: 'nonsense:port' }))).code).toBe(
      'BAD_ARGUMENTS',
    );
  });

  it('the reader cannot change under a running service, and closing the core stops it', async () => {
    const url = await startOnFreePort();
    const f = await failureOf(core.api.startTraining({}));
    expect(f.code).toBe('CONFLICT');
    expect(f.en).toMatch(/stop it before/);
    expect((await core.api.workspace({})).mode).toBe('live');
    await core.close();
    await expect(fetch(`${url}/`)).rejects.toThrow();
    core = await createCore({ dbPath: join(dir, 'ledger.db'), clock: fixedClock('2026-03-02T02:00:00Z') });
  });
});
