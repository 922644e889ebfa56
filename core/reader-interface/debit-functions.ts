import { PosTerminal } from '../pos/terminal.ts';
import { localDateTime } from '../time.ts';
import type { PaymentMethod, PaymentSplit } from '../host/types.ts';
import type { TerminalPayment } from '../pos/terminal-ledger.ts';
import { MAX_AMOUNT_FEN, type MessageCode, type PaymentOutcome } from '../../state-machines/types.ts';
import { RC } from './codes.ts';
import { failWith, InterfaceFailure, openCard } from './card-access.ts';
import { checkCardInfo } from './card-info.ts';
import { fields, type DebitTill, type FunctionImpl, type InterfaceContext } from './context.ts';
import type { ReaderInterfaceSettings } from './settings.ts';
import { takePin } from './pin-entry.ts';

/**
 * iDoDebit and iReadDebitRecord: a medical or financial debit through the host, as the till
 * takes it — the POS payment path of core/pos (PosTerminal: the generation's machine, PSAM
 * authentication, the card's PIN or the bank's password, the host, the till's books,
 * offline-first gen 3, reversal of an interrupted debit) — and the record of it.
 *
 * pPayInfo: 交易金额 | 支付方式 | [业务流水号 |]
 *   交易金额 yuan with two decimals ("12.50"; settings.amountUnit 'fen': whole fen "1250");
 *   支付方式 1 医保 (medical accounts 95000 then 95001) or 2 金融 (the financial account);
 *   业务流水号 optional, the caller's reference (up to 32 of 0-9 A-Z a-z - _), echoed back.
 *
 * iDoDebit's pOutInfo, 10 fields:
 *   交易流水号 | 交易金额 | 当年账户支付 | 历年账户支付 | 金融账户支付 | 现金自付 |
 *   联机标志 (1 online, 0 offline) | 交易时间 (YYYYMMDDHHmmss, Beijing) | 终端号 | 业务流水号 |
 *
 * iReadDebitRecord's pOutInfo: the card's latest debits at this till, newest first
 * (settings.debitRecordCount of them), 11 fields each:
 *   交易流水号 | 交易类型 (01 消费) | 交易金额 | 当年账户支付 | 历年账户支付 | 金融账户支付 |
 *   现金自付 | 联机标志 | 交易时间 | 终端号 | 状态 (0 正常, 1 已冲正, 2 已退费) |
 */

export interface PayInfo {
  amountFen: number;
  method: PaymentMethod;
  reference: string;
}

export function parsePayInfo(text: string, unit: ReaderInterfaceSettings['amountUnit']): PayInfo | string {
  if (!text.endsWith('|'))
    return 'pPayInfo must be 交易金额|支付方式|[业务流水号|], each field followed by "|"';
  const f = text.slice(0, -1).split('|');
  if (f.length < 2 || f.length > 3) return `pPayInfo must have 2 or 3 fields, not ${f.length}`;
  const [amount, method, reference = ''] = f as [string, string, string?];
  let amountFen: number;
  if (unit === 'yuan') {
    const m = /^([0-9]{1,7})\.([0-9]{2})$/.exec(amount);
    if (!m) return `pPayInfo field 1 ("${amount.slice(0, 20)}") must be yuan with two decimals, e.g. 12.50`;
    amountFen = Number(m[1]) * 100 + Number(m[2]);
  } else {
    if (!/^[0-9]{1,9}$/.test(amount))
      return `pPayInfo field 1 ("${amount.slice(0, 20)}") must be whole fen, e.g. 1250`;
    amountFen = Number(amount);
  }
  if (amountFen <= 0 || amountFen > MAX_AMOUNT_FEN)
    return 'pPayInfo field 1: the amount must be above 0 and at most 9,999,999.99 yuan';
  if (method !== '1' && method !== '2')
    return `pPayInfo field 2 ("${method.slice(0, 20)}") must be 1 (医保) or 2 (金融)`;
  if (!/^[0-9A-Za-z_-]{0,32}$/.test(reference))
    return 'pPayInfo field 3 (业务流水号) must be up to 32 of 0-9 A-Z a-z - _';
  return { amountFen, method: method === '1' ? 'medical' : 'reserve', reference };
}

export function formatAmount(fen: number, unit: ReaderInterfaceSettings['amountUnit']): string {
  if (unit === 'fen') return String(fen);
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

const compactTime = (iso: string) => localDateTime(new Date(iso)).replace(/[- :]/g, '');

/** A declined session's message as the interface's code. */
const DECLINE_CODES: Partial<Record<MessageCode, number>> = {
  GEN1_NO_MEDICAL: RC.WRONG_CARD_TYPE,
  GEN1_NO_FINANCIAL: RC.WRONG_CARD_TYPE,
  INVALID_AMOUNT: RC.BAD_DATA,
  INITIAL_PIN_REFUSED: RC.INITIAL_PIN,
  PIN_BLOCKED: RC.PIN_BLOCKED,
  PASSWORD_LOCKED: RC.PIN_BLOCKED,
  WRONG_PIN: RC.WRONG_PIN,
  WRONG_PASSWORD: RC.WRONG_PIN,
  AUTH_FAILED: RC.INTERNAL_AUTH_FAILED,
  HOST_UNREACHABLE_GEN2: RC.HOST_UNREACHABLE,
  HOST_UNREACHABLE: RC.HOST_UNREACHABLE,
  INSUFFICIENT_FUNDS: RC.INSUFFICIENT_FUNDS,
  PAYMENT_DECLINED: RC.HOST_DECLINED,
  CARD_EXPIRED: RC.CARD_REFUSED,
  CARD_LOSS_REPORTED: RC.CARD_REFUSED,
  CARD_CLOSED: RC.CARD_REFUSED,
  CARD_NOT_ACTIVATED: RC.CARD_REFUSED,
  CARD_PULLED: RC.NO_CARD,
  REVERSED: RC.NO_CARD,
  REVERSAL_QUEUED: RC.NO_CARD,
  READ_FAILED: RC.CARD_NO_ANSWER,
  CARD_ERROR: RC.CARD_NO_ANSWER,
  CANCELLED: RC.PIN_CANCELLED,
  TIMED_OUT: RC.PIN_TIMEOUT,
};

function needTill(ctx: InterfaceContext, fn: string): DebitTill {
  if (!ctx.till) failWith(RC.UNSUPPORTED, `${fn} needs a till (host and books); this session has none`);
  return ctx.till;
}

function splitFields(split: PaymentSplit, unit: ReaderInterfaceSettings['amountUnit']): string[] {
  return [split.medicalCurrentFen, split.medicalPriorFen, split.reserveFen, split.selfPayFen].map((f) =>
    formatAmount(f, unit),
  );
}

export const iDoDebit: FunctionImpl = async (ctx, p) => {
  const till = needTill(ctx, 'iDoDebit');
  const pay = parsePayInfo(String(p.pPayInfo), ctx.settings.amountUnit);
  if (typeof pay === 'string') failWith(RC.BAD_PARAMETER, pay);
  const card = await openCard(ctx.reader);
  checkCardInfo(String(p.pCardInfo), card);
  const outcome = await runDebit(ctx, till, pay);
  const unit = ctx.settings.amountUnit;
  return {
    pOutInfo: fields([
      outcome.paymentId,
      formatAmount(outcome.amountFen, unit),
      ...splitFields(outcome.split, unit),
      outcome.mode === 'online' ? '1' : '0',
      compactTime(outcome.at),
      till.pos.ledger.terminalId,
      pay.reference,
    ]),
  };
};

/**
 * One payment on a PosTerminal of its own (the same host, books and reader as the till, not
 * listening to the reader's events): the card is presented, the amount entered, the holder's
 * PIN or password taken from the PIN pad once. A wrong PIN ends the call with -51 and the
 * tries left, as the PIN functions do; the caller calls again.
 */
async function runDebit(ctx: InterfaceContext, till: DebitTill, pay: PayInfo): Promise<PaymentOutcome> {
  const { pos } = till;
  const t = new PosTerminal({
    reader: ctx.reader,
    host: till.host ?? pos.host,
    ledger: pos.ledger,
    db: pos.store.db,
    clock: pos.clock,
    psam: ctx.psam,
    ...(till.medicalOrder ? { medicalOrder: till.medicalOrder } : {}),
    ...(till.shortfall ? { shortfall: till.shortfall } : {}),
    ...(till.merchantName ? { merchantName: till.merchantName } : {}),
  });
  t.actor.start();
  try {
    t.send({ type: 'CARD_INSERTED' });
    await t.settled();
    if (t.snapshot.matches('session')) {
      t.send({ type: 'AMOUNT_ENTERED', amountFen: pay.amountFen, method: pay.method });
      await t.settled();
    }
    if (/awaiting(Pin|Password)/.test(t.stateName())) {
      let pin: string;
      try {
        pin = await takePin(ctx, 'iDoDebit', 'pin');
      } catch (e) {
        t.send({ type: 'CANCEL' });
        await t.settled();
        throw e;
      }
      t.send({ type: 'PIN_ENTERED', pin });
      await t.settled();
    }
    if (t.snapshot.matches('session')) {
      // Asking again after a wrong PIN or password: the holder's try is spent; end here.
      const m = t.message();
      t.send({ type: 'CANCEL' });
      await t.settled();
      const left = Number(m.params?.triesLeft ?? 0);
      failWith(
        RC.WRONG_PIN,
        `wrong ${m.code === 'WRONG_PASSWORD' ? 'password' : 'PIN'}, ${left} tries left`,
        `${left}|`,
      );
    }
    const { last } = t.snapshot.context;
    if (last?.result === 'paid' && last.outcome) return last.outcome;
    const message = last?.message ?? t.snapshot.context.message;
    const code = DECLINE_CODES[message.code] ?? RC.HOST_DECLINED;
    const why = message.params ? ` ${JSON.stringify(message.params)}` : '';
    throw new InterfaceFailure(code, `the till declined: ${message.code}${why}`);
  } finally {
    t.stop();
  }
}

function recordStatus(pos: DebitTill['pos'], payment: TerminalPayment): string {
  const related = pos.ledger.payments({ refPaymentId: payment.paymentId });
  if (related.some((r) => r.kind === 'reversal')) return '1';
  if (related.some((r) => r.kind === 'refund')) return '2';
  return '0';
}

export const iReadDebitRecord: FunctionImpl = async (ctx) => {
  const till = needTill(ctx, 'iReadDebitRecord');
  const card = await openCard(ctx.reader);
  const unit = ctx.settings.amountUnit;
  const debits = till.pos.ledger
    .payments({ cardId: card.cardNumber, kind: 'payment' })
    .sort((a, b) => b.seq - a.seq)
    .slice(0, ctx.settings.debitRecordCount);
  if (debits.length === 0) failWith(-0x6a83, `no debit of card ${card.cardNumber} in this till's books`);
  return {
    pOutInfo: debits
      .map((d) =>
        fields([
          d.paymentId,
          '01',
          formatAmount(d.amountFen, unit),
          ...splitFields(d.split, unit),
          d.mode === 'online' ? '1' : '0',
          compactTime(d.createdAt),
          d.terminalId,
          recordStatus(till.pos, d),
        ]),
      )
      .join(''),
  };
};
