import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real processes for the central-host tests and benchmark: the host (`sscard host serve`) and
 * terminals (terminal-process.ts), each a `node --import tsx` child. The host can be SIGKILLed
 * and started again on the same port.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SSCARD = join(ROOT, 'bin/sscard.mjs');
const TERMINAL = join(ROOT, 'e2e/central-host/terminal-process.ts');

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

export function tempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `sscard-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface HostProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGKILL: no clean shutdown, in-flight requests are cut. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  output(): string;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((ok) => child.once('exit', (code) => ok(code)));
}

/** Starts `sscard host serve` and resolves once it prints its URL. */
export async function startHost(pgUrl: string, port: number, extra: string[] = []): Promise<HostProcess> {
  const child = spawn(
    process.execPath,
    [SSCARD, 'host', 'serve', '--pg', pgUrl, '--listen', `127.0.0.1:${port}`, ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`host did not start within 30 s:\n${out}`)), 30_000);
    const check = () => {
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        ok();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`host exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      return exited(child);
    },
    output: () => out,
  };
}

export interface TerminalRun<T> {
  readonly done: Promise<T>;
  readonly child: ChildProcess;
}

/** Runs one terminal-process.ts command; resolves with its JSON answer (rejects on failure). */
export function terminal<T = Record<string, unknown>>(
  command: 'pay' | 'sync' | 'reconcile',
  args: { db: string; hostUrl: string; terminal: string } & Record<string, string | number>,
): TerminalRun<T> {
  const flags = Object.entries(args).flatMap(([k, v]) => [
    `--${k === 'hostUrl' ? 'host-url' : k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`,
    String(v),
  ]);
  const child = spawn(process.execPath, ['--import', 'tsx', TERMINAL, command, ...flags], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<T>((ok, fail) => {
    child.once('exit', (code) => {
      if (code !== 0)
        return fail(new Error(`terminal ${args.terminal} ${command} exited ${code}:\n${err}${out}`));
      try {
        ok(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch {
        fail(new Error(`terminal ${args.terminal} ${command} printed no JSON:\n${out}${err}`));
      }
    });
  });
  return { done, child };
}

/** Runs the CLI once and collects its output. */
export function sscard(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SSCARD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok) => child.once('exit', (code) => ok({ code, stdout, stderr })));
}
