import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openPosSystem, type PosSystem } from './pos-system.ts';
import { runPayment } from './run-payment.ts';
import { TerminalLedgerError } from './terminal-ledger.ts';
import { checkBooks } from '../faults/crash-harness.ts';
import { HostError } from '../host/types.ts';
import type { InProcessHost } from '../host/in-process-host.ts';
import { resolveCard } from '../card/wallet.ts';
import { fixedClock } from '../time.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';

/**
 * Refunds written ahead: the refund, its journal lines and its queue entry are committed before
 * the host hears of it, then sent at once. A till killed after the host applied the refund and
 * before it learnt so finds the refund in its books and queue at its restart; sync sends it,
 * the host answers with the record it applied (a refund id is applied once), and both books
 * hold it exactly once.
 */
const GEN3 = resolveCard('gen3-active').profile;
const CARD = GEN3.card.number;
const AT = '2026-11-26T03:00:00Z';
const FAR = new Date('9999-12-31T23:59:59Z');
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../../test/harness/pos/refund-in-doubt-child.ts', import.meta.url));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-refund-in-doubt-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** Runs the child till to its death; its stdout. */
function runChild(dbPath: string, behaviour: 'die-after-apply' | 'die-before-apply') {
  const env = { ...process.env };
  delete env.SSCARD_CRASH_AT;
  delete env.SSCARD_CRASH_AFTER;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, '--db', dbPath, '--host', behaviour], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      resolve({ signal, stdout, stderr });
    });
  });
}

const said = (stdout: string, word: string) => new RegExp(`^${word} (\\S+)$`, 'm').exec(stdout)?.[1];

function hostRefunds(pos: PosSystem, refundId: string) {
  return pos.store.db
    .prepare("SELECT COUNT(*) FROM host_records WHERE payment_id = ? AND kind = 'refund'")
    .pluck()
    .get(refundId) as number;
}

describe('a refund in doubt: the till dies between the host applying it and booking its answer', () => {
  for (const behaviour of ['die-after-apply', 'die-before-apply'] as const) {
    it(`${behaviour}: after restart and sync the refund is booked once, applied once, reconciliation agrees`, async () => {
      const dbPath = freshDb();
      const run = await runChild(dbPath, behaviour);
      expect(run.signal, run.stderr).toBe('SIGKILL');
      const paymentId = said(run.stdout, 'paid');
      const refundId = said(run.stdout, 'sending');
      expect(paymentId && refundId, run.stdout).toBeTruthy();
      expect(said(run.stdout, 'applied') !== undefined).toBe(behaviour === 'die-after-apply');

      const pos = openPosSystem({ dbPath, clock: fixedClock(AT) });
      try {
        const before = pos.store.balances(CARD).medicalCurrent!;
        // Written ahead: the refund is in the till's books and queue although it never heard back.
        const written = pos.ledger.payment(refundId!);
        expect(written).toMatchObject({ kind: 'refund', refPaymentId: paymentId, amountFen: 1000 });
        expect(pos.ledger.queueEntry(refundId!)?.state).toBe('pending');
        expect(hostRefunds(pos, refundId!)).toBe(behaviour === 'die-after-apply' ? 1 : 0);
        // Before the sync the difference is a refund not yet forwarded, nothing lost or doubled.
        const early = await pos.reconcile();
        expect(early.mismatches.map((m) => [m.paymentId, m.kind])).toEqual([[refundId, 'not-yet-forwarded']]);

        const sync = await pos.sync({ now: FAR });
        expect(sync).toMatchObject({ sent: 1, failed: 0, pending: 0, sentIds: [refundId] });
        expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 0, pending: 0 });
        expect(hostRefunds(pos, refundId!)).toBe(1);
        expect(pos.ledger.payments({ kind: 'refund' }).map((p) => p.paymentId)).toEqual([refundId]);
        expect(pos.ledger.queueEntry(refundId!)?.state).toBe('sent');
        // The holder got 10 yuan back once: 95000 up by 1000 fen when the host applied it.
        expect(pos.store.balances(CARD).medicalCurrent).toBe(
          behaviour === 'die-after-apply' ? before : before + 1000,
        );
        const rec = await pos.reconcile();
        expect(rec.mismatches).toEqual([]);
        expect(rec.agree).toBe(true);
        expect(pos.ledger.checkBalanced()).toMatchObject({ balanced: true, totalFen: 0 });
        expect(checkBooks(pos)).toEqual([]);
      } finally {
        pos.close();
      }
    }, 60_000);
  }
});

/** A till on a new file with one online payment of `fen` from gen3-active. */
async function tillWithPayment(fen = 3000) {
  const pos = openPosSystem({ dbPath: freshDb(), clock: fixedClock(AT) });
  pos.terminal.start();
  const card = pos.register(GEN3);
  (pos.reader as VirtualReader).insert(card);
  const r = await runPayment(pos.terminal, { amountFen: fen, method: 'medical', pin: GEN3.pin });
  (pos.reader as VirtualReader).remove();
  expect(r.outcome?.mode).toBe('online');
  return { pos, paymentId: r.outcome!.paymentId };
}

const rows = (pos: PosSystem) => ({
  payments: pos.store.db.prepare('SELECT COUNT(*) FROM terminal_payments').pluck().get() as number,
  journal: pos.store.db.prepare('SELECT COUNT(*) FROM terminal_journal').pluck().get() as number,
  queue: pos.store.db.prepare('SELECT COUNT(*) FROM forward_queue').pluck().get() as number,
});

/** Counts the host's refund calls of a till's host (pos.host). */
function countRefunds(host: InProcessHost): { calls: number } {
  const counter = { calls: 0 };
  const refund = host.refund.bind(host);
  host.refund = (...a: Parameters<InProcessHost['refund']>) => {
    counter.calls++;
    return refund(...a);
  };
  return counter;
}

describe('refunds written ahead, in one process', () => {
  it('online: recorded before the host is asked, confirmed in the call, 联机 receipt, host once', async () => {
    const { pos, paymentId } = await tillWithPayment();
    try {
      const host = pos.host;
      const refund = host.refund.bind(host);
      let seenAtTheHost: unknown = null;
      host.refund = async (refundId, ...rest) => {
        // When the host hears of it, the refund is already committed in the till's books and queue.
        seenAtTheHost = {
          row: pos.ledger.payment(refundId)?.kind,
          queue: pos.ledger.queueEntry(refundId)?.state,
        };
        return refund(refundId, ...rest);
      };
      const r = await pos.refund(paymentId, 1000);
      expect(seenAtTheHost).toEqual({ row: 'refund', queue: 'pending' });
      expect(r).toMatchObject({ kind: 'refund', mode: 'online', amountFen: 1000, refPaymentId: paymentId });
      expect(r.receiptText).toMatch(/交易方式\s+联机/);
      expect(pos.ledger.payment(r.paymentId)).toEqual(r);
      expect(pos.ledger.queueEntry(r.paymentId)).toMatchObject({ state: 'sent', attempts: 0 });
      expect(hostRefunds(pos, r.paymentId)).toBe(1);
      expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 0, pending: 0 });
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  });

  it('host link down: queued at once without a host call, 脱机 receipt; sync sends it once', async () => {
    const { pos, paymentId } = await tillWithPayment();
    try {
      const calls = countRefunds(pos.host);
      pos.host.setLink('down');
      const r = await pos.refund(paymentId, 500);
      expect(calls.calls).toBe(0);
      expect(r).toMatchObject({ mode: 'offline' });
      expect(r.receiptText).toContain('脱机（待上送）');
      expect(pos.ledger.queueEntry(r.paymentId)).toMatchObject({ state: 'pending', attempts: 0 });
      pos.host.setLink('up');
      expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 1, pending: 0 });
      expect(calls.calls).toBe(1);
      expect(hostRefunds(pos, r.paymentId)).toBe(1);
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  });

  it('no answer (HOST_TIMEOUT) after the request left: stays queued; sync gets the first record back', async () => {
    const { pos, paymentId } = await tillWithPayment();
    try {
      const host = pos.host;
      const refund = host.refund.bind(host);
      host.refund = async (...a) => {
        await refund(...a); // applied, then the answer is lost
        throw new HostError('HOST_TIMEOUT', 'answer lost');
      };
      const r = await pos.refund(paymentId, 700);
      expect(pos.ledger.queueEntry(r.paymentId)?.state).toBe('pending');
      host.refund = refund;
      expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 1, pending: 0 });
      expect(hostRefunds(pos, r.paymentId)).toBe(1);
      expect(pos.ledger.payments({ kind: 'refund' })).toHaveLength(1);
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  });

  it('a sync running while the refund is on its way: both send it, the host applies it once, booked once', async () => {
    const { pos, paymentId } = await tillWithPayment();
    try {
      const host = pos.host;
      const refund = host.refund.bind(host);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let first = true;
      host.refund = async (...a) => {
        if (first) {
          first = false;
          await held; // the till's own request is slow; the forwarder's goes through meanwhile
        }
        return refund(...a);
      };
      const refunding = pos.refund(paymentId, 1000);
      await new Promise((r) => setTimeout(r, 10));
      expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 1, pending: 0 });
      release();
      const r = await refunding;
      expect(pos.ledger.queueEntry(r.paymentId)?.state).toBe('sent');
      expect(hostRefunds(pos, r.paymentId)).toBe(1);
      expect(pos.ledger.payments({ kind: 'refund' })).toHaveLength(1);
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  });

  it('validation errors write nothing and ask the host nothing: over what is left, unknown payment, bad amount', async () => {
    const { pos, paymentId } = await tillWithPayment(2000);
    try {
      const calls = countRefunds(pos.host);
      const before = rows(pos);
      await expect(pos.refund(paymentId, 2001)).rejects.toMatchObject({ code: 'REFUND_EXCEEDS_REMAINING' });
      await expect(pos.refund('T0001-20261126-000000000-deadbeef', 100)).rejects.toMatchObject({
        code: 'UNKNOWN_PAYMENT',
      });
      await expect(pos.refund(paymentId, 0)).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
      await pos.refund(paymentId, 1500);
      await expect(pos.refund(paymentId, 501)).rejects.toBeInstanceOf(TerminalLedgerError);
      expect(calls.calls).toBe(1);
      const after = rows(pos);
      expect(after.payments).toBe(before.payments + 1);
      expect(after.queue).toBe(before.queue + 1);
    } finally {
      pos.close();
    }
  });

  it('a host that answers no: the refund stays written and queued, the failure counted, HOST_REFUSED', async () => {
    const { pos, paymentId } = await tillWithPayment();
    try {
      const host = pos.host;
      const refund = host.refund.bind(host);
      host.refund = () => Promise.reject(new HostError('INVALID_REQUEST', 'refused for the test'));
      const e = await pos.refund(paymentId, 400).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TerminalLedgerError);
      expect(e).toMatchObject({ code: 'HOST_REFUSED', message: /refused for the test.*queued/ });
      const [queued] = pos.ledger.forwardQueue('pending');
      expect(queued).toMatchObject({
        kind: 'refund',
        attempts: 1,
        lastError: expect.stringContaining('refused'),
      });
      host.refund = refund;
      expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 1, pending: 0 });
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  });

  it('a refund of a payment still queued waits in the queue behind it (脱机), without a host call', async () => {
    const pos = openPosSystem({ dbPath: freshDb(), clock: fixedClock(AT) });
    try {
      pos.terminal.start();
      const card = pos.register(GEN3);
      (pos.reader as VirtualReader).insert(card);
      pos.host.setLink('down');
      const r = await runPayment(pos.terminal, { amountFen: 1200, method: 'medical', pin: GEN3.pin });
      expect(r.outcome?.mode).toBe('offline');
      pos.host.setLink('up');
      const calls = countRefunds(pos.host);
      const refund = await pos.refund(r.outcome!.paymentId, 200);
      expect(calls.calls).toBe(0);
      expect(refund).toMatchObject({ mode: 'offline' });
      expect(await pos.sync({ now: FAR })).toMatchObject({ sent: 2, pending: 0 });
      expect((await pos.reconcile()).agree).toBe(true);
    } finally {
      pos.close();
    }
  });
});
