import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, toFailure, type Core } from './create-core.ts';
import { ApiError } from './define.ts';
import { METHOD_NAMES } from './contract.ts';
import type { CoreEvent } from './events.ts';
import { fixedClock } from '../time.ts';

let dir: string;
let core: Core;
let events: CoreEvent[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-core-'));
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

describe('the Api boundary', () => {
  it('accepts only the closed list of method names', async () => {
    expect(METHOD_NAMES).toContain('enterPin');
    for (const name of ['constructor', '__proto__', 'toString', 'close', 'ws', 42, null]) {
      expect((await failureOf(core.call(name, {}))).code).toBe('UNKNOWN_METHOD');
    }
  });

  it('checks arguments by schema, naming the field and never echoing a PIN', async () => {
    const f = await failureOf(core.call('enterPin', { pin: '12345x' }));
    expect(f.code).toBe('BAD_ARGUMENTS');
    expect(f.en).toContain('pin');
    expect(JSON.stringify(f)).not.toContain('12345x');
    const extra = await failureOf(core.call('insertCard', { cardId: 'gen3-active', evil: 1 }));
    expect(extra.code).toBe('BAD_ARGUMENTS');
    const amount = await failureOf(core.call('enterAmount', { amountFen: 12.5, method: 'medical' }));
    expect(amount.en).toContain('amountFen');
  });

  it('says what is wrong when the till is not asking for what was sent', async () => {
    const f = await failureOf(core.api.enterPin({ pin: '258014' }));
    expect(f.code).toBe('CONFLICT');
    expect(f.zh).toContain('密码');
  });

  it('an unknown card is NOT_FOUND in both languages', async () => {
    const f = await failureOf(core.api.insertCard({ cardId: 'no-such-card' }));
    expect(f).toMatchObject({ code: 'NOT_FOUND' });
    expect(f.zh).toContain('no-such-card');
  });
});

describe('a payment through the Api (R1.3, R1.4)', () => {
  it('gen 3: amount, PIN, approved; the till, reader, trace and books report as it goes', async () => {
    const reader = await core.api.insertCard({ cardId: 'gen3-active' });
    expect(reader).toMatchObject({ cardPresent: true, cardId: 'gen3-active', kind: 'virtual' });
    await core.workspace().pos.terminal.settled();
    expect((await core.api.tillState({})).waitingFor).toBe('amount');
    const atPin = await core.api.enterAmount({ amountFen: 1250, method: 'medical' });
    expect(atPin.waitingFor).toBe('pin');
    expect(atPin.amountFen).toBe(1250);
    const done = await core.api.enterPin({ pin: '258014' });
    expect(done.last?.result).toBe('paid');
    expect(done.waitingFor).toBe('removal');
    expect(done.last?.outcome?.receiptText).toContain('12.50');

    const payments = await core.api.payments({});
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ amountFen: 1250, kind: 'payment' });
    const entry = await core.api.payment({ paymentId: payments[0]!.paymentId });
    expect(entry.journal.reduce((s, l) => s + l.amountFen, 0)).toBe(0);

    const kinds = new Set(events.map((e) => e.type));
    expect(kinds).toEqual(new Set(['reader', 'till', 'trace', 'books-changed']));
    const trace = await core.api.trace({});
    expect(trace.some((e) => e.meaning.startsWith('SELECT SSSE'))).toBe(true);
    const verify = trace.find((e) => e.meaning.startsWith('VERIFY PIN'))!;
    expect(verify.command).toMatch(/^0020000003\*+$/);
    expect(JSON.stringify(events)).not.toContain('258014');
    await core.api.removeCard({});
    expect((await core.api.tillState({})).waitingFor).toBe('card');
  });

  it('the initial PIN is refused before the card sees it (R1.4)', async () => {
    await core.api.insertCard({ cardId: 'gen3-initial-pin' });
    await core.api.enterAmount({ amountFen: 1250, method: 'medical' });
    const v = await core.api.enterPin({ pin: '123456' });
    expect(v.message.code).toBe('INITIAL_PIN_REFUSED');
    expect(await core.api.payments({})).toHaveLength(0);
  });

  it('the counter changes the PIN of the card the till shares, taking it out of the reader first', async () => {
    await core.api.insertCard({ cardId: 'gen3-initial-pin' });
    const r = await core.api.counterChangePin({
      cardId: 'gen3-initial-pin',
      oldPin: '123456',
      newPin: '864209',
    });
    expect(r).toMatchObject({ ok: true, tookFromTill: true });
    // The counter's CHANGE PIN shows in the same trace, its PIN data masked.
    const change = (await core.api.trace({})).find((e) => e.meaning.startsWith('CHANGE PIN'))!;
    expect(change.reader).toContain('Bank counter');
    expect(change.command).toMatch(/^805E0100\w\w\*+$/);
    expect(change.sw).toBe('9000');
    expect((await core.api.readerState({})).cardPresent).toBe(false);
    const card = (await core.api.listCards({})).find((c) => c.id === 'gen3-initial-pin')!;
    expect(card.pin.initial).toBe(false);
    await core.api.insertCard({ cardId: 'gen3-initial-pin' });
    await core.api.enterAmount({ amountFen: 1250, method: 'medical' });
    expect((await core.api.enterPin({ pin: '864209' })).last?.result).toBe('paid');
  });
});

describe('training mode', () => {
  it('runs on a throw-away sandbox: the live books never see it, and each start is fresh', async () => {
    const live = core.workspace().dbPath;
    const training = await core.api.startTraining({});
    expect(training.mode).toBe('training');
    const sandbox = core.workspace().dbPath;
    expect(sandbox).not.toBe(live);
    await core.api.insertCard({ cardId: 'gen3-active' });
    await core.api.enterAmount({ amountFen: 500, method: 'medical' });
    expect((await core.api.enterPin({ pin: '258014' })).last?.result).toBe('paid');
    expect(await core.api.payments({})).toHaveLength(1);
    expect(events.some((e) => e.type === 'workspace' && e.workspace.mode === 'training')).toBe(true);

    await core.api.startTraining({});
    expect(await core.api.payments({})).toHaveLength(0);
    expect((await core.api.endTraining({})).mode).toBe('live');
    expect(core.workspace().dbPath).toBe(live);
    expect(await core.api.payments({})).toHaveLength(0);
    expect(() => readFileSync(sandbox)).toThrow();
  });

  it('a PC/SC reader that cannot be opened leaves the virtual reader in use', async () => {
    const f = await failureOf(core.api.useReader({ reader: 'Nonexistent Reader' }));
    expect(f.code).toBe('READER_ERROR');
    expect((await core.api.readerState({})).kind).toBe('virtual');
  });
});

describe('failures crossing a boundary', () => {
  it('carry a code and words, never a stack', () => {
    const f = toFailure(new ApiError('CONFLICT', '冲突', 'conflict'));
    expect(f).toEqual({ code: 'CONFLICT', zh: '冲突', en: 'conflict' });
    expect(Object.keys(toFailure(new Error('boom')))).toEqual(['code', 'zh', 'en']);
  });
});
