import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openCardStore } from '../core/ledger/card-store.ts';
import { resolveCard } from '../core/card/wallet.ts';

/**
 * Issue 16's reproduction, end to end: six `sscard pay` processes started together with wrong
 * PINs on one --db and one card. Each used to load the card's counter at open and write back
 * its own absolute value: all six answered "还可尝试 2 次" and the right PIN then paid. Now the
 * card counts them on the stored counter (core/ledger/card-store.concurrency.test.ts holds the
 * deterministic proof, every process opened before any guess): exactly three are evaluated —
 * 2 tries left, 1 left, then blocked — the others find it blocked, and the right PIN is refused.
 */
const BIN = fileURLToPath(new URL('../bin/sscard.mjs', import.meta.url));
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function pay(
  db: string,
  pin: string,
): Promise<{ code: number; out: { code?: string; message?: string } }> {
  try {
    const r = await run(process.execPath, [
      BIN,
      'pay',
      '--card',
      'gen3-active',
      '--amount',
      '1',
      '--pin',
      pin,
      '--db',
      db,
      '--json',
    ]);
    return { code: 0, out: JSON.parse(r.stdout) };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    if (!err.stdout) throw new Error(`sscard pay failed: ${err.stderr}`, { cause: e });
    return { code: err.code, out: JSON.parse(err.stdout) };
  }
}

describe('R1.3 six sscard pay processes with wrong PINs on one ledger', () => {
  it('evaluate three guesses between them; then the right PIN is refused (blocked)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sscard-pay-race-'));
    dirs.push(dir);
    const db = join(dir, 'till.db');
    const results = await Promise.all(
      ['111111', '222222', '333333', '444444', '555555', '666666'].map((pin) => pay(db, pin)),
    );
    expect(
      results.every((r) => r.code === 2),
      JSON.stringify(results),
    ).toBe(true);
    const messages = results.map((r) => r.out.message ?? '').sort();
    expect(
      messages.filter((m) => m === '密码错误，还可尝试 2 次'),
      JSON.stringify(messages),
    ).toHaveLength(1);
    expect(
      messages.filter((m) => m === '密码错误，还可尝试 1 次'),
      JSON.stringify(messages),
    ).toHaveLength(1);
    expect(results.filter((r) => r.out.code === 'PIN_BLOCKED')).toHaveLength(4);

    const right = await pay(db, resolveCard('gen3-active').profile.pin);
    expect(right.code).toBe(2);
    expect(right.out.code).toBe('PIN_BLOCKED');
    const store = openCardStore(db);
    expect(store.security(resolveCard('gen3-active').profile.card.number).pinTriesLeft).toBe(0);
    store.close();
  }, 120_000);
});
