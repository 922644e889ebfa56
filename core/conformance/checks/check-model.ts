import type { CheckContext } from '../context.ts';

/**
 * What a conformance check is, and the groups it is listed under: the shape every group
 * file fills in and the runner, the CLI and docs/conformance.md read.
 */

export type CheckGroup =
  | 'iReadCardBas'
  | 'iVerifyPIN'
  | 'iChangePIN'
  | 'iReloadPIN'
  | 'iUnblockPIN'
  | 'iDoDebit'
  | 'iReadDebitRecord'
  | 'apdu'
  | 'pull';

/** Which option runs a check: read-only by default, PIN checks, card-pull checks. */
export type CheckKind = 'read' | 'pin' | 'pull';

export interface ConformanceCheck {
  id: string;
  group: CheckGroup;
  kind: CheckKind;
  /** Also needs --pin-checks (a pull check that touches the PIN counter). */
  needsPin?: boolean;
  /** Needs the simulator's test keys; on a real card it is skipped with `realCardReason`. */
  virtualOnly?: string;
  zh: string;
  en: string;
  /** Reference section(s) in card-reference.md, or the standard. */
  ref: string;
  /** The expected answer, as the docs table shows it. */
  expect: string;
  /** Passes by returning (optionally a note), fails or skips by throwing (ctx.fail/ctx.skip). */
  run(ctx: CheckContext): Promise<string | void>;
}

export const GROUPS: Record<CheckGroup, { zh: string; en: string }> = {
  iReadCardBas: { zh: '读基本信息', en: 'read basic card information' },
  iVerifyPIN: { zh: '校验 PIN', en: 'verify the PIN' },
  iChangePIN: { zh: '修改 PIN', en: 'change the PIN' },
  iReloadPIN: { zh: '重装 PIN', en: 'reload the PIN' },
  iUnblockPIN: { zh: '解锁 PIN', en: 'unblock the PIN' },
  iDoDebit: { zh: '金融应用（借记）', en: 'debit application' },
  iReadDebitRecord: { zh: '读金融应用记录', en: 'read the debit application records' },
  apdu: { zh: '异常指令状态字', en: 'status words of malformed commands' },
  pull: { zh: '防拔', en: 'card pulled during a command' },
};
