import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { buildDriver } from '../../../scripts/build-driver.mjs';

/**
 * What the reader-interface tests drive the product with: the native library (built if
 * missing), the two native clients (a C program linked against it, and Python ctypes loading
 * it), and `sscard driver serve` as a child process on a free port.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const HERE = dirname(fileURLToPath(import.meta.url));
const SSCARD = join(ROOT, 'bin', 'sscard.mjs');
const HEADER_DIR = join(ROOT, 'native', 'sscard-driver');
const CLIENT_DIR = join(ROOT, 'build', 'test-clients');

/** build/libSSCardDriver.so, compiled from native/sscard-driver/ when missing or stale. */
export function driverLibrary(): string {
  return buildDriver({ quiet: true });
}

/** Compiles a C program against build/libSSCardDriver.so (as a HIS links it); returns the executable. */
export function compileAgainstDriver(source: string, name: string): string {
  const lib = driverLibrary();
  mkdirSync(CLIENT_DIR, { recursive: true });
  const exe = join(CLIENT_DIR, name);
  let fresh: boolean;
  try {
    const t = statSync(exe).mtimeMs;
    fresh = t > statSync(source).mtimeMs && t > statSync(lib).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) {
    const r = spawnSync(
      process.env.CC || 'cc',
      [
        '-std=c11',
        '-Wall',
        '-Werror',
        '-I',
        HEADER_DIR,
        '-o',
        `${exe}.${process.pid}.tmp`,
        source,
        '-L',
        dirname(lib),
        '-lSSCardDriver',
        `-Wl,-rpath,${dirname(lib)}`,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`cc failed on ${source}:\n${r.stderr}${r.error?.message ?? ''}`);
    // Renamed into place: test files compiling it at the same time never run half a file.
    renameSync(`${exe}.${process.pid}.tmp`, exe);
  }
  return exe;
}

export type ClientKind = 'c' | 'python';

/** One answer of the library: the return code and its outputs, decoded from GBK. */
export interface DriverAnswer {
  code: number;
  out: string;
  out2?: string;
  /** The output's bytes as the library wrote them. */
  raw: Buffer;
}

/** An argument: a number (int parameter) or a string (sent in GBK, as a HIS holds it). */
export type DriverArg = number | string | Buffer;

/**
 * A native client process (C or Python ctypes) that keeps one library instance for all its
 * calls, as a HIS does.
 */
export class DriverClient {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(kind: ClientKind, env: Record<string, string>) {
    const lib = driverLibrary();
    const [cmd, args] =
      kind === 'c'
        ? [compileAgainstDriver(join(HERE, 'driver-client.c'), 'driver-client'), []]
        : ['python3', [join(HERE, 'driver_client.py'), lib]];
    this.child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on('line', (l) => this.waiting.shift()?.(l));
  }

  /** Calls one function; strings are passed GBK-encoded, Buffers as they are. */
  call(fn: string, ...args: DriverArg[]): Promise<DriverAnswer> {
    const words = args.map((a) =>
      typeof a === 'number'
        ? String(a)
        : Buffer.isBuffer(a)
          ? a.toString('hex') || '-'
          : a === ''
            ? '-'
            : iconv.encode(a, 'gbk').toString('hex'),
    );
    return new Promise((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${fn}: no answer from the client in 60 s\n${this.stderr}`)),
        60_000,
      );
      this.waiting.push((line) => {
        clearTimeout(timer);
        const [code, o1, o2] = line.split(' ');
        const bytes = (h: string | undefined) =>
          h === undefined || h === '-' ? Buffer.alloc(0) : Buffer.from(h, 'hex');
        const raw = bytes(o1);
        ok({
          code: Number(code),
          out: iconv.decode(raw, 'gbk'),
          ...(o2 !== undefined ? { out2: iconv.decode(bytes(o2), 'gbk') } : {}),
          raw,
        });
      });
      this.child.stdin!.write(`${fn} ${words.join(' ')}\n`);
    });
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    if (this.child.exitCode === null) await new Promise((r) => this.child.once('exit', r));
  }
}

export interface ServiceProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  output(): string;
  /** SIGINT (Ctrl-C); resolves with the exit code. */
  stop(): Promise<number | null>;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((ok) => child.once('exit', (code) => ok(code)));
}

/** Starts `sscard driver serve <args> --listen 127.0.0.1:0`; resolves once it has printed its banner (URL last). */
export async function startService(
  args: string[],
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [SSCARD, 'driver', 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the service did not start within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = /SSCARD_DRIVER_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        ok(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the service exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/',
    child,
    output: () => out,
    async stop() {
      child.kill('SIGINT');
      return exited(child);
    },
  };
}

/** POSTs JSON to the service; returns the status and the parsed answer. */
export async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
