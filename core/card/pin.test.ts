import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const real: typeof crypto = await importOriginal();
  const scryptSync = vi.fn((...args: Parameters<typeof real.scryptSync>) => real.scryptSync(...args));
  return { ...real, scryptSync };
});

const { hashSecret, verifySecret } = await import('./pin.ts');
const scrypt = vi.mocked(crypto.scryptSync);

describe('PIN hashes: salted scrypt, and a memo of the answers already given', () => {
  beforeEach(() => {
    scrypt.mockClear();
  });

  it('stores a salted scrypt hash, never the digits', () => {
    const a = hashSecret('258014');
    const b = hashSecret('258014');
    expect(a).toMatchObject({ alg: 'scrypt', n: 16384, r: 8, p: 1 });
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(JSON.stringify(a)).not.toContain('258014');
  });

  it('a wrong PIN refused once is refused again without running scrypt again; the right one still passes', () => {
    const h = hashSecret('258014');
    scrypt.mockClear();
    expect(verifySecret(h, '111111')).toBe(false);
    expect(scrypt).toHaveBeenCalledTimes(1);
    expect(verifySecret(h, '111111')).toBe(false);
    expect(scrypt).toHaveBeenCalledTimes(1);
    expect(verifySecret(h, '222222')).toBe(false); // another wrong PIN: scrypt again
    expect(scrypt).toHaveBeenCalledTimes(2);
    expect(verifySecret(h, '258014')).toBe(true); // made here: already known right
    expect(scrypt).toHaveBeenCalledTimes(2);
  });

  it('the memo is per hash: the same PIN is checked afresh against another hash (a changed PIN)', () => {
    const old = hashSecret('111111');
    const changed = hashSecret('222222');
    expect(verifySecret(old, '222222')).toBe(false);
    expect(verifySecret(changed, '222222')).toBe(true);
    expect(verifySecret(changed, '111111')).toBe(false);
    expect(verifySecret(old, '111111')).toBe(true);
  });
});
