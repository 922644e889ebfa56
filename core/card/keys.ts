import { fromHex } from './hex.ts';

/**
 * The simulator's issuer master keys. THESE ARE TEST KEYS, published here on purpose: the
 * virtual cards are personalised with keys diversified from them, so that the terminal's
 * PSAM simulation and the bank counter can talk to the cards. Real cards use keys held in
 * the issuer's HSM and never match these.
 *
 * Who holds which key, as in the field:
 * - RKSSSE (external/internal authentication of the SSSE application): the terminal's PSAM.
 * - IRK (MAC inside the card identification code): the issuer only.
 * - PIN key (PIN unblock and reload, 84 24 / 84 5E): the bank counter only; a POS lacks it.
 * - TPK (PIN-pad transport key): the reader's PIN pad and the card-management centre; the pad
 *   encrypts a new PIN under it (per card) for the centre on the HSM path of iReloadPIN.
 */
export const TEST_MASTER_KEYS = {
  rksse: fromHex('5353534552534B4559544553544B3031'),
  irk: fromHex('4952204B455920544553542053534331'),
  pin: fromHex('50494E204D4B2054455354205353434C'),
  tpk: fromHex('54504B2050494E504144205353433031'),
} as const;

export type MasterKeyName = keyof typeof TEST_MASTER_KEYS;
