import type { HostBalances, PaymentMethod, PaymentSplit } from '../host/types.ts';
import { localDateTime } from '../time.ts';

/** What a receipt shows. Money in fen; the card number is masked. */
export interface ReceiptData {
  merchantName: string;
  merchantId: string;
  terminalId: string;
  paymentId: string;
  at: Date;
  cardNumber: string; // 9-character card number
  pan: string | null;
  holderName: string | null;
  generation: 1 | 2 | 3;
  method: PaymentMethod;
  amountFen: number;
  split: PaymentSplit;
  mode: 'online' | 'offline';
  balancesAfter: HostBalances | null;
  kind?: 'payment' | 'refund' | 'reversal';
  refPaymentId?: string;
}

export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** C4401003X → C44****3X; 622262371000000033 → 622262******0033. */
export function maskCardNumber(n: string): string {
  if (n.length <= 6) return '*'.repeat(n.length);
  const head = n.length > 12 ? 6 : 3;
  return n.slice(0, head) + '*'.repeat(n.length - head - 4) + n.slice(-4);
}

export function maskName(name: string | null): string {
  if (!name) return '';
  const chars = [...name];
  if (chars.length <= 1) return name;
  return chars[0] + '*'.repeat(chars.length - 1);
}

const KIND_TITLE = { payment: '消费', refund: '退费', reversal: '冲正' } as const;

/** The Chinese receipt (签购单) as plain text, 32 columns wide like a till printer. */
export function renderReceipt(r: ReceiptData): string {
  const kind = r.kind ?? 'payment';
  const line = '--------------------------------';
  const row = (k: string, v: string) => `${k}${' '.repeat(Math.max(1, 16 - width(k)))}${v}`;
  const out: string[] = [
    '     医保结算单 / 签购单',
    line,
    row('商户名称', r.merchantName),
    row('商户编号', r.merchantId),
    row('终端编号', r.terminalId),
    row('卡号', maskCardNumber(r.cardNumber)),
  ];
  if (r.pan) out.push(row('银行卡号', maskCardNumber(r.pan)));
  if (r.holderName) out.push(row('持卡人', maskName(r.holderName)));
  out.push(
    row('卡类别', `${['', '一', '二', '三'][r.generation]}代社保卡`),
    row('交易类型', `${KIND_TITLE[kind]}（${r.method === 'medical' ? '医保个人账户' : '金融账户'}）`),
    row('交易方式', r.mode === 'offline' ? '脱机（待上送）' : '联机'),
    line,
    row('金额', `¥${yuan(r.amountFen)}`),
  );
  if (r.split.medicalCurrentFen) out.push(row('  医保当年(95000)', `¥${yuan(r.split.medicalCurrentFen)}`));
  if (r.split.medicalPriorFen) out.push(row('  医保上年(95001)', `¥${yuan(r.split.medicalPriorFen)}`));
  if (r.split.reserveFen) out.push(row('  备用金账户', `¥${yuan(r.split.reserveFen)}`));
  if (r.split.selfPayFen) out.push(row('  个人自付(现金)', `¥${yuan(r.split.selfPayFen)}`));
  if (r.balancesAfter) {
    out.push(line);
    const b = r.balancesAfter;
    if (b.medicalCurrent !== null) out.push(row('95000 余额', `¥${yuan(b.medicalCurrent)}`));
    if (b.medicalPrior !== null) out.push(row('95001 余额', `¥${yuan(b.medicalPrior)}`));
    if (r.method === 'reserve' && b.reserve !== null) out.push(row('备用金余额', `¥${yuan(b.reserve)}`));
    if (r.mode === 'offline') out.push('（余额为终端脱机估算）');
  }
  out.push(line, row('交易流水号', ''), `  ${r.paymentId}`);
  if (r.refPaymentId) out.push(row('原交易流水号', ''), `  ${r.refPaymentId}`);
  out.push(
    row('交易时间', localDateTime(r.at)),
    line,
    '持卡人签名：',
    '',
    '本人确认以上交易，同意将其记入本卡账户',
  );
  return out.join('\n');
}

function width(s: string): number {
  let w = 0;
  for (const ch of s) w += ch.charCodeAt(0) > 0x2e80 ? 2 : 1;
  return w;
}
