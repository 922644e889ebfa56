import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freshDatabase, releaseTestServer, type TestDatabase } from '../test/harness/host/pg-test-support.ts';
import { HttpHost } from '../core/host/http-host.ts';
import type { HostStatus } from '../core/host/server/pg-host.ts';
import { freePort, sscard, startHost, tempDir, terminal, type HostProcess } from './central-host/support.ts';
import { migrate } from '../core/db/pg-migrate.ts';
import { enrolTill } from '../test/harness/host/enrol.ts';

/** Every terminal id the tests below use, enrolled at the host before it first starts. */
const ENROLLED = ['T_NORTH', 'T_SOUTH', 'T_EAST', 'T_A', 'T_B', 'T_ONE', 'T_TWO'];

/**
 * Many terminals, one host: terminal processes (each on its own SQLite file) forwarding over
 * HTTP to `sscard host serve` on a real PostgreSQL, the host itself a process that is killed
 * and restarted. The bundled gen 3 card (gen3-active: 95000 860.00 + 95001 120.50 yuan) is
 * registered by every terminal; the host seeds its accounts once.
 */

const OPENING_MEDICAL = 86_000 + 12_050;

interface PayResult {
  approved: number;
  declined: number;
  online: number;
  offline: number;
  paymentIds: string[];
}
interface SyncResult {
  rounds: number;
  sent: number;
  pending: number;
}
interface ReconcileResult {
  agree: boolean;
  mismatches: unknown[];
  terminalTotalFen: number;
  hostTotalFen: number;
  payments: { paymentId: string; kind: string; amountFen: number }[];
  pending: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => releaseTestServer());

async function world(label: string) {
  const db: TestDatabase = await freshDatabase(label);
  const tmp = tempDir(label);
  const port = await freePort();
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  // The tills are enrolled before the host first starts (their credentials kept by each till).
  const enrolPool = new pg.Pool({ connectionString: db.url, max: 1 });
  const credentials = new Map<string, string>();
  try {
    await migrate(enrolPool);
    for (const id of ENROLLED) credentials.set(id, await enrolTill(enrolPool, id));
  } finally {
    await enrolPool.end();
  }
  let host: HostProcess | null = null;
  cleanups.push(async () => {
    await host?.kill();
    await sql.end();
    await db.drop();
    tmp.remove();
  });
  const url = `http://127.0.0.1:${port}`;
  const credential = (id: string) => {
    const c = credentials.get(id);
    if (!c) throw new Error(`terminal ${id} is not in ENROLLED`);
    return c;
  };
  const terminalArgs = (id: string) => ({
    db: join(tmp.dir, `${id}.db`),
    hostUrl: url,
    hostToken: credential(id),
    terminal: id,
  });
  return {
    url,
    db,
    sql,
    terminalArgs,
    credential,
    async start(extra: string[] = []) {
      host = await startHost(db.url, port, extra);
      return host;
    },
    async kill() {
      await host?.kill();
      host = null;
    },
    async count(): Promise<number> {
      return Number((await sql.query('SELECT count(*) AS n FROM host_records')).rows[0].n);
    },
    async status(): Promise<HostStatus> {
      const client = new HttpHost({ url, timeoutMs: 10_000 });
      try {
        return await client.status();
      } finally {
        client.close();
      }
    },
  };
}

/** Every payment id of every terminal is at the host exactly once, and nothing else is. */
async function expectExactlyOnce(sql: pg.Client, byTerminal: Record<string, string[]>) {
  const rows = (
    await sql.query<{ payment_id: string; terminal_id: string }>(
      "SELECT payment_id, terminal_id FROM host_records WHERE kind = 'payment'",
    )
  ).rows;
  const expected = Object.entries(byTerminal).flatMap(([t, ids]) => ids.map((id) => `${t}:${id}`));
  expect(rows.map((r) => `${r.terminal_id}:${r.payment_id}`).sort()).toEqual(expected.sort());
  expect(new Set(expected).size).toBe(expected.length);
}

/** The host's books: postings sum to zero, each card balance is its postings' sum, none negative. */
async function expectBooksBalanced(sql: pg.Client) {
  const r = (
    await sql.query(`
      SELECT (SELECT COALESCE(SUM(amount_fen), 0) FROM host_postings)::bigint AS total,
             (SELECT count(*) FROM host_accounts a WHERE card_id IS NOT NULL AND balance_fen <>
                (SELECT COALESCE(SUM(amount_fen), 0) FROM host_postings p WHERE p.account_id = a.account_id))::int AS bad,
             (SELECT count(*) FROM host_accounts WHERE balance_fen < 0)::int AS negative`)
  ).rows[0];
  expect({ total: Number(r.total), bad: r.bad, negative: r.negative }).toEqual({
    total: 0,
    bad: 0,
    negative: 0,
  });
}

/** The medical money that left the card's accounts plus what the centre advanced = what was paid. */
async function medicalFlows(sql: pg.Client) {
  const r = (
    await sql.query(`
      SELECT COALESCE(SUM(medical_current_fen + medical_prior_fen), 0)::bigint AS paid,
             COALESCE(SUM(advanced_fen), 0)::bigint AS advanced,
             (SELECT COALESCE(SUM(balance_fen), 0) FROM host_accounts WHERE kind IN ('medical_current', 'medical_prior'))::bigint AS left
      FROM host_records WHERE kind = 'payment'`)
  ).rows[0];
  return { paid: Number(r.paid), advanced: Number(r.advanced), left: Number(r.left) };
}

const TERMINALS = ['T_NORTH', 'T_SOUTH', 'T_EAST'];

describe('many terminals, one central host on PostgreSQL', { timeout: 120_000 }, () => {
  it('payments taken while the host is down all arrive once after it returns; each terminal and the chain reconcile', async () => {
    const w = await world('down');
    // Host down (never started): every gen 3 medical payment is taken offline at the till.
    const paid = await Promise.all(
      TERMINALS.map(
        (t) => terminal<PayResult>('pay', { ...w.terminalArgs(t), count: 6, amount: 1_500 }).done,
      ),
    );
    for (const p of paid) expect(p).toMatchObject({ approved: 6, offline: 6, online: 0, declined: 0 });

    await w.start();
    const synced = await Promise.all(
      TERMINALS.map((t) => terminal<SyncResult>('sync', w.terminalArgs(t)).done),
    );
    for (const s of synced) expect(s).toMatchObject({ sent: 6, pending: 0 });
    // A second sync sends nothing again.
    const again = await Promise.all(
      TERMINALS.map((t) => terminal<SyncResult>('sync', w.terminalArgs(t)).done),
    );
    for (const s of again) expect(s).toMatchObject({ sent: 0, pending: 0 });

    await expectExactlyOnce(w.sql, Object.fromEntries(TERMINALS.map((t, i) => [t, paid[i]!.paymentIds])));
    await expectBooksBalanced(w.sql);
    expect(await medicalFlows(w.sql)).toEqual({ paid: 27_000, advanced: 0, left: OPENING_MEDICAL - 27_000 });

    const rec = await Promise.all(
      TERMINALS.map((t) => terminal<ReconcileResult>('reconcile', w.terminalArgs(t)).done),
    );
    for (const r of rec)
      expect(r).toMatchObject({
        agree: true,
        mismatches: [],
        terminalTotalFen: 9_000,
        hostTotalFen: 9_000,
        pending: 0,
      });

    const status = await w.status();
    expect(
      status.terminals.map((t) => [t.terminalId, t.reconciliation, t.queueDepth, t.payments, t.netFen]),
    ).toEqual([...TERMINALS].sort().map((t) => [t, 'agree', 0, 6, 9_000]));
    for (const t of status.terminals) {
      expect(t.lastSync).not.toBeNull();
      expect(t.lastSeen).not.toBeNull();
    }
    // The chain: the host's total is the sum of what every terminal booked.
    expect(status.chain).toMatchObject({
      terminals: 3,
      cards: 1,
      payments: 18,
      netFen: rec.reduce((s, r) => s + r.terminalTotalFen, 0),
      queueDepth: 0,
      allReconciled: true,
      booksBalanced: true,
    });

    // The operator's view of the same.
    const cli = await sscard(['host', 'status', '--url', w.url]);
    expect(cli.code, cli.stderr).toBe(0);
    for (const t of TERMINALS) expect(cli.stdout).toMatch(new RegExp(`${t}\\s.*agree`));
    expect(cli.stdout).toMatch(
      /Chain: 3 terminal\(s\), 1 card\(s\), 18 payment\(s\), net ¥270\.00.*every terminal reconciled.*balanced/,
    );
  });

  it('the host SIGKILLed mid-batch and restarted loses and doubles nothing', async () => {
    const w = await world('kill');
    const perTerminal = 30;
    const paid = await Promise.all(
      TERMINALS.map(
        (t) => terminal<PayResult>('pay', { ...w.terminalArgs(t), count: perTerminal, amount: 1_200 }).done,
      ),
    );
    for (const p of paid) expect(p.offline).toBe(perTerminal);
    const total = perTerminal * TERMINALS.length;

    await w.start();
    // Small batches (and T_EAST one by one): many host transactions, so the kill lands mid-stream.
    const syncs = TERMINALS.map(
      (t) => terminal<SyncResult>('sync', { ...w.terminalArgs(t), batch: t === 'T_EAST' ? 1 : 4 }).done,
    );
    // Kill the host as soon as part of the batch has been applied.
    const until = Date.now() + 30_000;
    while ((await w.count()) < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await w.kill();
    const atKill = await w.count();
    expect(atKill).toBeGreaterThanOrEqual(5);
    expect(atKill, 'the whole batch was applied before the kill: the test proves nothing').toBeLessThan(
      total,
    );
    await new Promise((r) => setTimeout(r, 300));
    await w.start();
    const synced = await Promise.all(syncs);
    for (const s of synced) expect(s.pending).toBe(0);

    expect(await w.count()).toBe(total);
    await expectExactlyOnce(w.sql, Object.fromEntries(TERMINALS.map((t, i) => [t, paid[i]!.paymentIds])));
    await expectBooksBalanced(w.sql);
    // Each terminal split against its own balance list: together they spent more than the card
    // held, and the centre advanced exactly the difference.
    const flows = await medicalFlows(w.sql);
    expect(flows.paid).toBe(total * 1_200);
    expect(flows.paid - flows.advanced).toBe(OPENING_MEDICAL - flows.left);
    const rec = await Promise.all(
      TERMINALS.map((t) => terminal<ReconcileResult>('reconcile', w.terminalArgs(t)).done),
    );
    for (const r of rec) expect(r).toMatchObject({ agree: true, pending: 0 });
    expect((await w.status()).chain).toMatchObject({
      payments: total,
      allReconciled: true,
      booksBalanced: true,
    });
  });

  it('R4: two terminals paying from the same card at once never overdraw 95000/95001', async () => {
    const w = await world('race');
    await w.start(['--shortfall', 'decline']);
    const amount = 5_000;
    const each = 12; // 2 × 12 × 50.00 yuan > 980.50 yuan on the card
    const [a, b] = await Promise.all(
      ['T_A', 'T_B'].map(
        (t) => terminal<PayResult>('pay', { ...w.terminalArgs(t), count: each, amount }).done,
      ),
    );
    const fits = Math.floor(OPENING_MEDICAL / amount); // 19
    expect(a!.online + b!.online).toBe(fits);
    expect(a!.offline + b!.offline).toBe(0);
    expect(a!.declined + b!.declined).toBe(2 * each - fits);
    // Both terminals got some: they really ran at the same time against the same card.
    expect(a!.approved).toBeGreaterThan(0);
    expect(b!.approved).toBeGreaterThan(0);
    expect(await medicalFlows(w.sql)).toEqual({
      paid: fits * amount,
      advanced: 0,
      left: OPENING_MEDICAL - fits * amount,
    });
    await expectBooksBalanced(w.sql);
    const rec = await Promise.all(
      ['T_A', 'T_B'].map((t) => terminal<ReconcileResult>('reconcile', w.terminalArgs(t)).done),
    );
    for (const r of rec) expect(r.agree).toBe(true);
  });

  it('a payment the host holds and a terminal never booked shows as that terminal’s mismatch, and the chain as not reconciled', async () => {
    const w = await world('mismatch');
    await w.start();
    await terminal<PayResult>('pay', { ...w.terminalArgs('T_ONE'), count: 2, amount: 800 }).done;
    await terminal<PayResult>('pay', { ...w.terminalArgs('T_TWO'), count: 1, amount: 800 }).done;
    // Someone with T_TWO's credential applies a payment at the host that T_TWO never took.
    const client = new HttpHost({ url: w.url, timeoutMs: 10_000, credential: w.credential('T_TWO') });
    await client.pay({
      paymentId: 'ROGUE-1',
      terminalId: 'T_TWO',
      merchantId: 'M_CHAIN_01',
      cardId: (await w.sql.query('SELECT card_id FROM host_cards')).rows[0].card_id as string,
      method: 'medical',
      amountFen: 100,
      split: { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 },
      createdAt: new Date().toISOString(),
      mode: 'online',
    });
    client.close();
    const [one, two] = await Promise.all(
      ['T_ONE', 'T_TWO'].map((t) => terminal<ReconcileResult>('reconcile', w.terminalArgs(t)).done),
    );
    expect(one!.agree).toBe(true);
    expect(two!.agree).toBe(false);
    expect(two!.mismatches).toEqual([
      expect.objectContaining({ paymentId: 'ROGUE-1', kind: 'missing-at-terminal' }),
    ]);
    const status = await w.status();
    expect(status.terminals.map((t) => [t.terminalId, t.reconciliation, t.mismatches])).toEqual([
      ['T_ONE', 'agree', 0],
      ['T_TWO', 'mismatch', 1],
    ]);
    expect(status.chain).toMatchObject({ allReconciled: false, booksBalanced: true });
    const json = await sscard(['host', 'status', '--url', w.url, '--json']);
    expect(JSON.parse(json.stdout).chain.allReconciled).toBe(false);
  });
});
