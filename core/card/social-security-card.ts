import { parseApdu, response, type CommandApdu } from './apdu.ts';
import { SW } from './status-words.ts';
import { bytesEqual, fromHex } from './hex.ts';
import { tlv } from './tlv.ts';
import {
  ALGORITHM_ID,
  authCryptogram,
  diversify,
  encryptEcb,
  secureRandom,
  blockSize,
  sm4Available,
  type Algorithm,
  type RandomSource,
} from './crypto.ts';
import { TEST_MASTER_KEYS } from './keys.ts';
import { buildAtr } from './atr.ts';
import { DEBIT_AID, SSSE_AID, ef05Records, ef06Records, financialFiles } from './layout.ts';
import { hashSecret, type SecretHash } from './pin.ts';
import { profilePinInitial, profileRefusesInitialPin, type CardProfile } from './profile.ts';
import { PinCommands } from './pin-commands.ts';

/**
 * What a card keeps in its EEPROM across power cycles: the PIN verifier and the retry
 * counters. The emulator hands every change to `persist` before it answers, as a real card
 * writes EEPROM before sending the status word: a restart never resets a counter.
 */
export interface CardSecurityState {
  readonly pinHash: SecretHash;
  readonly pinTriesLeft: number;
  readonly pinRetryLimit: number;
  readonly pinInitial: boolean;
  /** Tries left for EXTERNAL AUTHENTICATE with RKSSSE (S3: 2/1/0). */
  readonly keyTriesLeft: number;
}

export const KEY_RETRY_LIMIT = 3;

/**
 * The card's EEPROM when it is shared: several card objects — in other processes, tills,
 * served cards, app windows — stand for the same physical card and must count its tries as
 * one card would.
 */
export interface SharedCardState {
  /**
   * Runs one command exclusively of every other card object on the same stored state, handing
   * it the state as stored now (never a copy read earlier); what the command passes to
   * `persist` meanwhile is written in the same exclusive section and is durable when this
   * returns. Throws when the state cannot be read or the write cannot be made durable: the card
   * then answers 6581 and its session is as before the command.
   */
  exclusively<T>(command: (stored: CardSecurityState) => T): T;
}

export interface CardOptions {
  /** Previously persisted state (from the ledger); otherwise derived from the profile. */
  state?: CardSecurityState;
  /** Called synchronously with the new state before the card answers. A throw → 6581. */
  persist?: (state: CardSecurityState) => void;
  /**
   * Where the state is shared (the ledger, core/ledger/card-store.ts): every command that reads
   * or changes a counter — VERIFY, CHANGE PIN, PIN UNBLOCK, RELOAD PIN, EXTERNAL AUTHENTICATE —
   * then decides on the stored state inside `exclusively`, never on the state this object
   * loaded at open.
   */
  shared?: SharedCardState;
  random?: RandomSource;
}

/** The interface a reader uses to drive any virtual card (see device/reader.ts). */
export interface ApduCard {
  readonly atr: Uint8Array;
  powerOn(): Uint8Array;
  powerOff(): void;
  reset(): Uint8Array;
  transmit(command: Uint8Array): Uint8Array;
}

type Access = 'free' | 'key';

interface RecordEf {
  kind: 'record';
  fid: number;
  sfi: number;
  records: Uint8Array[];
  access: Access;
}
interface BinaryEf {
  kind: 'binary';
  fid: number;
  sfi: number;
  data: Uint8Array;
  access: Access;
}
type Ef = RecordEf | BinaryEf;

interface Df {
  readonly id: 'MF' | 'SSSE' | 'DEBIT';
  readonly efs: readonly Ef[];
  readonly fci: Uint8Array | null;
}

const MF_FID = 0x3f00;
const KEY_RKSSSE = 0x0a;

/**
 * A social security card of generation 1, 2 or 3 as an APDU-in/APDU-out engine.
 * Behaviour and the reasons behind each choice are in docs/card-emulator.md.
 */
export class SocialSecurityCard implements ApduCard {
  readonly profile: CardProfile;
  readonly generation: 1 | 2 | 3;
  readonly atr: Uint8Array;
  readonly algorithm: Algorithm;
  private readonly t0: boolean;
  private readonly refuseInitialPin: boolean;
  private readonly random: RandomSource;
  private readonly persistHook: ((s: CardSecurityState) => void) | undefined;
  private readonly shared: SharedCardState | undefined;
  private readonly authKey: Uint8Array;
  private readonly pinKey: Uint8Array;
  private readonly mf: Df;
  private readonly ssse: Df;
  private readonly debit: Df | null;
  private readonly gpoAnswer: Uint8Array | null;

  private stateValue: CardSecurityState;
  // Volatile (RAM) state, cleared at power-on, reset and DF selection.
  private df: Df;
  private ef: Ef | null = null;
  private keyAuthenticated = false;
  private pinVerified = false;
  private challenge: Uint8Array | null = null;
  private pending: Uint8Array | null = null;
  private readonly pins: PinCommands;

  constructor(profile: CardProfile, options: CardOptions = {}) {
    this.profile = profile;
    this.generation = profile.generation;
    this.algorithm = profile.algorithm;
    if (this.algorithm === 'sm4' && !sm4Available()) {
      throw new Error(
        `card ${profile.id} uses SM4 keys, which this Node.js runtime's OpenSSL does not provide`,
      );
    }
    this.t0 = profile.protocol === 'T=0';
    this.refuseInitialPin = profileRefusesInitialPin(profile);
    this.random = options.random ?? secureRandom;
    this.persistHook = options.persist;
    this.shared = options.shared;
    this.atr = buildAtr(profile.generation, profile.protocol, profile.card.chipSerial);
    const serial = fromHex(profile.card.chipSerial);
    this.authKey = diversify(this.algorithm, TEST_MASTER_KEYS.rksse, serial);
    this.pinKey = diversify(this.algorithm, TEST_MASTER_KEYS.pin, serial);
    this.stateValue = options.state ?? {
      pinHash: hashSecret(profile.pin),
      pinRetryLimit: profile.pinRetryLimit,
      pinTriesLeft: profile.pinTriesLeft ?? profile.pinRetryLimit,
      pinInitial: profilePinInitial(profile),
      keyTriesLeft: KEY_RETRY_LIMIT,
    };

    const ef06Access: Access = profile.generation === 3 ? 'key' : 'free';
    const binarySize = profile.generation === 1 ? [0x300, 0x300] : [0x400, 0x1000];
    const ssseFci = tlv(
      0x6f,
      tlv(0x84, SSSE_AID),
      profile.generation === 3
        ? tlv(
            0xa5,
            tlv(0x88, new Uint8Array([0x01])),
            tlv(0x9f0c, new Uint8Array([0x86, 0x01, ALGORITHM_ID[this.algorithm]])),
          )
        : tlv(0xa5, tlv(0x88, new Uint8Array([0x01]))),
    );
    this.ssse = {
      id: 'SSSE',
      fci: ssseFci,
      efs: [
        { kind: 'record', fid: 0xef05, sfi: 5, records: ef05Records(profile), access: 'free' },
        { kind: 'record', fid: 0xef06, sfi: 6, records: ef06Records(profile), access: ef06Access },
        { kind: 'binary', fid: 0xef07, sfi: 7, data: new Uint8Array(binarySize[0]!), access: 'key' },
        { kind: 'binary', fid: 0xef08, sfi: 8, data: new Uint8Array(binarySize[1]!), access: 'key' },
      ],
    };
    const fin = financialFiles(profile);
    this.debit = fin
      ? {
          id: 'DEBIT',
          fci: fin.fci,
          efs: [{ kind: 'record', fid: 0x0001, sfi: 1, records: fin.records, access: 'free' }],
        }
      : null;
    this.gpoAnswer = fin ? fin.gpo : null;
    this.mf = { id: 'MF', fci: null, efs: [] };
    this.df = this.mf;
    this.pins = new PinCommands({
      algorithm: this.algorithm,
      pinKey: this.pinKey,
      refuseInitialPin: this.refuseInitialPin,
      state: () => this.stateValue,
      persist: (next) => this.persist(next),
      pinApplicationSelected: () => this.df.id === 'SSSE',
      pinVerified: () => this.pinVerified,
      setPinVerified: (verified) => {
        this.pinVerified = verified;
      },
      takeChallenge: () => {
        const challenge = this.challenge;
        this.challenge = null;
        return challenge;
      },
    });
  }

  /** The persistent state now (for the ledger and for tests). */
  get state(): CardSecurityState {
    return this.stateValue;
  }

  powerOn(): Uint8Array {
    this.clearVolatile();
    return this.atr;
  }

  powerOff(): void {
    this.clearVolatile();
  }

  reset(): Uint8Array {
    this.clearVolatile();
    return this.atr;
  }

  private clearVolatile(): void {
    this.df = this.mf;
    this.ef = null;
    this.keyAuthenticated = false;
    this.pinVerified = false;
    this.challenge = null;
    this.pending = null;
  }

  /** One command APDU in, one response APDU out. Never throws. */
  transmit(command: Uint8Array): Uint8Array {
    try {
      const parsed = parseApdu(command);
      if (!parsed.ok) {
        this.pending = null;
        return response(parsed.sw);
      }
      const apdu = parsed.apdu;
      if (apdu.ins !== 0xc0) this.pending = null;
      return this.dispatch(apdu);
    } catch {
      // An emulator bug must look like a card fault to the terminal, not crash it.
      return response(SW.MEMORY_FAILURE);
    }
  }

  private dispatch(a: CommandApdu): Uint8Array {
    const { cla, ins } = a;
    if (cla === 0x00) {
      switch (ins) {
        case 0xa4:
          return this.select(a);
        case 0xb2:
          return this.readRecord(a);
        case 0xb0:
          return this.readBinary(a);
        case 0xc0:
          return this.getResponse(a);
        case 0x84:
          return this.getChallenge(a);
        case 0x82:
          return this.exclusive(() => this.externalAuthenticate(a));
        case 0x88:
          return this.internalAuthenticate(a);
        case 0x20:
          return this.exclusive(() => this.pins.verify(a));
        case 0x24:
          return this.exclusive(() => this.pins.changeReferenceData(a));
        case 0x5e:
        case 0xa8:
          return response(SW.CLA_NOT_SUPPORTED);
        default:
          return response(SW.INS_NOT_SUPPORTED);
      }
    }
    if (cla === 0x80) {
      switch (ins) {
        case 0x5e:
          return this.exclusive(() => this.pins.changePin(a));
        case 0xa8:
          return this.getProcessingOptions(a);
        case 0xa4:
        case 0xb2:
        case 0xb0:
        case 0xc0:
        case 0x84:
        case 0x82:
        case 0x88:
        case 0x20:
        case 0x24:
          return response(SW.CLA_NOT_SUPPORTED);
        default:
          return response(SW.INS_NOT_SUPPORTED);
      }
    }
    if (cla === 0x84) {
      switch (ins) {
        case 0x24:
          return this.exclusive(() => this.pins.unblockPin(a));
        case 0x5e:
          return this.exclusive(() => this.pins.reloadPin(a));
        default:
          return response(SW.INS_NOT_SUPPORTED);
      }
    }
    return response(SW.CLA_NOT_SUPPORTED);
  }

  /**
   * Runs a command that reads or changes the persistent state. On a shared card it runs on the
   * state as stored now, exclusively of every other card object on it, and answers only once
   * its write is durable: N processes guessing at one card evaluate exactly its retry limit of
   * guesses between them. When the shared state cannot be read or committed the card answers
   * 6581, its session flags as they were before the command.
   */
  private exclusive(command: () => Uint8Array): Uint8Array {
    const shared = this.shared;
    if (!shared) return command();
    let stored = this.stateValue;
    const pinVerified = this.pinVerified;
    const keyAuthenticated = this.keyAuthenticated;
    try {
      return shared.exclusively((now) => {
        stored = now;
        this.stateValue = now;
        return command();
      });
    } catch {
      this.stateValue = stored;
      this.pinVerified = pinVerified;
      this.keyAuthenticated = keyAuthenticated;
      return response(SW.MEMORY_FAILURE);
    }
  }

  /**
   * Answers data under the Le rules: T=0 cases 3/4 announce 61xx for GET RESPONSE; an Le
   * other than 00 or the exact length answers 6Cxx with the right length.
   */
  private answer(a: CommandApdu, data: Uint8Array): Uint8Array {
    if (data.length === 0) return response(SW.OK);
    if (this.t0 && (a.case === 3 || a.case === 4)) {
      this.pending = data;
      return response(SW.BYTES_AVAILABLE | (data.length & 0xff));
    }
    if (a.le === null || a.le === 256 || a.le === data.length) return response(SW.OK, data);
    return response(SW.WRONG_LE | (data.length & 0xff));
  }

  private selectDf(df: Df): void {
    this.df = df;
    this.ef = null;
    this.keyAuthenticated = false;
    this.pinVerified = false;
    this.challenge = null;
  }

  private select(a: CommandApdu): Uint8Array {
    if (a.p2 !== 0x00 && a.p2 !== 0x04 && a.p2 !== 0x0c) return response(SW.WRONG_P1P2);
    const noFci = a.p2 === 0x0c;
    switch (a.p1) {
      case 0x04: {
        if (a.data.length === 0) return response(SW.WRONG_LENGTH);
        let target: Df | null = null;
        if (bytesEqual(a.data, SSSE_AID)) target = this.ssse;
        else if (this.debit && bytesEqual(a.data, DEBIT_AID)) target = this.debit;
        if (!target) return response(SW.FILE_NOT_FOUND);
        this.selectDf(target);
        return noFci || !target.fci ? response(SW.OK) : this.answer(a, target.fci);
      }
      case 0x00:
      case 0x02: {
        if (a.data.length === 0) {
          if (a.p1 !== 0x00) return response(SW.WRONG_LENGTH);
          this.selectDf(this.mf);
          return response(SW.OK);
        }
        if (a.data.length !== 2) return response(SW.WRONG_LENGTH);
        const fid = (a.data[0]! << 8) | a.data[1]!;
        if (fid === MF_FID && a.p1 === 0x00) {
          this.selectDf(this.mf);
          return response(SW.OK);
        }
        const ef = this.df.efs.find((e) => e.fid === fid);
        if (!ef) return response(SW.FILE_NOT_FOUND);
        this.ef = ef;
        return response(SW.OK);
      }
      default:
        return response(SW.WRONG_P1P2);
    }
  }

  private resolveEf(sfi: number): Ef | number {
    if (sfi === 0) return this.ef ?? SW.NO_CURRENT_EF;
    const ef = this.df.efs.find((e) => e.sfi === sfi);
    return ef ?? SW.FILE_NOT_FOUND;
  }

  private readRecord(a: CommandApdu): Uint8Array {
    if (a.data.length > 0) return response(SW.WRONG_LENGTH);
    const mode = a.p2 & 0x07;
    if (mode !== 0x04 && mode !== 0x00) return response(SW.WRONG_P1P2);
    const ef = this.resolveEf(a.p2 >> 3);
    if (typeof ef === 'number') return response(ef);
    if (ef.kind !== 'record') return response(SW.INCOMPATIBLE_FILE);
    this.ef = ef;
    if (ef.access === 'key' && !this.keyAuthenticated) return response(SW.SECURITY_NOT_SATISFIED);
    let record: Uint8Array | undefined;
    if (mode === 0x04) {
      if (a.p1 === 0) return response(SW.WRONG_P1P2);
      record = ef.records[a.p1 - 1];
    } else {
      record = ef.records.find((r) => r[0] === a.p1);
    }
    if (!record) return response(SW.RECORD_NOT_FOUND);
    return this.answer(a, record);
  }

  private readBinary(a: CommandApdu): Uint8Array {
    if (a.data.length > 0) return response(SW.WRONG_LENGTH);
    let ef: Ef | number;
    let offset: number;
    if (a.p1 & 0x80) {
      if (a.p1 & 0x60) return response(SW.WRONG_P1P2);
      ef = this.resolveEf(a.p1 & 0x1f);
      offset = a.p2;
    } else {
      ef = this.resolveEf(0);
      offset = (a.p1 << 8) | a.p2;
    }
    if (typeof ef === 'number') return response(ef);
    if (ef.kind !== 'binary') return response(SW.INCOMPATIBLE_FILE);
    this.ef = ef;
    if (ef.access === 'key' && !this.keyAuthenticated) return response(SW.SECURITY_NOT_SATISFIED);
    if (offset >= ef.data.length) return response(0x6b00);
    const available = ef.data.length - offset;
    const want = a.le ?? 256;
    if (want > available) return response(SW.WRONG_LE | (available & 0xff));
    return response(SW.OK, ef.data.subarray(offset, offset + want));
  }

  private getResponse(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0 || a.p2 !== 0) return response(SW.WRONG_P1P2);
    if (a.data.length > 0) return response(SW.WRONG_LENGTH);
    const pending = this.pending;
    if (!pending) return response(SW.CONDITIONS_NOT_SATISFIED);
    const want = a.le ?? 256;
    if (want === 256 || want === pending.length) {
      this.pending = null;
      return response(SW.OK, pending);
    }
    if (want < pending.length) {
      this.pending = pending.subarray(want);
      return response(SW.BYTES_AVAILABLE | (this.pending.length & 0xff), pending.subarray(0, want));
    }
    return response(SW.WRONG_LE | (pending.length & 0xff));
  }

  private getChallenge(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0 || a.p2 !== 0) return response(SW.WRONG_P1P2);
    if (a.data.length > 0 || (a.le !== 4 && a.le !== 8)) return response(SW.WRONG_LENGTH);
    const rnd = this.random(a.le);
    const challenge = new Uint8Array(8);
    challenge.set(rnd, 0);
    this.challenge = challenge;
    return response(SW.OK, rnd);
  }

  private externalAuthenticate(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0) return response(SW.WRONG_P1P2);
    if (a.p2 !== KEY_RKSSSE || this.df.id !== 'SSSE') return response(SW.REFERENCED_DATA_NOT_FOUND);
    const threeDesShort = a.data.length === 8 && this.algorithm === '3des';
    if (a.data.length !== 16 && !threeDesShort) return response(SW.WRONG_LENGTH);
    if (this.stateValue.keyTriesLeft === 0) return response(SW.AUTH_BLOCKED);
    const challenge = this.challenge;
    this.challenge = null;
    if (!challenge) return response(SW.CONDITIONS_NOT_SATISFIED);
    const expected = threeDesShort
      ? encryptEcb('3des', this.authKey, challenge)
      : authCryptogram(this.algorithm, this.authKey, challenge);
    if (bytesEqual(expected, a.data)) {
      if (this.stateValue.keyTriesLeft !== KEY_RETRY_LIMIT) {
        if (!this.persist({ ...this.stateValue, keyTriesLeft: KEY_RETRY_LIMIT }))
          return response(SW.MEMORY_FAILURE);
      }
      this.keyAuthenticated = true;
      return response(SW.OK);
    }
    const left = this.stateValue.keyTriesLeft - 1;
    if (!this.persist({ ...this.stateValue, keyTriesLeft: left })) return response(SW.MEMORY_FAILURE);
    return response(SW.PIN_WRONG | left);
  }

  private internalAuthenticate(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0 || (a.p2 !== 0 && a.p2 !== KEY_RKSSSE)) return response(SW.WRONG_P1P2);
    if (this.df.id !== 'SSSE') return response(SW.REFERENCED_DATA_NOT_FOUND);
    const bs = blockSize(this.algorithm);
    if (a.data.length === 0 || a.data.length % bs !== 0) return response(SW.WRONG_LENGTH);
    return this.answer(a, encryptEcb(this.algorithm, this.authKey, a.data));
  }

  private persist(next: CardSecurityState): boolean {
    try {
      this.persistHook?.(next);
    } catch {
      return false;
    }
    this.stateValue = next;
    return true;
  }

  private getProcessingOptions(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0 || a.p2 !== 0) return response(SW.WRONG_P1P2);
    if (this.df.id !== 'DEBIT' || !this.gpoAnswer) return response(SW.CONDITIONS_NOT_SATISFIED);
    if (a.data.length < 2 || a.data[0] !== 0x83) return response(SW.WRONG_DATA);
    return this.answer(a, this.gpoAnswer);
  }
}
