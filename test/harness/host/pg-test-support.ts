import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Test helper: a fresh PostgreSQL database per test file, so files run in parallel.
 *
 * With SSCARD_PG_URL set (CI: .ci/run starts one server and exports it) the database is created
 * on that server. Otherwise a private cluster is started once per process in a temp folder
 * (initdb + pg_ctl as the `postgres` system user when running as root, trust auth, a free
 * port on 127.0.0.1, its unix socket in the temp folder) and removed at exit.
 * Not used by the host itself.
 */

/** The server binaries: $SSCARD_PG_BIN, else the newest Debian/Ubuntu /usr/lib/postgresql/<major>/bin. */
export const PG_BIN = process.env.SSCARD_PG_BIN ?? newestDebianPgBin();

function newestDebianPgBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'initdb')))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  return join(root, String(majors[0] ?? 15), 'bin');
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database (after closing what uses it). */
  drop(): Promise<void>;
}

export interface PrivateCluster {
  readonly url: string;
  readonly dir: string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs a server binary, as the postgres user when we are root (PostgreSQL refuses root). */
function asPostgres(bin: string, args: string[]): void {
  const path = join(PG_BIN, bin);
  const root = process.getuid?.() === 0;
  const r = root
    ? spawnSync('runuser', ['-u', 'postgres', '--', path, ...args], { encoding: 'utf8' })
    : spawnSync(path, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `${bin} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${r.error?.message ?? ''}${r.stderr}${r.stdout}`,
    );
  }
}

/**
 * Starts a throw-away cluster (initdb + pg_ctl) in a temp folder; stop() removes it. Tests run
 * it with fsync off (speed; the data is thrown away); `durable` keeps PostgreSQL's defaults
 * (fsync, synchronous_commit on), as a settlement host runs (the benchmark).
 */
export async function startPrivateCluster(options: { durable?: boolean } = {}): Promise<PrivateCluster> {
  if (!existsSync(join(PG_BIN, 'initdb'))) {
    throw new Error(
      `PostgreSQL server binaries not found in ${PG_BIN}: install the 'postgresql' package ` +
        '(scripts/setup.sh does) or set SSCARD_PG_URL to a server the tests may create databases on',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'sscard-pg-'));
  const root = process.getuid?.() === 0;
  if (root) {
    const pwuid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const pwgid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pwuid.stdout.trim()), Number(pwgid.stdout.trim()));
  }
  const data = join(dir, 'data');
  asPostgres('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
    '--no-locale',
  ]);
  let lastError: unknown = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      asPostgres('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200` +
          (options.durable ? '' : ' -c fsync=off -c full_page_writes=off'),
        'start',
      ]);
      const stop = () => {
        try {
          asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // already stopped
        }
        rmSync(dir, { recursive: true, force: true });
      };
      return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, dir, stop };
    } catch (e) {
      lastError = e; // the port was taken meanwhile: try another
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

let cluster: Promise<PrivateCluster> | null = null;

/** The server to create test databases on: SSCARD_PG_URL, or this process's private cluster. */
export async function testServerUrl(): Promise<string> {
  const env = process.env.SSCARD_PG_URL;
  if (env) return env;
  if (!cluster) {
    cluster = startPrivateCluster();
    const c = await cluster;
    process.once('exit', () => c.stop());
  }
  return (await cluster).url;
}

/** Stops this process's private cluster, if it started one (call in afterAll). */
export async function releaseTestServer(): Promise<void> {
  const c = cluster;
  cluster = null;
  if (c) (await c).stop();
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates a fresh, uniquely named database for one test file. */
export async function freshDatabase(label = 'test'): Promise<TestDatabase> {
  const server = await testServerUrl();
  const name = `sscard_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(server, name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
