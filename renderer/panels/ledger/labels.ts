/**
 * The books' codes (kinds, accounts, modes, mismatches) in both languages: one declarative
 * table each, shared by every ledger section so a code reads the same everywhere.
 */

export type Bi = { zh: string; en: string };

export const KIND: Record<string, Bi> = {
  payment: { zh: '消费', en: 'payment' },
  refund: { zh: '退费', en: 'refund' },
  reversal: { zh: '冲正', en: 'reversal' },
};
export const METHOD: Record<string, Bi> = {
  medical: { zh: '医保个人账户', en: 'medical account' },
  reserve: { zh: '备用金', en: 'reserve' },
};
export const MODE: Record<string, Bi> = {
  online: { zh: '联机', en: 'online' },
  offline: { zh: '脱机', en: 'offline' },
};
export const FORWARD: Record<string, Bi> = {
  sent: { zh: '已上送', en: 'sent' },
  pending: { zh: '待上送', en: 'pending' },
};
/** The till's accounts (+ debit, − credit). */
export const TERMINAL_ACCOUNT: Record<string, Bi> = {
  sales: { zh: '销售收入', en: 'sales' },
  'receivable:medical-current': { zh: '应收·医保当年 95000', en: 'receivable · medical 95000' },
  'receivable:medical-prior': { zh: '应收·医保历年 95001', en: 'receivable · medical 95001' },
  'receivable:reserve': { zh: '应收·备用金', en: 'receivable · reserve' },
  cash: { zh: '现金（自付）', en: 'cash (self-pay)' },
};
/** The host's accounts (+ credits the account, − debits it). */
export const HOST_ACCOUNT: Record<string, Bi> = {
  reserve: { zh: '备用金账户', en: 'reserve account' },
  medical_current: { zh: '95000 当年医保', en: '95000 medical, this year' },
  medical_prior: { zh: '95001 历年医保', en: '95001 medical, prior years' },
  merchant: { zh: '商户清算', en: 'merchant settlement' },
  bank_funding: { zh: '银行资金', en: 'bank funding' },
  medical_funding: { zh: '医保基金', en: 'medical insurance fund' },
};
/** What a host posting was for. */
export const POSTING: Record<string, Bi> = {
  payment: { zh: '消费', en: 'payment' },
  refund: { zh: '退费', en: 'refund' },
  reversal: { zh: '冲正', en: 'reversal' },
  funding: { zh: '入账', en: 'funding' },
  opening: { zh: '期初', en: 'opening' },
  'carry-over': { zh: '跨年结转', en: 'carry-over' },
  'replacement-transfer': { zh: '补换卡转账', en: 'replacement transfer' },
  'closing-medical': { zh: '销户·医保清算', en: 'closing: medical' },
  'closing-withdrawal': { zh: '销户·现金支取', en: 'closing: cash out' },
};
export const MISMATCH: Record<string, Bi> = {
  'missing-at-host': { zh: '主机无此笔', en: 'missing at the host' },
  'missing-at-terminal': { zh: '终端无此笔', en: 'missing at the till' },
  'amount-differs': { zh: '金额不符', en: 'amount differs' },
  'split-differs': { zh: '分账不符', en: 'split differs' },
  'not-yet-forwarded': { zh: '尚未上送', en: 'not yet forwarded' },
  'record-differs': { zh: '记录不符', en: 'record differs' },
};

export function label(table: Record<string, Bi>, key: string | null | undefined): Bi {
  if (!key) return { zh: '—', en: '—' };
  return table[key] ?? { zh: key, en: key };
}
