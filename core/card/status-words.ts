/**
 * Status words the emulator answers, with the meanings reader programs attach to them
 * (card-reference.md §6; ISO 7816-4 and PBOC).
 */
export const SW = {
  OK: 0x9000,
  BYTES_AVAILABLE: 0x6100, // 61xx: xx bytes waiting for GET RESPONSE
  WRONG_LE: 0x6c00, // 6Cxx: re-issue with Le = xx
  PIN_WRONG: 0x63c0, // 63Cx: verification failed, x tries left
  MEMORY_FAILURE: 0x6581,
  WRONG_LENGTH: 0x6700,
  INCOMPATIBLE_FILE: 0x6981,
  SECURITY_NOT_SATISFIED: 0x6982,
  AUTH_BLOCKED: 0x6983,
  REFERENCE_DATA_INVALID: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  NO_CURRENT_EF: 0x6986,
  SM_INCORRECT: 0x6988,
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  WRONG_P1P2: 0x6a86,
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  APP_LOCKED: 0x9303,
} as const;

const MEANINGS: Record<number, string> = {
  0x9000: 'OK',
  0x6581: 'memory failure',
  0x6700: 'wrong length (Lc/Le)',
  0x6981: 'command incompatible with file structure',
  0x6982: 'security status not satisfied (authenticate first)',
  0x6983: 'authentication method blocked (PIN or key locked)',
  0x6984: 'reference data invalidated',
  0x6985: 'conditions of use not satisfied',
  0x6986: 'command not allowed (no current EF)',
  0x6988: 'incorrect secure messaging data (MAC)',
  0x6a80: 'incorrect data field',
  0x6a81: 'function not supported',
  0x6a82: 'file or application not found',
  0x6a83: 'record not found',
  0x6a86: 'incorrect P1/P2',
  0x6a88: 'referenced data not found',
  0x6d00: 'instruction not supported',
  0x6e00: 'class not supported',
  0x9303: 'application permanently locked',
};

/** Human-readable meaning of a status word, as a trace or an error message shows it. */
export function describeSw(sw: number): string {
  const hi = sw >> 8;
  const lo = sw & 0xff;
  if (hi === 0x61) return `${lo} bytes available (GET RESPONSE)`;
  if (hi === 0x6c) return `wrong Le, re-issue with Le=${lo.toString(16).toUpperCase().padStart(2, '0')}`;
  if (hi === 0x63 && (lo & 0xf0) === 0xc0) return `verification failed, ${lo & 0x0f} tries left`;
  return MEANINGS[sw] ?? 'unknown status';
}

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}
