import { createRequire } from 'node:module';
import type * as SmartcardModule from 'smartcard';
import { ReaderError, type ReaderErrorCode } from './errors.ts';

/**
 * Access to the native `smartcard` (PC/SC) module, loaded on first use so that everything
 * else works on machines without libpcsclite or pcscd.
 */
export type Smartcard = typeof SmartcardModule;
export type PcscContext = InstanceType<Smartcard['Context']>;

let cached: Smartcard | null = null;

export function smartcard(): Smartcard {
  if (cached) return cached;
  try {
    cached = createRequire(import.meta.url)('smartcard') as Smartcard;
    return cached;
  } catch (e) {
    throw new ReaderError(
      'TRANSMIT_FAILED',
      `the PC/SC module 'smartcard' cannot be loaded (${(e as Error).message}); run the set-up (libpcsclite-dev, npm ci)`,
    );
  }
}

// PC/SC result codes (pcsclite.h) the terminal reacts to.
const CODES: Record<number, ReaderErrorCode> = {
  0x80100069: 'CARD_REMOVED', // SCARD_W_REMOVED_CARD
  0x80100068: 'CARD_REMOVED', // SCARD_W_RESET_CARD: someone reset it; our session is gone
  0x8010000c: 'NO_CARD', // SCARD_E_NO_SMARTCARD
  0x80100066: 'NO_CARD', // SCARD_W_UNRESPONSIVE_CARD
  0x80100067: 'NO_CARD', // SCARD_W_UNPOWERED_CARD
  0x80100009: 'READER_GONE', // SCARD_E_UNKNOWN_READER
  0x80100017: 'READER_GONE', // SCARD_E_READER_UNAVAILABLE
  0x8010002e: 'READER_GONE', // SCARD_E_NO_READERS_AVAILABLE
  0x8010001d: 'TRANSMIT_FAILED', // SCARD_E_NO_SERVICE
};

const MESSAGES: [RegExp, ReaderErrorCode][] = [
  [/removed|REMOVED_CARD|RESET_CARD/i, 'CARD_REMOVED'],
  [/no smart ?card|NO_SMARTCARD|unpowered|unresponsive/i, 'NO_CARD'],
  [/unknown reader|reader.*unavailable|no readers/i, 'READER_GONE'],
];

/** Turns whatever the native module threw into a typed ReaderError. */
export function toReaderError(e: unknown, reader: string, doing: string): ReaderError {
  if (e instanceof ReaderError) return e;
  const err = e as { code?: unknown; message?: string };
  const message = err?.message ?? String(e);
  let code: ReaderErrorCode | undefined = typeof err?.code === 'number' ? CODES[err.code >>> 0] : undefined;
  code ??= MESSAGES.find(([re]) => re.test(message))?.[1];
  if (/service|pcscd|NO_SERVICE/i.test(message) && !code) {
    return new ReaderError('TRANSMIT_FAILED', `${doing}: pcscd is not running (${message})`, reader);
  }
  const what =
    code === 'CARD_REMOVED'
      ? `the card was removed from ${reader}`
      : code === 'NO_CARD'
        ? `no card in ${reader}`
        : code === 'READER_GONE'
          ? `reader ${reader} is not available`
          : `${doing} failed on ${reader}`;
  return new ReaderError(code ?? 'TRANSMIT_FAILED', `${what} (${message})`, reader);
}

export interface PcscReaderInfo {
  name: string;
  cardPresent: boolean;
  atr: string | null;
}

/** Lists PC/SC readers with card presence. An absent pcscd or no reader is an empty list. */
export function listPcscReaders(context?: PcscContext): PcscReaderInfo[] {
  const sc = smartcard();
  let ctx = context;
  try {
    ctx ??= new sc.Context();
  } catch (e) {
    throw toReaderError(e, 'PC/SC', 'opening the PC/SC context');
  }
  try {
    return ctx.listReaders().map((r) => ({
      name: r.name,
      cardPresent: (r.state & sc.SCARD_STATE_PRESENT) !== 0,
      atr: r.atr && r.atr.length ? r.atr.toString('hex').toUpperCase() : null,
    }));
  } catch (e) {
    const re = toReaderError(e, 'PC/SC', 'listing readers');
    if (re.code === 'READER_GONE') return [];
    throw re;
  } finally {
    if (!context) ctx.close();
  }
}

/**
 * Finds a reader by exact name, or else by a unique case-insensitive substring
 * ("PCD 00 01", "ACR"), so users need not type the full name.
 */
export function matchReader(names: string[], wanted: string): string {
  if (names.includes(wanted)) return wanted;
  const hits = names.filter((n) => n.toLowerCase().includes(wanted.toLowerCase()));
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) {
    throw new ReaderError(
      'READER_GONE',
      `no PC/SC reader matches '${wanted}'${names.length ? ` (readers: ${names.join(', ')})` : ' (no readers: is pcscd running?)'}`,
    );
  }
  throw new ReaderError('READER_GONE', `'${wanted}' matches several readers: ${hits.join(', ')}`);
}

/** Waits until a card is present (or absent) in the reader, polling pcscd. */
export async function waitForCard(name: string, present = true, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const sc = smartcard();
  const ctx = new sc.Context();
  try {
    for (;;) {
      const r = ctx.listReaders().find((x) => x.name === name);
      if (r && ((r.state & sc.SCARD_STATE_PRESENT) !== 0) === present) return;
      if (Date.now() > deadline) {
        throw new ReaderError(
          present ? 'NO_CARD' : 'TRANSMIT_FAILED',
          `no card ${present ? 'appeared' : 'left'} in ${name} within ${timeoutMs} ms`,
          name,
        );
      }
      await new Promise((res) => setTimeout(res, 25));
    }
  } finally {
    ctx.close();
  }
}

export type PcscEventType = 'reader-attached' | 'reader-detached' | 'card-inserted' | 'card-removed';

export interface PcscEvent {
  type: PcscEventType;
  reader: string;
  atr: string | null;
}

/**
 * Watches every PC/SC reader (a background monitor thread in the native module): readers
 * attached/detached, cards inserted/removed. Returns the function that stops watching.
 */
export function watchPcsc(listener: (e: PcscEvent) => void): () => void {
  const sc = smartcard();
  const monitor = new sc.ReaderMonitor();
  monitor.start((ev) => {
    if (ev.type === 'error') return;
    listener({
      type: ev.type,
      reader: ev.reader,
      atr: ev.atr && ev.atr.length ? ev.atr.toString('hex').toUpperCase() : null,
    });
  });
  return () => monitor.stop();
}
