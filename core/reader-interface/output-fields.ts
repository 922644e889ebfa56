/**
 * The names of pOutInfo's fields, per function, in order (docs/reader-interface.md): for
 * scenario expectations (`fields: { ssn: "…" }`), tests and documentation. iReadCard's fields
 * are the items pFileAddr asked for, so they have no fixed names (use their positions).
 */
const BAS = [
  'region', // 发卡地区行政区划代码
  'ssn', // 社会保障号码
  'cardNumber', // 卡号
  'cardId', // 卡识别码
  'name', // 姓名
  'resetInfo', // 卡复位信息 (ATR historical bytes)
  'version', // 规范版本
  'issueDate', // 发卡日期
  'expiryDate', // 卡有效期
  'terminalNumber', // 终端机编号
  'readerSerial', // 终端设备号
] as const;

const STEP1 = [
  'cardId',
  'chipSerial',
  'algorithm',
  'challenge',
  'operation',
  'version',
  'region',
  'pinBlock',
  'terminalNumber',
] as const;

const SPLIT = ['medicalCurrent', 'medicalPrior', 'financial', 'selfPay'] as const;

export const OUTPUT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  iReadCardBas: BAS,
  iReadCardBas_HSM_Step1: STEP1,
  iReadCardBas_HSM_Step2: BAS,
  iReadCard: [],
  iReadCard_HSM_Step1: STEP1,
  iReadCard_HSM_Step2: [],
  iVerifyPIN: [],
  iChangePIN: [],
  iReloadPIN: [],
  iReloadPIN_HSM_Step1: STEP1,
  iReloadPIN_HSM_Step2: [],
  iUnblockPIN: [],
  iUnblockPIN_HSM_Step1: STEP1,
  iUnblockPIN_HSM_Step2: [],
  iDoDebit: ['paymentId', 'amount', ...SPLIT, 'online', 'time', 'terminalId', 'reference'],
  iReadDebitRecord: ['paymentId', 'type', 'amount', ...SPLIT, 'online', 'time', 'terminalId', 'status'],
  iGetCardType: ['version', 'cardType', 'cardId'],
  iGetReaderInfo: ['readerSerial', 'psamTerminalNumber'],
};

/** pOutInfo split into its fields (the trailing `|` dropped); [] for an empty pOutInfo. */
export function splitOutInfo(pOutInfo: string): string[] {
  if (pOutInfo === '') return [];
  return (pOutInfo.endsWith('|') ? pOutInfo.slice(0, -1) : pOutInfo).split('|');
}

/**
 * A field of a result by name (OUTPUT_FIELDS) or by 1-based position ("3"); null when the
 * output has no such field.
 */
export function outputField(functionName: string, pOutInfo: string, key: string): string | null {
  const values = splitOutInfo(pOutInfo);
  const index = /^[1-9][0-9]*$/.test(key)
    ? Number(key) - 1
    : (OUTPUT_FIELDS[functionName] ?? []).indexOf(key);
  return index >= 0 && index < values.length ? values[index]! : null;
}
