import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CardInput, SecretHash } from '../../../core/ledger/ledger.ts';

/** Test helpers for core/ledger/*.test.ts (not used by the ledger itself). */

/** A fresh directory under the OS temp dir; call the returned cleanup once the dbs are closed. */
export function tempDir(): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-ledger-'));
  return {
    dir,
    file: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A clock that ticks one second per call, from a fixed instant. */
export function steppingClock(start = '2025-03-01T08:00:00.000Z'): () => Date {
  let t = Date.parse(start);
  return () => {
    const now = new Date(t);
    t += 1000;
    return now;
  };
}

/** A well-formed hash; computing real scrypt would only slow the tests down. */
export function fakeHash(tag = 'a'): SecretHash {
  return { alg: 'scrypt', n: 16384, r: 8, p: 1, salt: '0f'.repeat(16), hash: tag.repeat(64) };
}

export function sampleCard(cardId = 'A00000001', overrides: Partial<CardInput> = {}): CardInput {
  return {
    cardId,
    profileId: `card-${cardId.toLowerCase()}`,
    generation: 3,
    ssn: '11010519491231002X',
    holderName: '张三',
    pan: '6214830100000000017',
    status: 'active',
    profileJson: JSON.stringify({ id: `card-${cardId.toLowerCase()}`, generation: 3 }),
    ...overrides,
  };
}
