import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { listPcscReaders } from '../device/pcsc.ts';

/**
 * Makes sure a pcscd with the vpcd readers is running for the PC/SC tests and benchmarks:
 * uses the system's when one answers, or starts one of our own in the foreground (stopped
 * again by the returned function).
 */
export interface PcscdStatus {
  ok: boolean;
  owned: boolean;
  reason: string;
}

const PCSCD_PATHS = ['/usr/sbin/pcscd', '/usr/bin/pcscd', '/sbin/pcscd'];

function vpcdReaders(): string[] | string {
  try {
    return listPcscReaders()
      .map((r) => r.name)
      .filter((n) => n.startsWith('Virtual PCD'));
  } catch (e) {
    return (e as Error).message;
  }
}

async function waitForVpcd(timeoutMs: number): Promise<string[] | string> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] | string = [];
  while (Date.now() < deadline) {
    last = vpcdReaders();
    if (Array.isArray(last) && last.length >= 2) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

export async function ensurePcscd(): Promise<{ status: PcscdStatus; stop: () => Promise<void> }> {
  const noop = async () => {};
  const existing = vpcdReaders();
  if (Array.isArray(existing) && existing.length >= 2) {
    return { status: { ok: true, owned: false, reason: 'a pcscd with vpcd readers is running' }, stop: noop };
  }
  if (Array.isArray(existing)) {
    return {
      status: {
        ok: false,
        owned: false,
        reason:
          'pcscd is running but shows no "Virtual PCD" readers: install vsmartcard-vpcd and restart pcscd',
      },
      stop: noop,
    };
  }
  const bin = PCSCD_PATHS.find((p) => existsSync(p));
  if (!bin) {
    return {
      status: {
        ok: false,
        owned: false,
        reason: 'pcscd is not installed: run bash scripts/setup.sh (apt: pcscd vsmartcard-vpcd)',
      },
      stop: noop,
    };
  }
  const child: ChildProcess = spawn(bin, ['--foreground', '--error'], { stdio: 'ignore' });
  let exited = false;
  child.on('exit', () => (exited = true));
  const readers = await waitForVpcd(10_000);
  if (!Array.isArray(readers) || readers.length < 2) {
    child.kill('SIGTERM');
    return {
      status: {
        ok: false,
        owned: false,
        reason: `started ${bin} but no vpcd readers appeared${exited ? ' (pcscd exited: it needs root to create /run/pcscd)' : ''}: ${String(readers)}`,
      },
      stop: noop,
    };
  }
  return {
    status: { ok: true, owned: true, reason: `started ${bin} (pid ${child.pid})` },
    stop: async () => {
      if (exited) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}
