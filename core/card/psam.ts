import { authCryptogram, diversify, encryptEcb, mac4, type Algorithm } from './crypto.ts';
import { concatBytes, bytesEqual } from './hex.ts';
import { encodePinBcd } from './codec.ts';
import { TEST_MASTER_KEYS } from './keys.ts';

/**
 * The terminal's PSAM, simulated: it holds the RKSSSE master key and computes, for a card
 * identified by its chip serial, the EXTERNAL AUTHENTICATE cryptogram over the card's
 * challenge, and checks the card's INTERNAL AUTHENTICATE answer. A POS holds only this.
 */
export class PsamSimulator {
  constructor(private readonly masterKey: Uint8Array = TEST_MASTER_KEYS.rksse) {}

  externalAuthenticate(alg: Algorithm, chipSerial: Uint8Array, challenge: Uint8Array): Uint8Array {
    const key = diversify(alg, this.masterKey, chipSerial);
    const c = new Uint8Array(8);
    c.set(challenge.subarray(0, 8), 0);
    return authCryptogram(alg, key, c);
  }

  /** True when the card's answer to INTERNAL AUTHENTICATE proves it holds the key. */
  checkInternalAuthenticate(
    alg: Algorithm,
    chipSerial: Uint8Array,
    sent: Uint8Array,
    answer: Uint8Array,
  ): boolean {
    const key = diversify(alg, this.masterKey, chipSerial);
    return bytesEqual(encryptEcb(alg, key, sent), answer);
  }
}

/**
 * The bank counter's key for PIN unblock and reload (84 24 / 84 5E), simulated. A POS never
 * has it, so a blocked PIN can only be released at the counter (R1.4, issue "bank counter").
 */
export class CounterPinKey {
  constructor(private readonly masterKey: Uint8Array = TEST_MASTER_KEYS.pin) {}

  private mac(alg: Algorithm, serial: Uint8Array, challenge: Uint8Array, header: number[], data: Uint8Array) {
    const key = diversify(alg, this.masterKey, serial);
    return mac4(alg, key, challenge, concatBytes(new Uint8Array(header), data));
  }

  /** `84 24 00 00 04 MAC` for the card's last 4- or 8-byte challenge. */
  unblockCommand(alg: Algorithm, chipSerial: Uint8Array, challenge: Uint8Array): Uint8Array {
    const ch = new Uint8Array(8);
    ch.set(challenge.subarray(0, 8), 0);
    const header = [0x84, 0x24, 0x00, 0x00, 0x04];
    return concatBytes(new Uint8Array(header), this.mac(alg, chipSerial, ch, header, new Uint8Array(0)));
  }

  /** `84 5E 00 00 07 <new PIN BCD> MAC`: sets a new PIN and resets its counter. */
  reloadCommand(alg: Algorithm, chipSerial: Uint8Array, challenge: Uint8Array, newPin: string): Uint8Array {
    const ch = new Uint8Array(8);
    ch.set(challenge.subarray(0, 8), 0);
    const pin = encodePinBcd(newPin);
    const header = [0x84, 0x5e, 0x00, 0x00, pin.length + 4];
    return concatBytes(new Uint8Array(header), pin, this.mac(alg, chipSerial, ch, header, pin));
  }
}
