import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start`'s browser host (scripts/start.mjs --web, which is also what it falls back to
 * without the Electron binary): the embedded defaults, and the same host choice as the desktop
 * app (SSCARD_HOST_URL, SSCARD_TERMINAL_ID), named in its start-up line.
 */
const START = fileURLToPath(new URL('../scripts/start.mjs', import.meta.url));
const WEB_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sscard-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [START, '--web', '--port', '0'], {
      env: { ...process.env, SSCARD_DB: join(dir, 'ledger.db'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      // Up and serving: stop it the way a user does.
      if (/^ledger: .*Ctrl-C stops$/m.test(out)) child.kill('SIGINT');
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('npm start (browser host)', () => {
  it('runs on the embedded defaults: the ledger file, the in-process host, till T0001', async () => {
    const r = await start({ SSCARD_HOST_URL: '', SSCARD_TERMINAL_ID: '' });
    expect(r.out).toMatch(/open http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+/);
    expect(r.out).toContain(
      `ledger: ${join(dir, 'ledger.db')} · till T0001 · in-process host (no central host) · loopback only`,
    );
    expect(r.code).toBe(0);
  }, 70_000);

  it('takes the chain settings from the environment, and refuses a malformed one (exit 64)', async () => {
    const chain = await start({ SSCARD_HOST_URL: 'http://127.0.0.1:7400', SSCARD_TERMINAL_ID: 'SHOP4' });
    expect(chain.out).toContain('till SHOP4 · central host http://127.0.0.1:7400');
    const bad = await start({ SSCARD_TERMINAL_ID: 'shop 4' });
    expect(bad.code).toBe(64);
    expect(bad.err).toMatch(/SSCARD_TERMINAL_ID must be 1–32 letters/);
  }, 70_000);

  it('npm run web on an empty home folder creates its ledger in ~/.local/share/sscard-lab', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sscard-home-'));
    try {
      const env: Record<string, string | undefined> = { ...process.env, HOME: home };
      delete env.SSCARD_DB;
      delete env.XDG_DATA_HOME;
      const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', WEB_MAIN, '--port', '0'], {
          env,
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (/^ledger: .*Ctrl-C stops$/m.test(out)) child.kill('SIGINT');
        });
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('error', reject);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, out, err });
        });
      });
      const ledger = join(home, '.local', 'share', 'sscard-lab', 'sscard.db');
      expect(r.err).toBe('');
      expect(r.out).toContain(`ledger: ${ledger} ·`);
      expect(existsSync(ledger)).toBe(true);
      expect(r.code).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 70_000);
});
