/**
 * The return codes of the standard reader interface (LD/T 6001.5 as public front ends list
 * them; /work/shared/reference/reader-interface.md and docs/reader-interface.md). 0 is success;
 * a status word the card answered comes back as its negative value (0x63C2 → -25538).
 */
export const RC = {
  OK: 0,
  WRONG_CARD_TYPE: -1, // 卡类型不正确
  NO_CARD: -2, // 无卡
  CARD_NOT_POWERED: -3, // 有卡未上电
  CARD_NO_ANSWER: -4, // 卡无应答
  READER_CONNECTION: -11, // 读卡器连接错误
  NOT_CONNECTED: -12, // 未建立连接
  UNSUPPORTED: -13, // 不支持该命令
  BAD_PARAMETER: -14, // 命令参数错误
  CHECK_FAILED: -15, // 信息校验出错
  CARD_ID_FORMAT: -20, // 卡识别码格式错误
  INTERNAL_AUTH_FAILED: -21, // 内部认证失败(用户卡不合法)
  CARD_MISMATCH: -22, // 传入数据与卡内不符
  BAD_DATA: -23, // 传入数据不合法
  PSAM_KEY_LEVEL: -24, // PSAM卡密钥级别不够
  PIN_CANCELLED: -31, // 用户取消密码输入
  PIN_TIMEOUT: -32, // 密码输入操作超时
  PIN_LENGTH: -33, // 输入密码长度错误
  PIN_MISMATCH: -34, // 两次输入密码不一致
  INITIAL_PIN: -35, // 初始密码不能交易
  NEW_PIN_INITIAL: -36, // 不能改为初始密码
  ILLEGAL_CHARACTERS: -41, // 运算数据含非法字符
  DATA_LENGTH: -42, // 运算数据长度错误
  WRONG_PIN: -51, // PIN校验失败
  PIN_BLOCKED: -52, // PIN锁定
  NO_PSAM: -2201, // 无PSAM卡
  PSAM_ALGORITHM: -2202, // PSAM卡算法不支持
  PSAM_NO_RKSSSE: -2203, // PSAM卡内没有RKSSSE密钥
  HSM_NOT_NEEDED: -2204, // 不需要加密机认证
  // SSCard Lab's own codes for what the reference's table does not cover: the host's answers
  // to a debit (docs/reader-interface.md, "Codes outside the reference's table").
  HOST_UNREACHABLE: -2301, // 医保/银行主机不可达
  HOST_DECLINED: -2302, // 主机拒绝交易
  INSUFFICIENT_FUNDS: -2303, // 账户余额不足
  CARD_REFUSED: -2304, // 卡状态不能交易(过期、挂失、注销、未激活)
} as const;

export type ReturnCode = (typeof RC)[keyof typeof RC] | number;

/** What each code means, in Chinese as the reference's table gives it, and in English. */
export const CODE_MEANINGS: Record<number, { zh: string; en: string }> = {
  0: { zh: '成功', en: 'success' },
  [-1]: { zh: '卡类型不正确', en: 'wrong card type' },
  [-2]: { zh: '无卡', en: 'no card' },
  [-3]: { zh: '有卡未上电', en: 'card not powered' },
  [-4]: { zh: '卡无应答', en: 'the card does not answer' },
  [-11]: { zh: '读卡器连接错误', en: 'reader connection error' },
  [-12]: { zh: '未建立连接', en: 'no connection established' },
  [-13]: { zh: '不支持该命令', en: 'function not supported' },
  [-14]: { zh: '命令参数错误', en: 'bad parameters' },
  [-15]: { zh: '信息校验出错', en: 'check of the information failed' },
  [-20]: { zh: '卡识别码格式错误', en: 'malformed card identification code' },
  [-21]: { zh: '内部认证失败(用户卡不合法)', en: 'internal authentication failed (card not genuine)' },
  [-22]: { zh: '传入数据与卡内不符', en: 'the data passed in does not match the card' },
  [-23]: { zh: '传入数据不合法', en: 'the data passed in is invalid' },
  [-24]: { zh: 'PSAM卡密钥级别不够', en: "the PSAM's key level is insufficient" },
  [-31]: { zh: '用户取消密码输入', en: 'the holder cancelled the PIN entry' },
  [-32]: { zh: '密码输入操作超时', en: 'PIN entry timed out' },
  [-33]: { zh: '输入密码长度错误', en: 'wrong PIN length' },
  [-34]: { zh: '两次输入密码不一致', en: 'the two new PINs differ' },
  [-35]: { zh: '初始密码不能交易', en: 'the initial PIN cannot be used for transactions' },
  [-36]: { zh: '不能改为初始密码', en: 'the new PIN cannot be the initial PIN' },
  [-41]: { zh: '运算数据含非法字符', en: 'illegal characters in the data' },
  [-42]: { zh: '运算数据长度错误', en: 'wrong data length' },
  [-51]: { zh: 'PIN校验失败', en: 'wrong PIN' },
  [-52]: { zh: 'PIN锁定', en: 'PIN blocked' },
  [-2201]: { zh: '无PSAM卡', en: 'no PSAM' },
  [-2202]: { zh: 'PSAM卡算法不支持', en: "the PSAM does not support the card's algorithm" },
  [-2203]: { zh: 'PSAM卡内没有RKSSSE密钥', en: 'the PSAM holds no RKSSSE key' },
  [-2204]: { zh: '不需要加密机认证', en: 'no HSM authentication needed' },
  [-2301]: { zh: '主机不可达', en: 'host unreachable' },
  [-2302]: { zh: '主机拒绝交易', en: 'the host declined' },
  [-2303]: { zh: '账户余额不足', en: 'insufficient funds' },
  [-2304]: { zh: '卡状态不能交易', en: 'the card cannot pay in its state' },
};

/** A card status word as the interface returns it: its negative value. */
export function swCode(sw: number): number {
  return -sw;
}

/** The meaning of any code, status words included (`-27266` → 6A82 …). */
export function describeCode(code: number): { zh: string; en: string } {
  const known = CODE_MEANINGS[code];
  if (known) return known;
  if (code < -0x6000 && code >= -0xffff) {
    const sw = (-code).toString(16).toUpperCase();
    return { zh: `卡片返回状态字 ${sw}`, en: `the card answered status word ${sw}` };
  }
  return { zh: `错误 ${code}`, en: `error ${code}` };
}
