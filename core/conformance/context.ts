import { exchange, type Exchange } from '../../device/exchange.ts';
import { isReaderError } from '../../device/errors.ts';
import { maskCommand } from '../../device/trace.ts';
import { describeCommand } from '../../device/apdu-names.ts';
import type { CardReader } from '../../device/reader.ts';
import { fromHex, toHex } from '../card/hex.ts';
import { swHex } from '../card/status-words.ts';
import { DEBIT_AID } from '../card/layout.ts';
import { PsamSimulator } from '../card/psam.ts';
import { chipSerialFromAtr } from '../card/atr.ts';
import type { Algorithm } from '../card/crypto.ts';
import {
  externalAuthenticate,
  getChallenge,
  SELECT_DEBIT as SELECT_DEBIT_BYTES,
  SELECT_SSSE as SELECT_SSSE_BYTES,
  swText as terminalSwText,
  VERIFY_STATUS,
  verifyPin,
} from '../terminal/card-commands.ts';

/**
 * What a conformance check works with: the reader (every APDU it sends is logged with its
 * status word, PIN data masked), what the runner learnt about the card, and helpers that
 * turn an unexpected status word into a failure that says what was expected.
 */

/** The terminal's commands as hex, the form checks compare and log. */
export const SELECT_SSSE = toHex(SELECT_SSSE_BYTES);
export const SELECT_DEBIT = toHex(SELECT_DEBIT_BYTES);
export const DEBIT_AID_HEX = toHex(DEBIT_AID);

/** One APDU as a report shows it: the command (PIN data masked), its name, the status word. */
export interface ApduLogEntry {
  command: string;
  name: string;
  /** Status word as hex, or null when no answer came (card pulled, reader error). */
  sw: string | null;
  /** Length of the response data (the data itself is not reported: it may be personal). */
  dataLength: number;
  error?: string;
}

/** Facts the runner learns once before the checks run. */
export interface CardFacts {
  atr: Uint8Array;
  protocol: 'T=0' | 'T=1';
  /** Generation from EF05 tag 03, or null when it could not be read. */
  generation: 1 | 2 | 3 | null;
  algorithm: Algorithm;
  /**
   * SSCard Lab's own virtual card: the simulator's test keys (PSAM, bank counter) may be
   * used. Never true for a real card — its keys are the issuer's, and wrong cryptograms
   * lock them for good.
   */
  simulated: boolean;
}

/**
 * A card pull (防拔) under software control: a virtual card served in-process or through
 * vpcd. See core/conformance/pull.ts.
 */
export interface PullControl {
  /**
   * Arms one pull: on the next command `match` accepts, the card leaves the reader, either
   * before it processes the command ('before') or after it processed it and before its
   * answer reaches the reader ('after').
   */
  arm(match: (command: Uint8Array) => boolean, when: 'before' | 'after'): void;
  /** Whether the armed pull happened since arm() (an unfired pull is disarmed). */
  fired(): boolean;
  /** Puts the same card back and waits until the reader sees it. */
  reinsert(): Promise<void>;
}

export interface SharedState {
  /** Set when PIN checks must stop (the PIN given is wrong, the card could not be restored). */
  pinStop: string | null;
}

export class CheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailure';
  }
}

export class CheckSkip extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckSkip';
  }
}

export const swText = terminalSwText;

/** A reader that logs every exchange into the current check's APDU list. */
class LoggingReader {
  constructor(
    private readonly inner: CardReader,
    private readonly log: ApduLogEntry[],
  ) {}

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const entry: ApduLogEntry = {
      command: maskCommand(command),
      name: describeCommand(command),
      sw: null,
      dataLength: 0,
    };
    this.log.push(entry);
    try {
      const resp = await this.inner.transmit(command);
      entry.sw = resp.length >= 2 ? toHex(resp.subarray(resp.length - 2)) : null;
      entry.dataLength = Math.max(0, resp.length - 2);
      return resp;
    } catch (e) {
      entry.error = isReaderError(e) ? e.code : (e as Error).message;
      throw e;
    }
  }
}

export interface PinStart {
  /** The card answered the right PIN with 6985: a gen 3 card with its initial PIN (R1.4). */
  initial: boolean;
  /** Tries left with the counter full (VERIFY without data), or null when the card does not tell. */
  limit: number | null;
}

export class CheckContext {
  readonly apdus: ApduLogEntry[] = [];
  private readonly logged: LoggingReader;
  /** Set by pinStart(): the runner verifies the right PIN after the check, whatever happened. */
  pinTouched = false;

  constructor(
    readonly reader: CardReader,
    readonly facts: CardFacts,
    readonly pin: string | null,
    readonly pull: PullControl | null,
    readonly shared: SharedState,
  ) {
    this.logged = new LoggingReader(reader, this.apdus);
  }

  get generation(): 1 | 2 | 3 {
    const g = this.facts.generation;
    if (g === null) throw new CheckSkip('the generation is unknown (EF05 tag 03 could not be read)');
    return g;
  }

  fail(message: string): never {
    throw new CheckFailure(message);
  }

  skip(message: string): never {
    throw new CheckSkip(message);
  }

  /** One raw APDU (no 61xx/6Cxx handling), as the reader passes it. */
  async raw(command: string | Uint8Array): Promise<Exchange> {
    const cmd = typeof command === 'string' ? fromHex(command) : command;
    const resp = await this.logged.transmit(cmd);
    const sw = resp.length >= 2 ? (resp[resp.length - 2]! << 8) | resp[resp.length - 1]! : 0x6f00;
    return { data: resp.subarray(0, Math.max(0, resp.length - 2)), sw };
  }

  /** A command as a terminal sends it: 61xx followed by GET RESPONSE, 6Cxx re-issued. */
  async send(command: string | Uint8Array): Promise<Exchange> {
    const cmd = typeof command === 'string' ? fromHex(command) : command;
    return exchange(this.logged as unknown as CardReader, cmd);
  }

  /** Sends and requires one of the status words; returns the exchange. */
  async expect(what: string, command: string | Uint8Array, ...sws: number[]): Promise<Exchange> {
    const r = await this.send(command);
    this.expectSw(what, r.sw, ...sws);
    return r;
  }

  expectSw(what: string, sw: number, ...sws: number[]): void {
    if (!sws.includes(sw)) {
      this.fail(`${what}: expected ${sws.map(swHex).join(' or ')}, card answered ${swText(sw)}`);
    }
  }

  async selectSsse(): Promise<Uint8Array> {
    return (await this.expect('SELECT SSSE', SELECT_SSSE, 0x9000)).data;
  }

  /** GET CHALLENGE and EXTERNAL AUTHENTICATE with the simulator's PSAM (SSCard Lab cards only). */
  async externalAuthenticate(): Promise<void> {
    if (!this.facts.simulated) {
      this.skip('protected, not tested: needs the issuer key RKSSSE in a real PSAM');
    }
    const serial = chipSerialFromAtr(this.facts.atr);
    if (!serial) this.fail('the ATR carries no chip serial for key diversification');
    const challenge = (await this.expect('GET CHALLENGE', getChallenge(8), 0x9000)).data;
    if (challenge.length !== 8) this.fail(`GET CHALLENGE returned ${challenge.length} bytes, not 8`);
    const crypt = new PsamSimulator().externalAuthenticate(this.facts.algorithm, serial, challenge);
    await this.expect('EXTERNAL AUTHENTICATE (RKSSSE)', externalAuthenticate(crypt), 0x9000);
  }

  requirePin(): string {
    if (this.shared.pinStop) this.skip(this.shared.pinStop);
    if (!this.pin) this.skip('needs the card’s PIN (--pin)');
    return this.pin;
  }

  verifyCommand(pin: string): string {
    return toHex(verifyPin(pin));
  }

  async verify(pin: string): Promise<number> {
    return (await this.send(this.verifyCommand(pin))).sw;
  }

  /**
   * Opens a PIN check: SSSE selected, the right PIN verified first (so a wrong --pin is
   * noticed after one try and every other PIN check stops), then the full counter read.
   * `wrongPins`: the check will send wrong PINs (on a real card only when that cannot block it).
   */
  async pinStart(wrongPins = true): Promise<PinStart> {
    const pin = this.requirePin();
    await this.selectSsse();
    const sw = await this.verify(pin);
    if (sw === 0x6983) this.skip('the PIN is blocked (6983) as found; it stays blocked');
    if ((sw & 0xfff0) === 0x63c0) {
      this.shared.pinStop = `the PIN given is wrong (the card answered ${swHex(sw)}): PIN checks stopped so that the card is not blocked`;
      this.fail(this.shared.pinStop);
    }
    const initial = sw === 0x6985 && this.facts.generation === 3 && pin === '123456';
    if (sw !== 0x9000 && !initial) this.fail(`VERIFY with the right PIN: card answered ${swText(sw)}`);
    this.pinTouched = true;
    const limit = await this.triesLeft();
    if (wrongPins && !this.facts.simulated) {
      // A real card must never be blocked by a conformance run: a wrong PIN is sent only
      // when at least one try would be left after it.
      if (limit !== null && limit < 2) {
        this.skip(
          `only ${limit} tr${limit === 1 ? 'y' : 'ies'} left after the right PIN: a wrong PIN could block the card`,
        );
      }
      if (limit === null && initial) {
        this.skip(
          'the card neither reports its counter nor accepts the PIN with 9000 (6985): a wrong PIN could block it',
        );
      }
    }
    return { initial, limit };
  }

  /** Whether a VERIFY answer means "right PIN" (9000, or 6985 for a gen 3 initial PIN). */
  rightPinOk(start: PinStart, sw: number): boolean {
    return sw === 0x9000 || (start.initial && sw === 0x6985);
  }

  /** Tries left, from VERIFY without data after a fresh SELECT (ISO 7816-4); null if the card does not tell. */
  async triesLeft(): Promise<number | null> {
    await this.selectSsse();
    const r = await this.send(VERIFY_STATUS);
    if ((r.sw & 0xfff0) === 0x63c0) return r.sw & 0x0f;
    if (r.sw === 0x6983) return 0;
    return null;
  }

  /** A PIN that is not the card's, of the same length. */
  wrongPin(): string {
    const pin = this.requirePin();
    return [...pin].map((d) => String((Number(d) + 1) % 10)).join('');
  }

  /** The VERIFY answers of a wrong PIN must be 63Cx with x = expected (when known). */
  expectTries(what: string, sw: number, expected: number | null): number {
    if ((sw & 0xfff0) !== 0x63c0) this.fail(`${what}: expected 63Cx, card answered ${swText(sw)}`);
    const left = sw & 0x0f;
    if (expected !== null && left !== expected) {
      this.fail(
        `${what}: expected 63C${expected.toString(16).toUpperCase()} (${expected} tries left), card answered ${swHex(sw)}`,
      );
    }
    return left;
  }
}

export interface AtrStructure {
  ok: boolean;
  problem?: string;
  historical: Uint8Array | null;
  protocols: number[];
}

/** Parses an ATR's structure (ISO 7816-3): interface bytes, historical bytes, TCK. */
export function parseAtr(atr: Uint8Array): AtrStructure {
  const bad = (problem: string): AtrStructure => ({ ok: false, problem, historical: null, protocols: [] });
  if (atr.length < 2) return bad(`the ATR is ${atr.length} bytes long`);
  if (atr[0] !== 0x3b && atr[0] !== 0x3f) return bad(`TS is ${toHex(atr.subarray(0, 1))}, not 3B or 3F`);
  const t0 = atr[1]!;
  const k = t0 & 0x0f;
  let y = t0 >> 4;
  let i = 2;
  const protocols: number[] = [];
  for (;;) {
    if (y & 1) i++;
    if (y & 2) i++;
    if (y & 4) i++;
    if (!(y & 8)) break;
    const td = atr[i++];
    if (td === undefined) return bad('the ATR ends inside its interface bytes');
    protocols.push(td & 0x0f);
    y = td >> 4;
  }
  const needsTck = protocols.some((p) => p !== 0);
  const expected = i + k + (needsTck ? 1 : 0);
  if (atr.length !== expected) {
    return bad(`the ATR is ${atr.length} bytes, its structure announces ${expected}`);
  }
  if (needsTck) {
    let x = 0;
    for (let j = 1; j < atr.length; j++) x ^= atr[j]!;
    if (x !== 0) return bad('TCK does not check (XOR of T0…TCK is not 00)');
  }
  return { ok: true, historical: atr.subarray(i, i + k), protocols: protocols.length ? protocols : [0] };
}
