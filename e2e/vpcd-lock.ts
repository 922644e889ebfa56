import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The two vpcd slots are one pair of readers for the whole machine: test files that serve
 * cards into them take turns (Vitest runs files in parallel processes). A lock directory
 * holding the owner's pid; a lock whose owner has died is taken over.
 */
const LOCK = join(tmpdir(), 'sscard-vpcd-slots.lock');

function ownerAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    if (!pid) return true; // being written: assume alive
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockVpcdSlots(timeoutMs = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!ownerAlive()) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error('the vpcd slots stayed busy (another test file holds them)', { cause: e });
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
}
