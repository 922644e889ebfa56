import { createCipheriv, randomBytes } from 'node:crypto';
import { seededRandom as seededNumbers } from '../random.ts';

/**
 * Symmetric cryptography of the card and the PSAM: 3DES (two-key, PBOC) and SM4, the two
 * algorithms the SSSE FCI can announce (9F0C: 01 DES/3DES, 03 SM4).
 */
export type Algorithm = '3des' | 'sm4';

export const ALGORITHM_ID: Record<Algorithm, number> = { '3des': 0x01, sm4: 0x03 };

export function blockSize(alg: Algorithm): number {
  return alg === 'sm4' ? 16 : 8;
}

export function sm4Available(): boolean {
  try {
    createCipheriv('sm4-ecb', Buffer.alloc(16), null);
    return true;
  } catch {
    return false;
  }
}

function cipherName(alg: Algorithm, mode: 'ecb' | 'cbc'): string {
  return alg === 'sm4' ? `sm4-${mode}` : `des-ede-${mode}`;
}

export function encryptEcb(alg: Algorithm, key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(cipherName(alg, 'ecb'), key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/** PBOC key diversification: 3DES L=E(MK,d), R=E(MK,~d); SM4 E(MK, d‖~d). d is 8 bytes. */
export function diversify(alg: Algorithm, masterKey: Uint8Array, div8: Uint8Array): Uint8Array {
  if (div8.length !== 8) throw new Error('diversification data must be 8 bytes');
  const inv = div8.map((b) => b ^ 0xff);
  if (alg === 'sm4') {
    const both = new Uint8Array(16);
    both.set(div8, 0);
    both.set(inv, 8);
    return encryptEcb('sm4', masterKey, both);
  }
  const out = new Uint8Array(16);
  out.set(encryptEcb('3des', masterKey, div8), 0);
  out.set(encryptEcb('3des', masterKey, inv), 8);
  return out;
}

/** ISO 9797-1 padding method 2: 80 then 00 to a whole block. */
export function padIso9797m2(data: Uint8Array, block: number): Uint8Array {
  const len = (Math.floor(data.length / block) + 1) * block;
  const out = new Uint8Array(len);
  out.set(data, 0);
  out[data.length] = 0x80;
  return out;
}

/** CBC-MAC (ISO 9797-1 algorithm 1, padding method 2) under the full key; first 4 bytes. */
export function mac4(alg: Algorithm, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const bs = blockSize(alg);
  const ivFull = new Uint8Array(bs);
  ivFull.set(iv.subarray(0, bs), 0);
  const c = createCipheriv(cipherName(alg, 'cbc'), key, ivFull);
  c.setAutoPadding(false);
  const enc = Buffer.concat([c.update(padIso9797m2(data, bs)), c.final()]);
  return new Uint8Array(enc.subarray(enc.length - bs, enc.length - bs + 4));
}

/**
 * The authentication cryptogram of GET CHALLENGE / EXTERNAL AUTHENTICATE: the 8-byte
 * challenge, zero-filled to 16 bytes, encrypted under the diversified key (two 3DES blocks
 * or one SM4 block). 16 bytes, as `00 82 00 0A 10` in reader code.
 */
export function authCryptogram(alg: Algorithm, key: Uint8Array, challenge8: Uint8Array): Uint8Array {
  const block = new Uint8Array(16);
  block.set(challenge8.subarray(0, 8), 0);
  return encryptEcb(alg, key, block);
}

export type RandomSource = (n: number) => Uint8Array;

export const secureRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

/**
 * A reproducible random source for tests and traces that must diff cleanly: bytes from the
 * project's seeded PRNG (core/random.ts), so there is one seeded generator to reason about.
 */
export function seededRandom(seed: number): RandomSource {
  const next = seededNumbers(seed);
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
    return out;
  };
}
