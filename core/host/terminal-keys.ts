import { createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encryptEcb, type Algorithm } from '../card/crypto.ts';

/**
 * The keys between a till and the central host, as a bank POS keeps them with its acquirer
 * (docs/security.md, "Till and central host"):
 *
 * - the terminal master key (TMK, 终端主密钥): 16 random bytes made when the till is enrolled at
 *   the host (`sscard host enrol`), handed to the till once inside its credential, kept by the
 *   host next to the terminal's id; revoking the terminal makes it useless;
 * - the working keys (工作密钥): a PIN key (PIK) and a MAC key (MAK), 16 random bytes each, made
 *   by the host at every sign-on (签到) and sent wrapped under the TMK (ECB, 3DES or SM4) with
 *   their check values; a new sign-on rotates them;
 * - every request after sign-on carries the session, a sequence number never used before in the
 *   session, and an HMAC-SHA256 under the MAK over the method, path, terminal, session, sequence
 *   and the body's SHA-256: an altered body, a replayed request or one from another terminal is
 *   refused before anything is read;
 * - a password travels only as a PIN block (ISO 9564 format 0; for SM4 the same layout widened
 *   to SM4's 16-byte block) encrypted under the PIK.
 *
 * Shared by the till's client (core/host/http-host.ts) and the host (core/host/server/).
 */

export const CREDENTIAL_PREFIX = 'sscard-terminal';
const CREDENTIAL_RE = /^sscard-terminal:([A-Za-z0-9_.]{1,32}):(3des|sm4):([0-9a-f]{32})$/;

/** A till's credential: its terminal id, the algorithm of its keys, and its master key. */
export interface TerminalCredential {
  readonly terminalId: string;
  readonly alg: Algorithm;
  readonly masterKey: Uint8Array;
}

/** The text a till keeps (--host-token / SSCARD_HOST_TOKEN): `sscard-terminal:<id>:<alg>:<32 hex>`. */
export function formatCredential(c: TerminalCredential): string {
  return `${CREDENTIAL_PREFIX}:${c.terminalId}:${c.alg}:${Buffer.from(c.masterKey).toString('hex')}`;
}

/** Whether a token is a terminal credential (rather than the operator's token). */
export function isCredentialText(text: string): boolean {
  return text.trim().startsWith(`${CREDENTIAL_PREFIX}:`);
}

/** Parses a credential; throws naming what is wrong (never repeating the key). */
export function parseCredential(text: string): TerminalCredential {
  const m = CREDENTIAL_RE.exec(text.trim());
  if (!m) {
    throw new TypeError(
      `a terminal credential is ${CREDENTIAL_PREFIX}:<terminal id>:<3des|sm4>:<32 hex digits>, as sscard host enrol prints it`,
    );
  }
  return { terminalId: m[1]!, alg: m[2] as Algorithm, masterKey: new Uint8Array(Buffer.from(m[3]!, 'hex')) };
}

export function newKey(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

function cipherName(alg: Algorithm): string {
  return alg === 'sm4' ? 'sm4-ecb' : 'des-ede-ecb';
}

export function decryptEcb(alg: Algorithm, key: Uint8Array, data: Uint8Array): Uint8Array {
  const d = createDecipheriv(cipherName(alg), key, null);
  d.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([d.update(data), d.final()]));
}

/** A key wrapped under another (ECB, as a host sends working keys under the terminal master key). */
export function wrapKey(alg: Algorithm, kek: Uint8Array, key: Uint8Array): string {
  return Buffer.from(encryptEcb(alg, kek, key)).toString('hex');
}

export function unwrapKey(alg: Algorithm, kek: Uint8Array, wrapped: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(wrapped)) throw new TypeError('a wrapped key is 32 hex digits');
  return decryptEcb(alg, kek, new Uint8Array(Buffer.from(wrapped, 'hex')));
}

/** Key check value: the first 3 bytes of a zero block encrypted under the key, as hex. */
export function keyCheckValue(alg: Algorithm, key: Uint8Array): string {
  const block = new Uint8Array(alg === 'sm4' ? 16 : 8);
  return Buffer.from(encryptEcb(alg, key, block).subarray(0, 3)).toString('hex');
}

/** The key a sign-on request is authenticated with, derived from the master key (not the key itself). */
export function signOnKey(c: TerminalCredential): Uint8Array {
  const label = new Uint8Array(16);
  label.set(Buffer.from('SSCARD-SIGN-ON\u0000\u0001'), 0);
  return encryptEcb(c.alg, c.masterKey, label);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What a request's MAC covers. */
export interface MacInput {
  readonly method: string;
  readonly path: string;
  readonly terminalId: string;
  readonly sessionId: string;
  readonly seq: number;
  readonly body: Uint8Array | string;
}

export function requestMac(key: Uint8Array, m: MacInput): string {
  const text = [
    'SSCARD-MAC-1',
    m.method,
    m.path,
    m.terminalId,
    m.sessionId,
    String(m.seq),
    sha256Hex(m.body),
  ].join('\n');
  return createHmac('sha256', key).update(text).digest('hex');
}

export function sameMac(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Headers a signed request carries. */
export const AUTH_HEADERS = {
  terminal: 'x-sscard-terminal',
  session: 'x-sscard-session',
  seq: 'x-sscard-seq',
  mac: 'x-sscard-mac',
} as const;

/**
 * The account number a PIN block is bound to: the card number's 8 body characters (its check
 * character left out, as format 0 leaves out a PAN's), a letter counting as its value mod 10
 * (A = 10 → 0), zero-filled on the left to 12 digits.
 */
export function pinAccountDigits(cardId: string): string {
  const body = cardId.slice(0, 8).toUpperCase();
  let digits = '';
  for (const ch of body) {
    const code = ch.charCodeAt(0);
    if (code >= 48 && code <= 57) digits += ch;
    else if (code >= 65 && code <= 90) digits += String((code - 55) % 10);
    else throw new TypeError('a card number is 0-9/A-Z');
  }
  return digits.padStart(12, '0');
}

export const PIN_RE = /^[0-9]{4,12}$/;

function pinFields(alg: Algorithm, pin: string, cardId: string): { pinField: Buffer; panField: Buffer } {
  const nibbles = alg === 'sm4' ? 32 : 16;
  const pinHex = ('0' + pin.length.toString(16) + pin).padEnd(nibbles, 'f');
  const panHex = pinAccountDigits(cardId).padStart(nibbles, '0');
  return { pinField: Buffer.from(pinHex, 'hex'), panField: Buffer.from(panHex, 'hex') };
}

/** ISO 9564 format 0 (SM4: widened to 16 bytes) under the PIN key, as hex. */
export function pinBlock(alg: Algorithm, pinKey: Uint8Array, pin: string, cardId: string): string {
  if (!PIN_RE.test(pin)) throw new TypeError('a PIN or password in a PIN block is 4 to 12 digits');
  const { pinField, panField } = pinFields(alg, pin, cardId);
  const clear = pinField.map((b, i) => b ^ panField[i]!);
  const out = Buffer.from(encryptEcb(alg, pinKey, clear)).toString('hex');
  clear.fill(0);
  pinField.fill(0);
  return out;
}

/** The PIN inside a PIN block; throws (without the digits) when the block is not well formed. */
export function openPinBlock(alg: Algorithm, pinKey: Uint8Array, block: string, cardId: string): string {
  const size = alg === 'sm4' ? 16 : 8;
  if (!new RegExp(`^[0-9a-f]{${size * 2}}$`).test(block))
    throw new TypeError(`a PIN block is ${size * 2} hex digits`);
  const clear = decryptEcb(alg, pinKey, new Uint8Array(Buffer.from(block, 'hex')));
  const panField = Buffer.from(pinAccountDigits(cardId).padStart(size * 2, '0'), 'hex');
  const field = Buffer.from(clear.map((b, i) => b ^ panField[i]!)).toString('hex');
  clear.fill(0);
  const len = parseInt(field.slice(1, 2), 16);
  const pin = field.slice(2, 2 + len);
  const fill = field.slice(2 + len);
  if (field[0] !== '0' || len < 4 || len > 12 || !/^[0-9]+$/.test(pin) || !/^f*$/.test(fill)) {
    throw new TypeError('the PIN block does not open to a format 0 block (wrong key or card)');
  }
  return pin;
}
