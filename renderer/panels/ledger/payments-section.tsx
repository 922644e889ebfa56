import { useState } from 'react';
import type { ResultOf } from '../../../core/api/contract.ts';
import { useBi, useI18n, yuan } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import { failureText, fenOf, shortId, time } from './format.ts';
import { FORWARD, KIND, METHOD, MODE, label, type Bi } from './labels.ts';
import { Money } from './money.tsx';

/**
 * 交易流水: the till's transactions; the chosen one's receipt, its journal entry and its refund.
 */

export type Payment = ResultOf<'payments'>[number];

export function PaymentsSection(props: {
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
