import { useState } from 'react';
import type { ResultOf } from '../../core/api/contract.ts';
import { ApiCallError } from '../api-client.ts';
import { useBi, useI18n, yuan } from '../i18n.tsx';
import { useClient, useLive, useQuery } from '../live.tsx';
import './ledger.css';

/**
 * 账务: the till's transactions with their receipts and refunds, the double-entry journals of
 * the till and the host, a card's balances, the day's settlement (日结), reconciliation (对账)
 * and the forward queue of what was taken offline (立即上送).
 */

type Section = 'payments' | 'journal' | 'balances' | 'settle' | 'reconcile' | 'queue';
type Payment = ResultOf<'payments'>[number];
type Bi = { zh: string; en: string };

const SECTIONS: { id: Section; zh: string; en: string }[] = [
  { id: 'payments', zh: '交易流水', en: 'Transactions' },
  { id: 'journal', zh: '记账分录', en: 'Journals' },
  { id: 'balances', zh: '账户余额', en: 'Balances' },
  { id: 'settle', zh: '日结', en: 'Settlement' },
  { id: 'reconcile', zh: '对账', en: 'Reconciliation' },
  { id: 'queue', zh: '上送队列', en: 'Forward queue' },
];

const KIND: Record<string, Bi> = {
  payment: { zh: '消费', en: 'payment' },
  refund: { zh: '退费', en: 'refund' },
  reversal: { zh: '冲正', en: 'reversal' },
};
const METHOD: Record<string, Bi> = {
  medical: { zh: '医保个人账户', en: 'medical account' },
  reserve: { zh: '备用金', en: 'reserve' },
};
const MODE: Record<string, Bi> = {
  online: { zh: '联机', en: 'online' },
  offline: { zh: '脱机', en: 'offline' },
};
const FORWARD: Record<string, Bi> = {
  sent: { zh: '已上送', en: 'sent' },
  pending: { zh: '待上送', en: 'pending' },
};
/** The till's accounts (+ debit, − credit). */
const TERMINAL_ACCOUNT: Record<string, Bi> = {
  sales: { zh: '销售收入', en: 'sales' },
  'receivable:medical-current': { zh: '应收·医保当年 95000', en: 'receivable · medical 95000' },
  'receivable:medical-prior': { zh: '应收·医保历年 95001', en: 'receivable · medical 95001' },
  'receivable:reserve': { zh: '应收·备用金', en: 'receivable · reserve' },
  cash: { zh: '现金（自付）', en: 'cash (self-pay)' },
};
/** The host's accounts (+ credits the account, − debits it). */
const HOST_ACCOUNT: Record<string, Bi> = {
  reserve: { zh: '备用金账户', en: 'reserve account' },
  medical_current: { zh: '95000 当年医保', en: '95000 medical, this year' },
  medical_prior: { zh: '95001 历年医保', en: '95001 medical, prior years' },
  merchant: { zh: '商户清算', en: 'merchant settlement' },
  bank_funding: { zh: '银行资金', en: 'bank funding' },
  medical_funding: { zh: '医保基金', en: 'medical insurance fund' },
};
/** What a host posting was for. */
const POSTING: Record<string, Bi> = {
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
const MISMATCH: Record<string, Bi> = {
  'missing-at-host': { zh: '主机无此笔', en: 'missing at the host' },
  'missing-at-terminal': { zh: '终端无此笔', en: 'missing at the till' },
  'amount-differs': { zh: '金额不符', en: 'amount differs' },
  'split-differs': { zh: '分账不符', en: 'split differs' },
  'not-yet-forwarded': { zh: '尚未上送', en: 'not yet forwarded' },
  'record-differs': { zh: '记录不符', en: 'record differs' },
};

function label(table: Record<string, Bi>, key: string | null | undefined): Bi {
  if (!key) return { zh: '—', en: '—' };
  return table[key] ?? { zh: key, en: key };
}

function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

function shortId(id: string): string {
  return id.length > 18 ? `…${id.slice(-12)}` : id;
}

/** Yuan typed by the operator ("2.50") to fen, or null. */
function fenOf(text: string): number | null {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** The books' own bilingual text, "中文 / English", in the language shown. */
function splitBi(text: string): Bi {
  const at = text.indexOf(' / ');
  return at < 0 ? { zh: text, en: text } : { zh: text.slice(0, at), en: text.slice(at + 3) };
}

function failureText(e: unknown): Bi {
  if (e instanceof ApiCallError) return { zh: e.failure.zh, en: e.failure.en };
  const text = e instanceof Error ? e.message : String(e);
  return { zh: text, en: text };
}

function Money({ fen, className }: { fen: number | null | undefined; className?: string }) {
  return <td className={`num ${className ?? ''}`}>{yuan(fen)}</td>;
}

// ---- 交易流水 ------------------------------------------------------------------------------------

function PaymentsSection(props: {
  payments: Payment[];
  selected: string | null;
  select(id: string): void;
  showJournal(): void;
}) {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const [refundText, setRefundText] = useState('');
  const [refundResult, setRefundResult] = useState<{ ok: boolean; text: Bi } | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = props.payments.find((p) => p.paymentId === props.selected) ?? null;

  const refund = async (p: Payment) => {
    const fen = fenOf(refundText);
    if (fen === null || fen <= 0) {
      setRefundResult({
        ok: false,
        text: { zh: '请输入退费金额（元）', en: 'Type the amount to refund (yuan)' },
      });
      return;
    }
    setBusy(true);
    try {
      const r = await client.call('refund', { paymentId: p.paymentId, amountFen: fen });
      setRefundText('');
      setRefundResult({
        ok: true,
        text: {
          zh: `退费 ${yuan(r.amountFen)} 元成功（${bi(label(MODE, r.mode))}），流水号 ${r.paymentId}`,
          en: `Refunded ${yuan(r.amountFen)} yuan (${label(MODE, r.mode).en}), transaction ${r.paymentId}`,
        },
      });
    } catch (e) {
      setRefundResult({ ok: false, text: failureText(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="ledger-split" data-testid="ledger-payments">
      <div className="ledger-table-wrap">
        {props.payments.length === 0 ? (
          <p className="muted">{t('今天还没有交易。', 'No transactions yet.')}</p>
        ) : (
          <table className="ledger-table">
            <thead>
              <tr>
                <th>{t('时间', 'Time')}</th>
                <th>{t('类型', 'Kind')}</th>
                <th>{t('卡号', 'Card')}</th>
                <th>{t('账户', 'Account')}</th>
                <th className="num">{t('金额（元）', 'Amount (yuan)')}</th>
                <th>{t('方式', 'Mode')}</th>
                <th>{t('上送', 'Forwarded')}</th>
              </tr>
            </thead>
            <tbody>
              {props.payments.map((p) => (
                <tr
                  key={p.paymentId}
                  data-testid="ledger-payment-row"
                  data-payment-id={p.paymentId}
                  className={p.paymentId === props.selected ? 'selected' : undefined}
                  onClick={() => {
                    props.select(p.paymentId);
                    setRefundResult(null);
                  }}
                  tabIndex={0}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') props.select(p.paymentId);
                  }}
                >
                  <td className="small">{time(p.createdAt)}</td>
                  <td>
                    {bi(label(KIND, p.kind))}
                    {p.refPaymentId && <div className="muted small">← {shortId(p.refPaymentId)}</div>}
                  </td>
                  <td className="mono">{p.cardId}</td>
                  <td>{bi(label(METHOD, p.method))}</td>
                  <Money fen={p.kind === 'payment' ? p.amountFen : -p.amountFen} />
                  <td>
                    <span className={`tag tag-${p.mode}`}>{bi(label(MODE, p.mode))}</span>
                  </td>
                  <td>
                    <span className={p.forward === 'pending' ? 'warn' : 'muted'}>
                      {bi(label(FORWARD, p.forward))}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <aside className="ledger-detail" data-testid="ledger-payment-detail">
        {!chosen ? (
          <p className="muted">
            {t(
              '点击一笔交易查看签购单、分录和退费。',
              'Click a transaction for its receipt, journal entry and refund.',
            )}
          </p>
        ) : (
          <>
            <div className="row">
              <strong>
                {bi(label(KIND, chosen.kind))} · {yuan(chosen.amountFen)} {t('元', 'yuan')}
              </strong>
              <button type="button" data-testid="ledger-show-journal" onClick={props.showJournal}>
                {t('记账分录', 'Journal entry')}
              </button>
            </div>
            <div className="muted small mono">{chosen.paymentId}</div>
            {chosen.receiptText ? (
              <pre className="ledger-receipt mono" data-testid="ledger-receipt">
                {chosen.receiptText}
              </pre>
            ) : (
              <p className="muted">{t('无签购单', 'No receipt')}</p>
            )}
            {chosen.kind === 'payment' && (
              <form
                className="ledger-refund"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (!busy) void refund(chosen);
                }}
              >
                <label>
                  {t('退费金额（元）', 'Refund (yuan)')}{' '}
                  <input
                    data-testid="ledger-refund-amount"
                    inputMode="decimal"
                    value={refundText}
                    placeholder={yuan(chosen.amountFen)}
                    onChange={(e) => setRefundText(e.target.value)}
                  />
                </label>
                <button type="submit" className="danger" data-testid="ledger-refund" disabled={busy}>
                  {t('退费', 'Refund')}
                </button>
              </form>
            )}
            {refundResult && (
              <p className={refundResult.ok ? 'ok' : 'bad'} data-testid="ledger-refund-result">
                {bi(refundResult.text)}
              </p>
            )}
          </>
        )}
      </aside>
    </div>
  );
}

// ---- 记账分录 ------------------------------------------------------------------------------------

type TerminalLine = ResultOf<'terminalJournal'>[number];
type HostLine = ResultOf<'hostJournal'>[number];

function TerminalLines({ lines, showPayment }: { lines: TerminalLine[]; showPayment?: boolean }) {
  const { t } = useI18n();
  const bi = useBi();
  return (
    <table className="ledger-table journal">
      <thead>
        <tr>
          {showPayment && <th>{t('交易', 'Transaction')}</th>}
          <th>{t('科目', 'Account')}</th>
          <th className="num">{t('借', 'Debit')}</th>
          <th className="num">{t('贷', 'Credit')}</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((l) => (
          <tr key={l.entryId}>
            {showPayment && <td className="mono small">{shortId(l.paymentId)}</td>}
            <td>{bi(label(TERMINAL_ACCOUNT, l.account))}</td>
            <td className="num">{l.amountFen > 0 ? yuan(l.amountFen) : ''}</td>
            <td className="num">{l.amountFen < 0 ? yuan(-l.amountFen) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function HostLines({ lines, showTxn }: { lines: HostLine[]; showTxn?: boolean }) {
  const { t } = useI18n();
  const bi = useBi();
  return (
    <table className="ledger-table journal">
      <thead>
        <tr>
          {showTxn && <th>{t('业务', 'Transaction')}</th>}
          <th>{t('账户', 'Account')}</th>
          <th>{t('卡号', 'Card')}</th>
          <th className="num">{t('借', 'Debit')}</th>
          <th className="num">{t('贷', 'Credit')}</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((l) => (
          <tr key={l.entryId}>
            {showTxn && (
              <td className="small">
                {bi(label(POSTING, l.kind))} <span className="mono muted">{shortId(l.txnId)}</span>
              </td>
            )}
            <td>{bi(label(HOST_ACCOUNT, l.accountKind))}</td>
            <td className="mono small">{l.cardId ?? '—'}</td>
            {/* The bank's books: a card account going down is a debit, going up a credit. */}
            <td className="num">{l.amountFen < 0 ? yuan(-l.amountFen) : ''}</td>
            <td className="num">{l.amountFen > 0 ? yuan(l.amountFen) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Balanced({ lines }: { lines: { amountFen: number }[] }) {
  const { t } = useI18n();
  const sum = lines.reduce((s, l) => s + l.amountFen, 0);
  return sum === 0 ? (
    <span className="ok small">✔ {t('借贷平衡', 'debits equal credits')}</span>
  ) : (
    <span className="bad small">
      ✘ {t('借贷不平', 'unbalanced')} {yuan(sum)}
    </span>
  );
}

function JournalSection({
  payments,
  selected,
  select,
}: {
  payments: Payment[];
  selected: string | null;
  select(id: string): void;
}) {
  const { t } = useI18n();
  const bi = useBi();
  const paymentId = selected ?? payments[0]?.paymentId ?? null;
  const [entry, entryError] = useQuery(
    (c) => (paymentId ? c.call('payment', { paymentId }) : Promise.resolve(null)),
    [paymentId],
  );
  const [terminal] = useQuery((c) => c.call('terminalJournal', { limit: 40 }));
  const [host] = useQuery((c) => c.call('hostJournal', { limit: 40 }));
  return (
    <div data-testid="ledger-journal" className="ledger-journal">
      <div className="row">
        <label>
          {t('交易', 'Transaction')}{' '}
          <select
            data-testid="ledger-journal-payment"
            value={paymentId ?? ''}
            onChange={(e) => select(e.target.value)}
          >
            {payments.map((p) => (
              <option key={p.paymentId} value={p.paymentId}>
                {time(p.createdAt)} · {bi(label(KIND, p.kind))} · {yuan(p.amountFen)} · {shortId(p.paymentId)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {entryError && <p className="bad">{bi(failureText(entryError))}</p>}
      {entry && (
        <div className="journal-entry" data-testid="ledger-journal-entry">
          <h3>
            {t('记账分录', 'Journal entry')} · {bi(label(KIND, entry.payment.kind))}{' '}
            {yuan(entry.payment.amountFen)} {t('元', 'yuan')} · {bi(label(MODE, entry.payment.mode))}
          </h3>
          <div className="journal-pair">
            <div>
              <h4>
                {t('终端账', "Till's books")} <Balanced lines={entry.journal} />
              </h4>
              <TerminalLines lines={entry.journal} />
            </div>
            <div>
              <h4>
                {t('主机账（银行/医保）', "Host's books (bank / insurance)")}{' '}
                {entry.hostJournal.length > 0 && <Balanced lines={entry.hostJournal} />}
              </h4>
              {entry.hostJournal.length > 0 ? (
                <HostLines lines={entry.hostJournal} />
              ) : (
                <p className="warn" data-testid="ledger-host-not-yet">
                  {t('主机尚未入账：此笔待上送。', 'Not yet at the host: waiting to be forwarded.')}
                </p>
              )}
            </div>
          </div>
        </div>
      )}
      {!paymentId && <p className="muted">{t('还没有交易。', 'No transactions yet.')}</p>}
      <div className="journal-pair">
        <div>
          <h3>{t('终端日记账（最近）', "Till's journal (latest)")}</h3>
          {terminal && <TerminalLines lines={terminal} showPayment />}
        </div>
        <div>
          <h3>{t('主机日记账（最近）', "Host's journal (latest)")}</h3>
          {host && <HostLines lines={host} showTxn />}
        </div>
      </div>
    </div>
  );
}

// ---- 账户余额 ------------------------------------------------------------------------------------

function BalancesSection({ cardNumber }: { cardNumber: string | null }) {
  const { t } = useI18n();
  const bi = useBi();
  const [cards] = useQuery((c) => c.call('listCards', {}));
  const [chosen, setChosen] = useState<string | null>(null);
  const fallback =
    cards?.find((c) => c.cardNumber === cardNumber)?.id ?? cards?.find((c) => c.generation === 3)?.id;
  const cardId = chosen ?? fallback ?? null;
  const [b, error] = useQuery(
    (c) => (cardId ? c.call('balances', { cardId }) : Promise.resolve(null)),
    [cardId],
  );
  const card = cards?.find((c) => c.id === cardId);
  const rows: { key: string; zh: string; en: string; fen: number | null }[] = b
    ? [
        { key: 'reserve', zh: '备用金账户', en: 'Reserve account', fen: b.reserve },
        { key: '95000', zh: '95000 当年医保', en: '95000 medical, this year', fen: b.medicalCurrent },
        { key: '95001', zh: '95001 历年医保', en: '95001 medical, prior years', fen: b.medicalPrior },
      ]
    : [];
  return (
    <div data-testid="ledger-balances" className="ledger-balances">
      <label className="row">
        {t('卡片', 'Card')}
        <select
          data-testid="ledger-balances-card"
          value={cardId ?? ''}
          onChange={(e) => setChosen(e.target.value)}
        >
          {(cards ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.holderName} · {c.id} · {c.cardNumber}
            </option>
          ))}
        </select>
      </label>
      {error && <p className="bad">{bi(failureText(error))}</p>}
      {b && (
        <table className="ledger-table balances">
          <caption>
            {card?.holderName} · <span className="mono">{b.cardNumber}</span>
          </caption>
          <thead>
            <tr>
              <th>{t('子账户', 'Sub-account')}</th>
              <th className="num">{t('余额（元）', 'Balance (yuan)')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-testid={`ledger-balance-${r.key}`}>
                <td>{t(r.zh, r.en)}</td>
                {r.fen === null ? (
                  <td className="num muted">{t('无此账户', 'no such account')}</td>
                ) : (
                  <Money fen={r.fen} />
                )}
              </tr>
            ))}
            <tr className="total">
              <td>{t('合计', 'Total')}</td>
              <Money fen={rows.reduce((s, r) => s + (r.fen ?? 0), 0)} />
            </tr>
          </tbody>
        </table>
      )}
    </div>
  );
}

// ---- 日结 ----------------------------------------------------------------------------------------

type Settlement = ResultOf<'settlement'>['open'];

function SettlementTable({ s }: { s: Settlement }) {
  const { t } = useI18n();
  const rows: [string, Bi, number | null, number | null][] = [
    ['payments', { zh: '消费', en: 'Payments' }, s.payments, s.grossFen],
    ['refunds', { zh: '退费', en: 'Refunds' }, s.refunds, -s.refundedFen],
    ['reversals', { zh: '冲正', en: 'Reversals' }, s.reversals, -s.reversedFen],
    ['total', { zh: '净额', en: 'Net' }, null, s.totalFen],
  ];
  const accounts: [string, Bi, number][] = [
    ['mc', { zh: '医保当年 95000', en: 'Medical 95000' }, s.byAccount['receivable:medical-current']],
    ['mp', { zh: '医保历年 95001', en: 'Medical 95001' }, s.byAccount['receivable:medical-prior']],
    ['rs', { zh: '备用金', en: 'Reserve' }, s.byAccount['receivable:reserve']],
    ['cash', { zh: '现金（自付）', en: 'Cash (self-pay)' }, s.byAccount.cash],
  ];
  return (
    <div className="settle-tables">
      <table className="ledger-table">
        <thead>
          <tr>
            <th />
            <th className="num">{t('笔数', 'Count')}</th>
            <th className="num">{t('金额（元）', 'Yuan')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, l, n, fen]) => (
            <tr key={k} className={k === 'total' ? 'total' : undefined} data-testid={`ledger-settle-${k}`}>
              <td>{t(l.zh, l.en)}</td>
              <td className="num">{n ?? ''}</td>
              <Money fen={fen} />
            </tr>
          ))}
        </tbody>
      </table>
      <table className="ledger-table">
        <thead>
          <tr>
            <th>{t('结算账户', 'Settles to')}</th>
            <th className="num">{t('金额（元）', 'Yuan')}</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map(([k, l, fen]) => (
            <tr key={k}>
              <td>{t(l.zh, l.en)}</td>
              <Money fen={fen} />
            </tr>
          ))}
          <tr>
            <td>{t('待上送笔数', 'Waiting for the host')}</td>
            <td className={`num ${s.pendingForward > 0 ? 'warn' : ''}`} data-testid="ledger-settle-pending">
              {s.pendingForward}
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}

function SettleSection() {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const live = useLive();
  const [date, setDate] = useState('');
  const args = /^\d{4}-\d{2}-\d{2}$/.test(date) ? { date } : {};
  const [s, error] = useQuery((c) => c.call('settlement', args), [date]);
  const [result, setResult] = useState<{ ok: boolean; text: Bi } | null>(null);
  const [busy, setBusy] = useState(false);
  const close = async () => {
    setBusy(true);
    try {
      const r = await client.call('closeDay', args);
      setResult({
        ok: true,
        text: {
          zh: `${r.date} 日结完成（第 ${r.version} 版）：净额 ${yuan(r.totalFen)} 元${r.pendingForward ? `，${r.pendingForward} 笔待上送` : ''}`,
          en: `${r.date} closed (version ${r.version}): net ${yuan(r.totalFen)} yuan${r.pendingForward ? `, ${r.pendingForward} waiting for the host` : ''}`,
        },
      });
    } catch (e) {
      setResult({ ok: false, text: failureText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="ledger-settle" className="ledger-settle">
      <div className="row">
        <label>
          {t('营业日', 'Business date')}{' '}
          <input
            data-testid="ledger-settle-date"
            placeholder={live.workspace?.businessDate ?? 'YYYY-MM-DD'}
            value={date}
            onChange={(e) => setDate(e.target.value)}
            className="date-input"
          />
        </label>
        <button
          type="button"
          className="primary"
          data-testid="ledger-close-day"
          disabled={busy}
          onClick={() => void close()}
        >
          {t('日结', 'Close the day')}
        </button>
      </div>
      {error && <p className="bad">{bi(failureText(error))}</p>}
      {s && (
        <>
          <h3>
            {t('日结预览', 'Preview')} · {s.open.date}
          </h3>
          <SettlementTable s={s.open} />
          {s.closed ? (
            <p className="ok" data-testid="ledger-settle-closed">
              {t(
                `已日结（第 ${s.closed.version} 版，${time(s.closed.closedAt)}）：净额 ${yuan(s.closed.totalFen)} 元`,
                `Closed (version ${s.closed.version}, ${time(s.closed.closedAt)}): net ${yuan(s.closed.totalFen)} yuan`,
              )}
            </p>
          ) : (
            <p className="muted">{t('今日尚未日结。', 'Not closed yet.')}</p>
          )}
        </>
      )}
      {result && (
        <p className={result.ok ? 'ok' : 'bad'} data-testid="ledger-close-result">
          {bi(result.text)}
        </p>
      )}
    </div>
  );
}

// ---- 对账 ----------------------------------------------------------------------------------------

function ReconcileSection() {
  const { t } = useI18n();
  const bi = useBi();
  const [r, error, reload] = useQuery((c) => c.call('reconcile', {}));
  return (
    <div data-testid="ledger-reconcile" className="ledger-reconcile">
      <div className="row">
        <button type="button" className="primary" data-testid="ledger-reconcile-run" onClick={reload}>
          {t('重新对账', 'Reconcile again')}
        </button>
      </div>
      {error && (
        <p className="bad" data-testid="ledger-reconcile-error">
          {bi(failureText(error))}
        </p>
      )}
      {r && !error && (
        <>
          <p className={r.agree ? 'ok verdict' : 'bad verdict'} data-testid="ledger-reconcile-verdict">
            {r.agree
              ? t('✔ 对账一致：终端与主机记录相符', '✔ The books agree: the till and the host match')
              : t(`✘ 对账不一致：${r.mismatches.length} 处差异`, `✘ ${r.mismatches.length} mismatch(es)`)}
          </p>
          <table className="ledger-table totals">
            <tbody>
              <tr>
                <td>{t('终端合计（医保+备用金）', 'Till total (medical + reserve)')}</td>
                <Money fen={r.terminalTotalFen} />
              </tr>
              <tr>
                <td>{t('主机合计', 'Host total')}</td>
                <Money fen={r.hostTotalFen} />
              </tr>
            </tbody>
          </table>
          {r.mismatches.length > 0 && (
            <table className="ledger-table" data-testid="ledger-mismatches">
              <thead>
                <tr>
                  <th>{t('交易', 'Transaction')}</th>
                  <th>{t('差异', 'Mismatch')}</th>
                  <th>{t('说明', 'Detail')}</th>
                </tr>
              </thead>
              <tbody>
                {r.mismatches.map((m) => (
                  <tr key={`${m.paymentId}-${m.kind}`}>
                    <td className="mono small">{m.paymentId}</td>
                    <td className="bad nowrap">{bi(label(MISMATCH, m.kind))}</td>
                    <td className="small">{bi(splitBi(m.detail))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {r.notes.length > 0 && (
            <ul className="small muted">
              {r.notes.map((n) => (
                <li key={n.paymentId}>{bi(splitBi(n.detail))}</li>
              ))}
            </ul>
          )}
          {r.timedOutReversed.length > 0 && (
            <p className="small muted">
              {t('超时已冲正（净额为零）：', 'Timed out and reversed (net zero): ')}
              {r.timedOutReversed.join(', ')}
            </p>
          )}
        </>
      )}
    </div>
  );
}

// ---- 上送队列 ------------------------------------------------------------------------------------

type QueueEntry = ResultOf<'forwardQueue'>['pending'][number];

function QueueTable({ entries, testId }: { entries: QueueEntry[]; testId: string }) {
  const { t } = useI18n();
  const bi = useBi();
  return (
    <table className="ledger-table" data-testid={testId}>
      <thead>
        <tr>
          <th>{t('交易', 'Transaction')}</th>
          <th>{t('类型', 'Kind')}</th>
          <th className="num">{t('金额（元）', 'Yuan')}</th>
          <th>{t('状态', 'State')}</th>
          <th className="num">{t('尝试', 'Tries')}</th>
          <th>{t('说明', 'Note')}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.paymentId} data-testid="ledger-queue-row" data-state={e.state}>
            <td className="mono small">{e.paymentId}</td>
            <td>
              {bi(label(KIND, e.kind))} · {bi(label(MODE, e.payment.mode))}
            </td>
            <Money fen={e.payment.amountFen} />
            <td className={e.state === 'pending' ? 'warn' : 'ok'}>{bi(label(FORWARD, e.state))}</td>
            <td className="num">{e.attempts}</td>
            <td className="small">
              {e.state === 'pending'
                ? e.lastError
                  ? `${e.lastError} · ${t('下次', 'next')} ${time(e.nextAttemptAt)}`
                  : t('等待上送', 'waiting')
                : `${time(e.sentAt)}${e.origin === 'online' ? t('（联机确认）', ' (confirmed online)') : ''}`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function QueueSection() {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const [q, error] = useQuery((c) => c.call('forwardQueue', {}));
  const [result, setResult] = useState<{ ok: boolean; text: Bi } | null>(null);
  const [busy, setBusy] = useState(false);
  const sync = async () => {
    setBusy(true);
    try {
      const r = await client.call('sync', {});
      setResult({
        ok: !r.stoppedOnHostDown && r.failed === 0,
        text: r.stoppedOnHostDown
          ? {
              zh: `主机未连通，未能上送；仍有 ${r.pending} 笔待上送`,
              en: `The host is down: nothing sent; ${r.pending} still waiting`,
            }
          : {
              zh: `已上送 ${r.sent} 笔，失败 ${r.failed} 笔，剩余待上送 ${r.pending} 笔`,
              en: `Sent ${r.sent}, failed ${r.failed}, ${r.pending} still waiting`,
            },
      });
    } catch (e) {
      setResult({ ok: false, text: failureText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="ledger-queue" className="ledger-queue">
      <div className="row">
        <button
          type="button"
          className="primary"
          data-testid="ledger-sync"
          disabled={busy}
          onClick={() => void sync()}
        >
          {t('立即上送', 'Send now')}
        </button>
        <span className="muted small">
          {t(
            '脱机交易、退费和冲正在主机恢复后按顺序上送；此按钮立即上送全部待上送交易。',
            'Offline payments, refunds and reversals go to the host in order once it is back; this sends everything waiting now.',
          )}
        </span>
      </div>
      {result && (
        <p className={result.ok ? 'ok' : 'bad'} data-testid="ledger-sync-result">
          {bi(result.text)}
        </p>
      )}
      {error && <p className="bad">{bi(failureText(error))}</p>}
      {q && (
        <>
          <h3>
            {t('待上送', 'Waiting')} ({q.pending.length})
          </h3>
          {q.pending.length === 0 ? (
            <p className="muted" data-testid="ledger-queue-empty">
              {t('没有待上送的交易。', 'Nothing is waiting.')}
            </p>
          ) : (
            <QueueTable entries={q.pending} testId="ledger-queue-pending" />
          )}
          <h3>{t('已上送（最近）', 'Sent (latest)')}</h3>
          {q.sent.length === 0 ? (
            <p className="muted">—</p>
          ) : (
            <QueueTable entries={q.sent} testId="ledger-queue-sent" />
          )}
        </>
      )}
    </div>
  );
}

// ---- the panel -----------------------------------------------------------------------------------

export function LedgerPanel() {
  const { t } = useI18n();
  const bi = useBi();
  const [section, setSection] = useState<Section>('payments');
  const [selected, setSelected] = useState<string | null>(null);
  const [payments, error] = useQuery((c) => c.call('payments', { limit: 200 }));
  const list = payments ?? [];
  const selectedPayment = list.find((p) => p.paymentId === selected) ?? null;
  return (
    <section className="panel ledger-panel" data-testid="panel-ledger">
      <div className="row ledger-head">
        <h2>{t('账务', 'Ledger')}</h2>
        <nav className="ledger-menu" aria-label={t('账务', 'Ledger')}>
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              className={s.id === section ? 'active' : undefined}
              aria-current={s.id === section ? 'page' : undefined}
              data-testid={`ledger-tab-${s.id}`}
              onClick={() => setSection(s.id)}
            >
              {t(s.zh, s.en)}
            </button>
          ))}
        </nav>
      </div>
      {error && <p className="bad">{bi(failureText(error))}</p>}
      {section === 'payments' && (
        <PaymentsSection
          payments={list}
          selected={selected}
          select={setSelected}
          showJournal={() => setSection('journal')}
        />
      )}
      {section === 'journal' && <JournalSection payments={list} selected={selected} select={setSelected} />}
      {section === 'balances' && (
        <BalancesSection cardNumber={selectedPayment?.cardId ?? list[0]?.cardId ?? null} />
      )}
      {section === 'settle' && <SettleSection />}
      {section === 'reconcile' && <ReconcileSection />}
      {section === 'queue' && <QueueSection />}
    </section>
  );
}
