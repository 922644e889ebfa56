import { READ_CARD_BAS_CHECKS } from './checks/read-card-bas.ts';
import { VERIFY_PIN_CHECKS } from './checks/verify-pin.ts';
import { CHANGE_PIN_CHECKS } from './checks/change-pin.ts';
import { RELOAD_PIN_CHECKS } from './checks/reload-pin.ts';
import { UNBLOCK_PIN_CHECKS } from './checks/unblock-pin.ts';
import { DEBIT_CHECKS } from './checks/debit.ts';
import { APDU_CHECKS } from './checks/apdu.ts';
import { PULL_CHECKS } from './checks/pull.ts';
import type { ConformanceCheck } from './checks/check-model.ts';

export { GROUPS, type CheckGroup, type CheckKind, type ConformanceCheck } from './checks/check-model.ts';

/**
 * The conformance pack: the documented list of checks (docs/conformance.md has the same
 * table for QA test plans). Checks are grouped under the reader-interface functions that
 * Chinese terminal test plans use (LD/T 6001.5 style: iReadCardBas, iVerifyPIN, iChangePIN,
 * iReloadPIN, iUnblockPIN, iDoDebit, iReadDebitRecord), plus the status words of malformed
 * commands and the card-pull (防拔) checks. References (§n) are to card-reference.md.
 *
 * Every check runs against a real card too: what only a simulated card can do (the test
 * keys of the PSAM and of the bank counter, pulling the card) is skipped with a reason.
 *
 * Each group lives in checks/<group>.ts; this list fixes their order, which reports and
 * the docs table follow.
 */
export const CHECKS: readonly ConformanceCheck[] = [
  ...READ_CARD_BAS_CHECKS,
  ...VERIFY_PIN_CHECKS,
  ...CHANGE_PIN_CHECKS,
  ...RELOAD_PIN_CHECKS,
  ...UNBLOCK_PIN_CHECKS,
  ...DEBIT_CHECKS,
  ...APDU_CHECKS,
  ...PULL_CHECKS,
];

/** The check list by id. */
export function checkById(id: string): ConformanceCheck | undefined {
  return CHECKS.find((c) => c.id === id);
}
