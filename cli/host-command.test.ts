import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { HttpHost } from '../core/host/http-host.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, releaseTestServer } from '../test/harness/host/pg-test-support.ts';
import { PG_MIGRATIONS } from '../core/db/pg-migrations/index.ts';
import { freePort } from '../e2e/central-host/support.ts';
import { run } from './main.ts';
import type { CliIo } from './io.ts';
import { parseListen } from './host-command.ts';
import { cli } from './run-for-test.ts';

/** sscard host serve / status: the operator's view of the central host (docs/central-host.md). */

afterAll(() => releaseTestServer());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  return { io, out, err };
}

describe('sscard host', () => {
  it('serve migrates, prints the URL, answers status, and stops cleanly', async () => {
    const db = await freshDatabase('cli');
    const port = await freePort();
    const stop = new AbortController();
    const c = capture();
    const serving = run(
      ['host', 'serve', '--pg', db.url, '--listen', `127.0.0.1:${port}`],
      c.io,
      stop.signal,
    );
    const until = Date.now() + 20_000;
    while (!c.out.some((l) => l.includes('listening')) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    const schemaVersion = PG_MIGRATIONS.at(-1)!.version;
    expect(c.out[0]).toMatch(
      new RegExp(
        `^Central host listening on http://127\\.0\\.0\\.1:${port} .*schema version ${schemaVersion}`,
      ),
    );

    const table = await cli('host', 'status', '--url', `http://127.0.0.1:${port}`);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/no terminal seen yet/);
    expect(table.out).toMatch(/Chain: 0 terminal\(s\), 0 card\(s\), 0 payment\(s\).*host books balanced/);
    const json = await cli('host', 'status', '--url', `http://127.0.0.1:${port}`, '--json');
    expect(JSON.parse(json.out)).toMatchObject({
      terminals: [],
      schemaVersion,
      chain: { booksBalanced: true },
    });

    stop.abort();
    expect(await serving).toBe(0);
    expect(c.out.at(-1)).toBe('Central host stopped (abort).');
    // Stopped: status says the host cannot be reached, exit 1.
    const down = await cli('host', 'status', '--url', `http://127.0.0.1:${port}`);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(
      /central host at http:\/\/127\.0\.0\.1:\d+: host at .* unreachable \(ECONNREFUSED\)/,
    );
    await db.drop();
  });

  it('PostgreSQL unreachable is a clear message and exit 1; usage mistakes are exit 64', async () => {
    const port = await freePort();
    const r = await cli(
      'host',
      'serve',
      '--pg',
      `postgresql://sscard:pw@127.0.0.1:${port}/nowhere`,
      '--listen',
      '127.0.0.1:0',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /cannot reach PostgreSQL at postgresql:\/\/sscard:\*\*\*@127\.0\.0\.1:\d+\/nowhere/,
    );
    expect(r.err).not.toMatch(/:pw@/);
    expect((await cli('host', 'serve', '--pg', 'mysql://x', '--listen', '127.0.0.1:0')).code).toBe(64);
    expect((await cli('host', 'serve', '--pg', 'postgresql://x/y', '--listen', 'nope')).code).toBe(64);
    expect((await cli('host', 'frobnicate')).code).toBe(64);
    expect((await cli('host', 'status', '--url', 'ftp://x')).code).toBe(64);
  });

  it('two tills by the CLI, each with its own --terminal-id, forward to one host: status lists both', async () => {
    const db = await freshDatabase('cli-tills');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stop = new AbortController();
    const c = capture();
    const serving = run(
      ['host', 'serve', '--pg', db.url, '--listen', `127.0.0.1:${port}`],
      c.io,
      stop.signal,
    );
    const until = Date.now() + 20_000;
    while (!c.out.some((l) => l.includes('listening')) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    const dir = mkdtempSync(join(tmpdir(), 'sscard-cli-tills-'));
    try {
      // Each till enrolled at the host by the operator; its credential kept by the till.
      const credentials = new Map<string, string>();
      for (const id of ['SHOP1', 'SHOP2']) {
        const enrolled = await cli('host', 'enrol', '--pg', db.url, '--terminal-id', id);
        expect(enrolled.code, enrolled.err).toBe(0);
        credentials.set(id, /sscard-terminal:\S+/.exec(enrolled.out)![0]);
      }
      const till = (id: string, ...args: string[]) =>
        cli(
          ...args,
          '--db',
          join(dir, `${id}.db`),
          '--host-url',
          url,
          '--terminal-id',
          id,
          ...(credentials.has(id) ? ['--host-token', credentials.get(id)!] : []),
        );
      const a = await till('SHOP1', 'pay', '--card', 'gen3-active', '--amount', '12.50', '--pin', '258014');
      expect(a.code).toBe(0);
      expect(a.out).toMatch(/终端编号\s+SHOP1/);
      const b = await till('SHOP2', 'pay', '--card', 'gen3-hong-kong', '--amount', '3.00', '--pin', '375168');
      expect(b.code).toBe(0);
      for (const id of ['SHOP1', 'SHOP2']) expect((await till(id, 'reconcile')).code).toBe(0);
      const status = JSON.parse((await cli('host', 'status', '--url', url, '--json')).out) as {
        terminals: { terminalId: string }[];
      };
      expect(status.terminals.map((t) => t.terminalId).sort()).toEqual(['SHOP1', 'SHOP2']);
      const bad = await till('no spaces', 'sync');
      expect(bad.code).toBe(64);
      expect(bad.err).toMatch(/--terminal-id must be 1–32 letters/);
    } finally {
      stop.abort();
      await serving;
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('host enrol prints a credential once, refuses a second enrolment without --replace; revoke and terminals', async () => {
    const db = await freshDatabase('cli-enrol');
    const dir = mkdtempSync(join(tmpdir(), 'sscard-cli-enrol-'));
    try {
      const first = await cli('host', 'enrol', '--pg', db.url, '--terminal-id', 'T9');
      expect(first.code, first.err).toBe(0);
      expect(first.out).toMatch(/^sscard-terminal:T9:3des:[0-9a-f]{32}$/m);
      const again = await cli('host', 'enrol', '--pg', db.url, '--terminal-id', 'T9');
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/enrolled already.*--replace/);
      const file = join(dir, 't9.key');
      const replaced = await cli(
        'host',
        'enrol',
        '--pg',
        db.url,
        '--terminal-id',
        'T9',
        '--alg',
        'sm4',
        '--replace',
        '--out',
        file,
      );
      expect(replaced.code, replaced.err).toBe(0);
      expect(replaced.out).not.toMatch(/sscard-terminal:/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^sscard-terminal:T9:sm4:[0-9a-f]{32}\n$/);
      const list = await cli('host', 'terminals', '--pg', db.url, '--json');
      expect(JSON.parse(list.out)).toEqual([
        expect.objectContaining({ terminalId: 'T9', alg: 'sm4', revokedAt: null }),
      ]);
      expect((await cli('host', 'revoke', '--pg', db.url, '--terminal-id', 'T9')).code).toBe(0);
      expect((await cli('host', 'terminals', '--pg', db.url)).out).toMatch(/T9 .*REVOKED/);
      const unknown = await cli('host', 'revoke', '--pg', db.url, '--terminal-id', 'NOPE');
      expect(unknown.code).toBe(1);
      expect(unknown.err).toMatch(/NOPE is not enrolled/);
      expect((await cli('host', 'enrol', '--pg', db.url, '--terminal-id', 'bad id')).code).toBe(64);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('host serve refuses to listen beyond loopback without an operator token; serves HTTPS with a self-signed pair it prints the fingerprint of', async () => {
    const db = await freshDatabase('cli-tls');
    const dir = mkdtempSync(join(tmpdir(), 'sscard-cli-tls-'));
    try {
      const open = await cli('host', 'serve', '--pg', db.url, '--listen', '0.0.0.0:0');
      expect(open.code).toBe(64);
      expect(open.err).toMatch(/beyond loopback.*--token/);
      const port = await freePort();
      const stop = new AbortController();
      const c = capture();
      const serving = run(
        ['host', 'serve', '--pg', db.url, '--listen', `127.0.0.1:${port}`, '--tls-dir', dir, '--token', 'op'],
        c.io,
        stop.signal,
      );
      const until = Date.now() + 20_000;
      while (!c.out.some((l) => l.includes('listening')) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      try {
        expect(c.out.join('\n')).toMatch(
          /self-signed, made now\), SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/,
        );
        expect(c.out.join('\n')).toMatch(new RegExp(`listening on https://127\\.0\\.0\\.1:${port}`));
        const client = new HttpHost({
          url: `https://127.0.0.1:${port}`,
          token: 'op',
          ca: readFileSync(join(dir, 'cert.pem')),
        });
        try {
          expect((await client.status()).terminals).toEqual([]);
        } finally {
          client.close();
        }
        // Without trusting the certificate, the till does not talk to it.
        const untrusted = new HttpHost({ url: `https://127.0.0.1:${port}`, token: 'op', timeoutMs: 5_000 });
        await expect(untrusted.status()).rejects.toMatchObject({ code: 'HOST_TIMEOUT' });
        untrusted.close();
      } finally {
        stop.abort();
        await serving;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('--listen accepts address:port, :port, port and [v6]:port', () => {
    expect(parseListen('0.0.0.0:7400')).toEqual({ host: '0.0.0.0', port: 7400 });
    expect(parseListen(':7401')).toEqual({ host: '127.0.0.1', port: 7401 });
    expect(parseListen('7402')).toEqual({ host: '127.0.0.1', port: 7402 });
    expect(parseListen('[::1]:7403')).toEqual({ host: '::1', port: 7403 });
    expect(() => parseListen('host:99999')).toThrow(/0–65535/);
  });
});
