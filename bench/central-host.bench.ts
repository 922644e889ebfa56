/**
 * Forwarded payments per second from 8 terminals into the central host (docs/central-host.md):
 * 8 terminal processes, each on its own SQLite file, take N gen 3 payments offline while the
 * host is down, then forward them all at once (starting together) over HTTP to
 * `sscard host serve` on PostgreSQL — in forward-batch requests (the host learns each card
 * from its till first), each batch one host transaction (cards' rows locked, every payment
 * decided in order, records, legs, postings and balances written set-based), every payment
 * applied once; the tills book the host's confirmations in durable groups (synchronous=FULL).
 * Next to a baseline measured in the same
 * run on the same PostgreSQL: 8 clients doing plain single-row INSERTs (autocommit) of
 * comparable rows. Prints both rates and their ratio (target ≥ 0.3).
 *
 * PostgreSQL: SSCARD_PG_URL (a server where databases may be created), else a private cluster
 * started for the run with PostgreSQL's durable defaults (fsync and synchronous_commit on, as
 * a settlement host must run); the settings are printed with the figures. Run:
 *   node --import tsx bench/central-host.bench.ts        (BENCH_CENTRAL_N=150 per terminal)
 */
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../core/db/pg-migrate.ts';
import { enrolTerminal } from '../core/host/server/terminal-auth.ts';
import { formatCredential } from '../core/host/terminal-keys.ts';
import { startPrivateCluster, withDatabase } from '../test/harness/host/pg-test-support.ts';
import { freePort, startHost, tempDir, terminal } from '../e2e/central-host/support.ts';

const TERMINALS = 8;
const N = Number(process.env.BENCH_CENTRAL_N ?? 150);
if (!Number.isSafeInteger(N) || N < 1)
  throw new Error(`BENCH_CENTRAL_N must be a positive integer, got ${N}`);

interface SyncResult {
  sent: number;
  pending: number;
  startedAt: number;
  endedAt: number;
}

const ids = Array.from({ length: TERMINALS }, (_, i) => `BENCH${String(i + 1).padStart(2, '0')}`);

async function baseline(url: string, perClient: number): Promise<number> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  // Comparable rows: the columns of a host record, one row per payment.
  await setup.query(`CREATE TABLE bench_inserts (
    payment_id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, merchant_id TEXT NOT NULL, card_id TEXT NOT NULL,
    method TEXT NOT NULL, amount_fen BIGINT NOT NULL, medical_current_fen BIGINT NOT NULL,
    medical_prior_fen BIGINT NOT NULL, reserve_fen BIGINT NOT NULL, self_pay_fen BIGINT NOT NULL,
    created_at TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const clients = await Promise.all(
    ids.map(async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const start = performance.now();
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = 0; i < perClient; i++) {
        const now = new Date().toISOString();
        await c.query(
          `INSERT INTO bench_inserts VALUES ($1, $2, 'M_CHAIN_01', 'C44010048', 'medical', 1000, 1000, 0, 0, 0, $3, $3)`,
          [`${ids[k]}-${i}`, ids[k], now],
        );
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const n = Number((await setup.query('SELECT count(*) AS n FROM bench_inserts')).rows[0].n);
  if (n !== perClient * TERMINALS)
    throw new Error(`baseline inserted ${n} rows, not ${perClient * TERMINALS}`);
  await Promise.all(clients.map((c) => c.end()));
  await setup.end();
  return n / seconds;
}

async function database(): Promise<{ url: string; settings: string; drop(): Promise<void> }> {
  const cluster = process.env.SSCARD_PG_URL ? null : await startPrivateCluster({ durable: true });
  const server = process.env.SSCARD_PG_URL ?? cluster!.url;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  const name = `sscard_bench_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const settings = (
    await admin.query(
      "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) AS s FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version')",
    )
  ).rows[0].s as string;
  await admin.end();
  return {
    url: withDatabase(server, name),
    settings,
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      cluster?.stop();
    },
  };
}

async function main() {
  const db = await database();
  const tmp = tempDir('bench-central');
  const port = await freePort();
  const hostUrl = `http://127.0.0.1:${port}`;
  // Each terminal enrolled at the host before it first starts; the credential kept by the till.
  const enrolPool = new pg.Pool({ connectionString: db.url, max: 1 });
  const credentials = new Map<string, string>();
  try {
    await migrate(enrolPool);
    for (const id of ids) credentials.set(id, formatCredential(await enrolTerminal(enrolPool, id)));
  } finally {
    await enrolPool.end();
  }
  try {
    process.stdout.write(
      `Taking ${N} offline payments at each of ${TERMINALS} terminals (host down; not timed)…\n`,
    );
    await Promise.all(
      ids.map(
        (id, i) =>
          terminal('pay', {
            db: join(tmp.dir, `${id}.db`),
            hostUrl,
            hostToken: credentials.get(id)!,
            terminal: id,
            count: N,
            amount: 10,
            // One card per terminal, as at the tills of a chain (the same card at every till
            // would serialise every forward on that card's row lock).
            cardNumber: `B${String(i + 1).padStart(7, '0')}`,
          }).done,
      ),
    );
    const host = await startHost(db.url, port);
    let forwarded: number;
    let seconds: number;
    try {
      // All terminals start forwarding at the same instant, once their processes are up.
      const startAt = Date.now() + 5_000;
      const results = await Promise.all(
        ids.map(
          (id) =>
            terminal<SyncResult>('sync', {
              db: join(tmp.dir, `${id}.db`),
              hostUrl,
              hostToken: credentials.get(id)!,
              terminal: id,
              startAt,
              deadlineMs: 600_000,
            }).done,
        ),
      );
      const late = Math.min(...results.map((r) => r.startedAt)) - startAt;
      if (late > 500)
        process.stdout.write(`note: terminals started forwarding ${late} ms late (machine busy)\n`);
      forwarded = results.reduce((s, r) => s + r.sent, 0);
      if (forwarded !== N * TERMINALS || results.some((r) => r.pending !== 0)) {
        throw new Error(`forwarded ${forwarded} of ${N * TERMINALS}`);
      }
      seconds =
        (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
    } finally {
      await host.stop();
    }
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const applied = Number(
      (await sql.query("SELECT count(DISTINCT payment_id) AS n FROM host_records WHERE kind = 'payment'"))
        .rows[0].n,
    );
    await sql.end();
    if (applied !== N * TERMINALS)
      throw new Error(`the host holds ${applied} payments, not ${N * TERMINALS}`);
    const central = forwarded / seconds;

    process.stdout.write(
      `Baseline: ${N} plain INSERTs from each of ${TERMINALS} clients into the same PostgreSQL…\n`,
    );
    const plain = await baseline(db.url, N);

    process.stdout.write(
      [
        '',
        `central host, forwarded payments (${TERMINALS} terminal processes × ${N}, HTTP batches, each payment applied once):`,
        `  ${central.toFixed(0)} payments/s`,
        `baseline, plain single-row INSERTs (${TERMINALS} clients × ${N}, same PostgreSQL, same run):`,
        `  ${plain.toFixed(0)} rows/s`,
        `ratio forwarded / plain inserts: ${(central / plain).toFixed(2)}  (target ≥ 0.30)`,
        `PostgreSQL: ${db.settings}`,
        '',
      ].join('\n'),
    );
  } finally {
    tmp.remove();
    await db.drop().catch(() => undefined);
  }
}

await main();
