import { response, type CommandApdu } from './apdu.ts';
import { SW } from './status-words.ts';
import { bytesEqual, concatBytes } from './hex.ts';
import { decodePinBcd } from './codec.ts';
import { mac4, type Algorithm } from './crypto.ts';
import { hashSecret, verifySecret, INITIAL_PIN } from './pin.ts';
import type { CardSecurityState } from './social-security-card.ts';

/**
 * The card's PIN commands — VERIFY, CHANGE PIN (PBOC 80 5E and ISO 00 24), and the bank
 * counter's MACed PIN UNBLOCK and RELOAD PIN (card-reference.md §5) — apart from the file
 * system and authentication of SocialSecurityCard, which dispatches to them. They see the
 * card only through PinCard: the persistent PIN state, the session's "PIN verified" flag and
 * the last challenge.
 */

/** What the PIN commands need from the card they run on. */
export interface PinCard {
  readonly algorithm: Algorithm;
  /** The card's diversified key for the bank counter's MACs. */
  readonly pinKey: Uint8Array;
  /** R1.4: an unchanged initial PIN answers 6985 instead of 9000. */
  readonly refuseInitialPin: boolean;
  state(): CardSecurityState;
  /** Writes the persistent state first (false: the write failed, answer 6581). */
  persist(next: CardSecurityState): boolean;
  pinApplicationSelected(): boolean;
  pinVerified(): boolean;
  setPinVerified(verified: boolean): void;
  /** The last GET CHALLENGE, consumed: a challenge serves one command. */
  takeChallenge(): Uint8Array | null;
}

export class PinCommands {
  constructor(private readonly card: PinCard) {}

  /**
   * Common PIN check: answers null when the PIN matched, else the response to send. A match
   * resets the counter unless `resetOnMatch` is false (the caller's own single write does it).
   */
  private checkPin(pin: string, resetOnMatch = true): Uint8Array | null {
    const s = this.card.state();
    if (verifySecret(s.pinHash, pin)) {
      if (
        resetOnMatch &&
        s.pinTriesLeft !== s.pinRetryLimit &&
        !this.card.persist({ ...s, pinTriesLeft: s.pinRetryLimit })
      ) {
        return response(SW.MEMORY_FAILURE);
      }
      return null;
    }
    const left = s.pinTriesLeft - 1;
    if (!this.card.persist({ ...s, pinTriesLeft: left })) return response(SW.MEMORY_FAILURE);
    this.card.setPinVerified(false);
    return response(SW.PIN_WRONG | left);
  }

  verify(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0) return response(SW.WRONG_P1P2);
    if (a.p2 !== 0 || !this.card.pinApplicationSelected()) return response(SW.REFERENCED_DATA_NOT_FOUND);
    const s = this.card.state();
    if (a.data.length === 0) {
      if (a.case === 2) return response(SW.WRONG_LENGTH);
      if (s.pinTriesLeft === 0) return response(SW.AUTH_BLOCKED);
      return response(this.card.pinVerified() ? SW.OK : SW.PIN_WRONG | s.pinTriesLeft);
    }
    if (a.data.length > 8) return response(SW.WRONG_LENGTH);
    if (s.pinTriesLeft === 0) return response(SW.AUTH_BLOCKED);
    const pin = decodePinBcd(a.data);
    if (pin === null || pin.length < 4) return response(SW.WRONG_DATA);
    const fail = this.checkPin(pin);
    if (fail) return fail;
    if (s.pinInitial && this.card.refuseInitialPin) {
      // R1.4: an unchanged initial PIN is not enabled for transactions. The try is not
      // counted; the terminal shows 初始密码不能交易 and sends the holder to a bank outlet.
      return response(SW.CONDITIONS_NOT_SATISFIED);
    }
    this.card.setPinVerified(true);
    return response(SW.OK);
  }

  private splitOldNew(data: Uint8Array, allowHalves: boolean): [string, string] | null {
    const sep = data.indexOf(0xff);
    let oldBytes: Uint8Array;
    let newBytes: Uint8Array;
    if (sep > 0) {
      oldBytes = data.subarray(0, sep);
      newBytes = data.subarray(sep + 1);
    } else if (allowHalves && data.length % 2 === 0) {
      oldBytes = data.subarray(0, data.length / 2);
      newBytes = data.subarray(data.length / 2);
    } else return null;
    const oldPin = decodePinBcd(oldBytes);
    const newPin = decodePinBcd(newBytes);
    if (oldPin === null || newPin === null || oldPin.length < 4) return null;
    return [oldPin, newPin];
  }

  private changeWith(oldPin: string, newPin: string): Uint8Array {
    if (this.card.state().pinTriesLeft === 0) return response(SW.AUTH_BLOCKED);
    // The card refuses a new PIN that is not six digits, and the initial PIN 123456 as a
    // new PIN (interface spec error -36 不能改为初始密码).
    if (!/^[0-9]{6}$/.test(newPin) || newPin === INITIAL_PIN) return response(SW.WRONG_DATA);
    // The counter reset and the new PIN go in one write: a refused write (6581) changes nothing.
    const fail = this.checkPin(oldPin, false);
    if (fail) return fail;
    const s = this.card.state();
    if (
      !this.card.persist({
        ...s,
        pinHash: hashSecret(newPin),
        pinTriesLeft: s.pinRetryLimit,
        pinInitial: false,
      })
    ) {
      return response(SW.MEMORY_FAILURE);
    }
    this.card.setPinVerified(false);
    return response(SW.OK);
  }

  /** PBOC CHANGE PIN: 80 5E 01 00 Lc old ‖ FF ‖ new. */
  changePin(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0x01 || a.p2 !== 0x00) return response(SW.WRONG_P1P2);
    if (!this.card.pinApplicationSelected()) return response(SW.REFERENCED_DATA_NOT_FOUND);
    if (a.data.length < 5 || a.data.length > 17) return response(SW.WRONG_LENGTH);
    const pins = this.splitOldNew(a.data, false);
    if (!pins) return response(SW.WRONG_DATA);
    return this.changeWith(pins[0], pins[1]);
  }

  /** ISO CHANGE REFERENCE DATA: 00 24 00 00 Lc old ‖ new (equal halves, or old ‖ FF ‖ new). */
  changeReferenceData(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0x00) return response(SW.WRONG_P1P2);
    if (a.p2 !== 0x00 || !this.card.pinApplicationSelected()) return response(SW.REFERENCED_DATA_NOT_FOUND);
    if (a.data.length < 4 || a.data.length > 17) return response(SW.WRONG_LENGTH);
    const pins = this.splitOldNew(a.data, true);
    if (!pins) return response(SW.WRONG_DATA);
    return this.changeWith(pins[0], pins[1]);
  }

  /** Checks the MAC of an 84-class command against the last challenge (consumed). */
  private checkMac(a: CommandApdu, macd: Uint8Array, mac: Uint8Array): number | null {
    const challenge = this.card.takeChallenge();
    if (!challenge) return SW.CONDITIONS_NOT_SATISFIED;
    const header = new Uint8Array([a.cla, a.ins, a.p1, a.p2, a.data.length]);
    const expected = mac4(this.card.algorithm, this.card.pinKey, challenge, concatBytes(header, macd));
    return bytesEqual(expected, mac) ? null : SW.SM_INCORRECT;
  }

  /** PIN UNBLOCK (bank counter only): 84 24 00 00 04 MAC. Resets the counter, keeps the PIN. */
  unblockPin(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0 || a.p2 !== 0) return response(SW.WRONG_P1P2);
    if (!this.card.pinApplicationSelected()) return response(SW.REFERENCED_DATA_NOT_FOUND);
    if (a.data.length !== 4) return response(SW.WRONG_LENGTH);
    const bad = this.checkMac(a, new Uint8Array(0), a.data);
    if (bad !== null) return response(bad);
    if (!this.card.persist({ ...this.card.state(), pinTriesLeft: this.card.state().pinRetryLimit })) {
      return response(SW.MEMORY_FAILURE);
    }
    return response(SW.OK);
  }

  /** RELOAD PIN (bank counter only): 84 5E 00 00 Lc new-PIN ‖ MAC. Sets the PIN, resets the counter. */
  reloadPin(a: CommandApdu): Uint8Array {
    if (a.p1 !== 0 || a.p2 !== 0) return response(SW.WRONG_P1P2);
    if (!this.card.pinApplicationSelected()) return response(SW.REFERENCED_DATA_NOT_FOUND);
    if (a.data.length < 6 || a.data.length > 12) return response(SW.WRONG_LENGTH);
    const pinBytes = a.data.subarray(0, a.data.length - 4);
    const bad = this.checkMac(a, pinBytes, a.data.subarray(a.data.length - 4));
    if (bad !== null) return response(bad);
    const pin = decodePinBcd(pinBytes);
    if (pin === null || !/^[0-9]{6}$/.test(pin)) return response(SW.WRONG_DATA);
    const s = this.card.state();
    const next = {
      ...s,
      pinHash: hashSecret(pin),
      pinTriesLeft: s.pinRetryLimit,
      pinInitial: pin === INITIAL_PIN,
    };
    if (!this.card.persist(next)) return response(SW.MEMORY_FAILURE);
    this.card.setPinVerified(false);
    return response(SW.OK);
  }
}
