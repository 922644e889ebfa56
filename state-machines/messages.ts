import type { MessageCode, PosMessage } from './types.ts';

/** Screen texts of the till, Chinese first (the default), English for the toggle. */
const TEXTS: Record<MessageCode, { zh: string; en: string }> = {
  INSERT_CARD: { zh: '请插入社保卡', en: 'Insert the social security card' },
  READING_CARD: { zh: '正在读卡，请勿拔卡', en: 'Reading the card, do not remove it' },
  READ_FAILED: { zh: '读卡失败：{reason}', en: 'Card read failed: {reason}' },
  CARD_EXPIRED: {
    zh: '社保卡已过有效期（{expiry}），不能交易，请到银行网点换领三代卡',
    en: 'The card expired on {expiry} and cannot pay; renew it (gen 3) at a bank outlet',
  },
  CARD_LOSS_REPORTED: { zh: '此卡已挂失，不能交易', en: 'This card is reported lost and cannot pay' },
  CARD_CLOSED: { zh: '此卡已注销，不能交易', en: 'This card is closed and cannot pay' },
  CARD_NOT_ACTIVATED: {
    zh: '此卡尚未启用，请到银行网点领卡启用',
    en: 'This card is not activated yet; activate it at a bank outlet',
  },
  ENTER_AMOUNT: { zh: '请输入金额', en: 'Enter the amount' },
  INVALID_AMOUNT: { zh: '金额无效：{reason}', en: 'Invalid amount: {reason}' },
  GEN1_NO_MEDICAL: {
    zh: '一代社保卡仅有社保应用，不能进行医保支付。请持卡人到银行网点申领三代社保卡',
    en: 'A gen 1 card has the social security application only and cannot pay from the medical account. The holder should apply for a gen 3 card at a bank outlet',
  },
  GEN1_NO_FINANCIAL: {
    zh: '一代社保卡没有金融账户，不能刷卡支付。请持卡人申领三代社保卡',
    en: 'A gen 1 card has no financial account. The holder should apply for a gen 3 card',
  },
  ENTER_PASSWORD: { zh: '请输入交易密码', en: 'Enter the transaction password' },
  WRONG_PASSWORD: {
    zh: '交易密码错误，还可尝试 {triesLeft} 次',
    en: 'Wrong transaction password, {triesLeft} tries left',
  },
  PASSWORD_LOCKED: {
    zh: '交易密码已锁定，请到银行网点办理',
    en: 'The transaction password is locked; go to a bank outlet',
  },
  HOST_UNREACHABLE_GEN2: {
    zh: '主机不可达（{reason}）：二代卡的交易密码须联机由银行验证，交易未完成，请稍后重试或改用现金',
    en: 'Host unreachable ({reason}): a gen 2 card’s transaction password is checked online by the bank; the payment did not go through, retry later or pay cash',
  },
  HOST_UNREACHABLE: {
    zh: '主机不可达（{reason}），交易未完成',
    en: 'Host unreachable ({reason}); the payment did not go through',
  },
  AUTHENTICATING: { zh: '正在认证卡片（PSAM）', en: 'Authenticating the card (PSAM)' },
  AUTH_FAILED: { zh: '卡片认证失败：{reason}', en: 'Card authentication failed: {reason}' },
  ENTER_PIN: { zh: '请持卡人输入社保卡密码', en: 'Cardholder, enter the card PIN' },
  INITIAL_PIN_REFUSED: {
    zh: '初始密码不能交易。请持卡人到银行网点修改社保卡密码（初始密码 123456）后再使用',
    en: 'The initial PIN cannot be used to pay. The holder must change the card PIN (initial 123456) at a bank outlet first',
  },
  WRONG_PIN: { zh: '密码错误，还可尝试 {triesLeft} 次', en: 'Wrong PIN, {triesLeft} tries left' },
  PIN_BLOCKED: {
    zh: '社保卡密码已锁定，请持卡人到银行网点解锁',
    en: 'The card PIN is blocked; the holder must have it unblocked at a bank outlet',
  },
  CARD_ERROR: { zh: '卡片错误：{reason}', en: 'Card error: {reason}' },
  PROCESSING: { zh: '交易处理中，请勿拔卡', en: 'Processing, do not remove the card' },
  INSUFFICIENT_FUNDS: { zh: '余额不足：{reason}', en: 'Insufficient funds: {reason}' },
  PAYMENT_DECLINED: { zh: '交易被拒绝：{reason}', en: 'Payment declined: {reason}' },
  APPROVED: { zh: '交易成功', en: 'Approved' },
  APPROVED_OFFLINE: {
    zh: '交易成功（脱机，联网后自动上送）',
    en: 'Approved offline (forwarded when the link returns)',
  },
  REMOVE_CARD: { zh: '请取卡', en: 'Please remove the card' },
  CANCELLED: { zh: '交易已取消', en: 'Cancelled' },
  TIMED_OUT: { zh: '操作超时，交易已取消', en: 'Timed out; cancelled' },
  CARD_PULLED: { zh: '卡片已拔出，交易未完成', en: 'The card was removed; nothing was charged' },
  REVERSED: { zh: '交易中断，已冲正，未扣款', en: 'Interrupted; the payment was reversed, nothing charged' },
  REVERSAL_QUEUED: {
    zh: '交易中断，冲正已记录，联网后上送',
    en: 'Interrupted; the reversal is recorded and will be forwarded',
  },
};

export type Language = 'zh' | 'en';

/**
 * Parameter values the machines give as codes (the host link state), shown in the screen's
 * language only; any other value (a card's or the host's own wording) is shown as it came.
 */
const PARAM_TEXTS: Record<string, { zh: string; en: string }> = {
  HOST_TIMEOUT: { zh: '超时', en: 'timed out' },
  HOST_DOWN: { zh: '链路中断', en: 'link down' },
};

export function renderMessage(m: PosMessage, lang: Language = 'zh'): string {
  const template = TEXTS[m.code][lang];
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = m.params?.[k];
    if (v === undefined) return `{${k}}`;
    const coded = typeof v === 'string' && Object.hasOwn(PARAM_TEXTS, v) ? PARAM_TEXTS[v] : undefined;
    return coded ? coded[lang] : String(v);
  });
}

export const MESSAGE_CODES = Object.keys(TEXTS) as MessageCode[];
