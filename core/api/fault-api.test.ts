import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCore, toFailure, type Core } from './create-core.ts';
import type { CoreEvent } from './events.ts';
import { fixedClock } from '../time.ts';

let dir: string;
let core: Core;
let events: CoreEvent[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-faults-'));
  core = await createCore({
    dbPath: join(dir, 'ledger.db'),
    clock: fixedClock('2026-03-02T02:00:00Z'),
    hostTimeoutMs: 100,
  });
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

async function medical(cardId: string): Promise<number> {
  const b = await core.api.balances({ cardId });
  return (b.medicalCurrent ?? 0) + (b.medicalPrior ?? 0);
}

const HEALTHY = { reader: { plan: {}, apdusSent: 0, detached: false }, host: null, corruptions: [] };

describe('the fault Api', () => {
  it('starts with no fault; the workspace reader the till uses is the faulty wrapper', async () => {
    expect(await core.api.faultState({})).toEqual(HEALTHY);
    const ws = core.workspace();
    expect(ws.reader).toBe(ws.faults.reader);
    expect(ws.faults.reader.inner).toBe(ws.virtualReader);
    expect(ws.faults.host).not.toBeNull();
  });

  it('setReaderFaults: the card pulled at the VERIFY APDU of a gen 3 payment → pulled, nothing charged', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    const before = await medical('gen3-active');
    const armed = await core.api.setReaderFaults({ removeCardAtApdu: 4 });
    expect(armed.reader).toEqual({ plan: { removeCardAtApdu: 4 }, apdusSent: 0, detached: false });
    expect((await core.api.enterAmount({ amountFen: 1250, method: 'medical' })).waitingFor).toBe('pin');
    const done = await core.api.enterPin({ pin: '258014' });
    expect(done.last?.result).toBe('pulled');
    expect(done.last?.message.code).toBe('CARD_PULLED');
    expect(done.waitingFor).toBe('card');
    expect(await core.api.readerState({})).toMatchObject({ cardPresent: false, cardId: null });
    expect(events).toContainEqual({
      type: 'reader',
      reader: expect.objectContaining({ cardPresent: false }),
    });
    expect(await medical('gen3-active')).toBe(before);
    expect((await core.api.faultState({})).reader).toEqual({ plan: {}, apdusSent: 4, detached: false });
  });

  it('setReaderFaults detach, then reattachReader: READ_FAILED while gone, the slot empty; back afterwards', async () => {
    await core.api.setReaderFaults({ detachReaderAtApdu: 2 });
    await core.api.insertCard({ cardId: 'gen3-active' });
    const till = await core.api.tillState({});
    expect(till.message.code).toBe('READ_FAILED');
    expect(till.waitingFor).toBe('removal');
    expect((await core.api.faultState({})).reader.detached).toBe(true);
    expect((await core.api.readerState({})).cardPresent).toBe(false);
    events.length = 0;
    const back = await core.api.reattachReader({});
    expect(back.reader.detached).toBe(false);
    expect(events).toContainEqual({ type: 'reader', reader: expect.objectContaining({ cardPresent: true }) });
    await core.api.removeCard({});
    await core.api.insertCard({ cardId: 'gen3-active' });
    expect((await core.api.tillState({})).waitingFor).toBe('amount');
  });

  it('setHostFault error: gen 2 declined with the reason; null heals', async () => {
    const state = await core.api.setHostFault({
      fault: { kind: 'error', message: '主机拒绝 05 do not honour' },
    });
    expect(state.host).toEqual({ kind: 'error', code: 'DECLINED', message: '主机拒绝 05 do not honour' });
    await core.api.insertCard({ cardId: 'gen2' });
    const before = await medical('gen2');
    await core.api.enterAmount({ amountFen: 500, method: 'medical' });
    const done = await core.api.enterPin({ pin: '246810' });
    expect(done.last?.result).toBe('declined');
    expect(done.last?.message).toEqual({
      code: 'PAYMENT_DECLINED',
      params: { reason: '主机拒绝 05 do not honour' },
    });
    expect(await medical('gen2')).toBe(before);
    expect((await core.api.setHostFault({ fault: null })).host).toBeNull();
  });

  it('setHostFault drop-after-apply: gen 3 taken offline under the same id; sync and reconcile net it, charged once', async () => {
    await core.api.insertCard({ cardId: 'gen3-active' });
    const before = await medical('gen3-active');
    await core.api.setHostFault({ fault: { kind: 'drop-after-apply' } });
    await core.api.enterAmount({ amountFen: 1250, method: 'medical' });
    const done = await core.api.enterPin({ pin: '258014' });
    expect(done.last?.message.code).toBe('APPROVED_OFFLINE');
    await core.api.clearFaults({});
    const sync = await core.api.sync({});
    expect(sync.sent).toBe(1);
    const rec = await core.api.reconcile({});
    expect(rec.agree).toBe(true);
    expect(await medical('gen3-active')).toBe(before - 1250);
  });

  it('corruptCardRecords: applies at the next insertion; READ_FAILED, never paid; [] heals the card', async () => {
    const state = await core.api.corruptCardRecords({
      cardId: 'gen3-active',
      corruptions: [{ file: 'EF05', record: 7, mode: 'garbage' }],
    });
    expect(state.corruptions).toEqual([
      { cardId: 'gen3-active', corruptions: [{ file: 'EF05', record: 7, mode: 'garbage' }] },
    ]);
    await core.api.insertCard({ cardId: 'gen3-active' });
    const till = await core.api.tillState({});
    expect(till.message.code).toBe('READ_FAILED');
    expect(till.waitingFor).toBe('removal');
    expect((await failureOf(core.api.enterAmount({ amountFen: 100, method: 'medical' }))).code).toBe(
      'CONFLICT',
    );
    await core.api.removeCard({});
    await core.api.corruptCardRecords({ cardId: 'gen3-active', corruptions: [] });
    await core.api.insertCard({ cardId: 'gen3-active' });
    expect((await core.api.tillState({})).waitingFor).toBe('amount');
  });

  it('checks its arguments: unknown cards, bad record numbers, unknown faults', async () => {
    expect(
      (await failureOf(core.api.corruptCardRecords({ cardId: 'no-such-card', corruptions: [] }))).code,
    ).toBe('NOT_FOUND');
    const bad = await failureOf(
      core.call('corruptCardRecords', { cardId: 'gen3-active', corruptions: [{ file: 'EF05', record: 0 }] }),
    );
    expect(bad.code).toBe('BAD_ARGUMENTS');
    expect((await failureOf(core.call('setReaderFaults', { removeCardAtApdu: 0 }))).code).toBe(
      'BAD_ARGUMENTS',
    );
    expect((await failureOf(core.call('setHostFault', { fault: { kind: 'meltdown' } }))).code).toBe(
      'BAD_ARGUMENTS',
    );
  });

  it('clearFaults: reader plan dropped and reader back, host healthy, cards healthy', async () => {
    await core.api.setReaderFaults({ removeCardAtApdu: 3, detachReaderAtApdu: 9 });
    await core.api.setHostFault({ fault: { kind: 'error', code: 'INTERNAL' } });
    await core.api.corruptCardRecords({ cardId: 'gen2', corruptions: [{ file: 'EF06', record: 2 }] });
    const cleared = await core.api.clearFaults({});
    expect({ ...cleared, reader: { ...cleared.reader, apdusSent: 0 } }).toEqual(HEALTHY);
    await core.api.insertCard({ cardId: 'gen2' });
    await core.api.enterAmount({ amountFen: 100, method: 'medical' });
    expect((await core.api.enterPin({ pin: '246810' })).last?.result).toBe('paid');
  });

  it('faults belong to the workspace: training mode starts healthy', async () => {
    await core.api.setHostFault({ fault: { kind: 'error' } });
    await core.api.startTraining({});
    expect(await core.api.faultState({})).toEqual(HEALTHY);
    await core.api.endTraining({});
  });
});
