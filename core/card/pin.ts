import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * PINs and passwords at rest: salted scrypt hashes, never the digits. A six-digit PIN can
 * always be brute-forced offline given enough time; the slow hash makes it cost hours per
 * card, and the card's retry counter stops guessing through the card itself.
 */
export interface SecretHash {
  readonly alg: 'scrypt';
  readonly n: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string; // hex
  readonly hash: string; // hex
}

export const SCRYPT_PARAMS = { n: 16384, r: 8, p: 1 } as const;

// A process-lifetime secret lets a PIN that was verified once be recognised again without
// re-running scrypt (a card answers VERIFY in milliseconds). It never leaves memory.
const processSecret = randomBytes(32);
const verifiedMemo = new Map<string, string>();
// Likewise a wrong PIN already refused against this very hash is refused again without scrypt
// (scrypt gives the same answer every time); the card still counts the try. Keyed by the hash
// and the HMAC tag, never the digits.
const refusedMemo = new Set<string>();
const MEMO_LIMIT = 50_000;

function memoTag(h: SecretHash, secret: string): string {
  return createHmac('sha256', processSecret).update(h.salt).update('\0').update(secret).digest('hex');
}

function remember(h: SecretHash, secret: string): void {
  if (verifiedMemo.size >= MEMO_LIMIT) verifiedMemo.clear();
  verifiedMemo.set(h.hash, memoTag(h, secret));
}

function rememberRefused(key: string): void {
  if (refusedMemo.size >= MEMO_LIMIT) refusedMemo.clear();
  refusedMemo.add(key);
}

export function hashSecret(
  secret: string,
  params: { n: number; r: number; p: number } = SCRYPT_PARAMS,
): SecretHash {
  const salt = randomBytes(16);
  const hash = scryptSync(secret, salt, 32, {
    N: params.n,
    r: params.r,
    p: params.p,
    maxmem: 256 * 1024 * 1024,
  });
  const h: SecretHash = {
    alg: 'scrypt',
    n: params.n,
    r: params.r,
    p: params.p,
    salt: salt.toString('hex'),
    hash: hash.toString('hex'),
  };
  remember(h, secret);
  return h;
}

export function verifySecret(h: SecretHash, secret: string): boolean {
  const tag = memoTag(h, secret);
  if (verifiedMemo.get(h.hash) === tag) return true;
  const refusedKey = `${h.n}:${h.r}:${h.p}:${h.hash}:${tag}`;
  if (refusedMemo.has(refusedKey)) return false;
  const expected = Buffer.from(h.hash, 'hex');
  const actual = scryptSync(secret, Buffer.from(h.salt, 'hex'), expected.length, {
    N: h.n,
    r: h.r,
    p: h.p,
    maxmem: 256 * 1024 * 1024,
  });
  const ok = timingSafeEqual(expected, actual);
  if (ok) remember(h, secret);
  else rememberRefused(refusedKey);
  return ok;
}

/** The initial PIN of the social security application (R1.4). */
export const INITIAL_PIN = '123456';

/** Masks a PIN or password for display: every digit becomes '*'. */
export function maskSecret(secret: string): string {
  return '*'.repeat(secret.length);
}
