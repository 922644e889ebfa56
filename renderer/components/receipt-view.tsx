import { useEffect, type ReactNode } from 'react';
import type { PaymentOutcome } from '../../state-machines/types.ts';
import { useI18n, yuan } from '../i18n.tsx';
import './receipt-view.css';

export interface ReceiptViewProps {
  outcome: PaymentOutcome;
  /** false once the card is out: the receipt of the previous sale, kept for printing. */
  current: boolean;
}

/**
 * The receipt text with each wide (CJK) character in a two-column cell: the till lays the
 * receipt out in columns counting those as two (as core/pos/receipt.ts does), which no common
 * font matches exactly.
 */
function receiptColumns(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let run = '';
  let key = 0;
  for (const ch of text) {
    if ((ch.codePointAt(0) ?? 0) > 0x2e80) {
      if (run) out.push(run);
      run = '';
      out.push(
        <span key={key++} className="wide">
          {ch}
        </span>,
      );
    } else run += ch;
  }
  if (run) out.push(run);
  return out;
}

/** Marks the page while the receipt prints, so the print CSS shows the receipt alone. */
const PRINTING = 'printing-receipt';

/**
 * 小票: the receipt as the till printed it (monospace, Chinese), the split of the amount
 * (95000 当年 / 95001 历年 / 金融账户 / 现金自付), the balances after, and a print button that
 * prints only the receipt.
 */
export function ReceiptView({ outcome, current }: ReceiptViewProps) {
  const { t } = useI18n();
  useEffect(() => {
    const done = () => document.body.classList.remove(PRINTING);
    window.addEventListener('afterprint', done);
    return () => {
      window.removeEventListener('afterprint', done);
      done();
    };
  }, []);

  const print = () => {
    document.body.classList.add(PRINTING);
    try {
      window.print();
    } finally {
      // Chromium's print() returns once the dialog closes; afterprint may not fire headless.
      document.body.classList.remove(PRINTING);
    }
  };

  const s = outcome.split;
  const parts: { key: string; label: string; fen: number }[] = [
    {
      key: 'current',
      label: t('医保当年账户 95000', 'Medical, current year 95000'),
      fen: s.medicalCurrentFen,
    },
    { key: 'prior', label: t('医保历年账户 95001', 'Medical, prior years 95001'), fen: s.medicalPriorFen },
    { key: 'reserve', label: t('金融账户（备用金）', 'Bank account (reserve)'), fen: s.reserveFen },
    { key: 'cash', label: t('个人自付（现金）', 'Self-pay (cash)'), fen: s.selfPayFen },
  ];
  const b = outcome.balancesAfter;

  return (
    <section className="receipt-view" data-testid="receipt" aria-label={t('小票', 'Receipt')}>
      <div className="receipt-head no-print">
        <h3>{current ? t('小票', 'Receipt') : t('上一笔交易的小票', 'Receipt of the previous sale')}</h3>
        <span
          className={outcome.mode === 'online' ? 'receipt-mode ok' : 'receipt-mode warn'}
          data-testid="receipt-mode"
        >
          {outcome.mode === 'online' ? t('联机', 'Online') : t('脱机（待上送）', 'Offline (to be forwarded)')}
        </span>
        <span className="spacer" />
        <button
          type="button"
          className="primary"
          data-testid="print-receipt"
          title={t('只打印小票', 'Print the receipt only')}
          onClick={print}
        >
          {t('打印', 'Print')}
        </button>
      </div>
      <div className="receipt-body">
        <pre className="receipt-paper mono" data-testid="receipt-text">
          {receiptColumns(outcome.receiptText)}
        </pre>
        <div className="receipt-side no-print">
          <table className="receipt-split" data-testid="receipt-split">
            <caption>{t('支付构成', 'How it was paid')}</caption>
            <tbody>
              {parts.map((p) => (
                <tr key={p.key} className={p.fen ? '' : 'muted'} data-testid={`split-${p.key}`}>
                  <th scope="row">{p.label}</th>
                  <td className="num mono">¥{yuan(p.fen)}</td>
                </tr>
              ))}
              <tr className="receipt-total">
                <th scope="row">{t('合计', 'Total')}</th>
                <td className="num mono" data-testid="receipt-amount">
                  ¥{yuan(outcome.amountFen)}
                </td>
              </tr>
            </tbody>
          </table>
          {b && (
            <table className="receipt-balances" data-testid="receipt-balances">
              <caption>
                {outcome.mode === 'online'
                  ? t('交易后余额', 'Balances after')
                  : t('交易后余额（终端估算）', 'Balances after (the till’s estimate)')}
              </caption>
              <tbody>
                <tr>
                  <th scope="row">95000 {t('当年', 'current')}</th>
                  <td className="num mono">
                    {b.medicalCurrent === null ? t('未开通', 'none') : `¥${yuan(b.medicalCurrent)}`}
                  </td>
                </tr>
                <tr>
                  <th scope="row">95001 {t('历年', 'prior')}</th>
                  <td className="num mono">
                    {b.medicalPrior === null ? t('未开通', 'none') : `¥${yuan(b.medicalPrior)}`}
                  </td>
                </tr>
                <tr>
                  <th scope="row">{t('金融账户', 'Bank account')}</th>
                  <td className="num mono">
                    {b.reserve === null ? t('未开通', 'none') : `¥${yuan(b.reserve)}`}
                  </td>
                </tr>
              </tbody>
            </table>
          )}
          <div className="receipt-id muted mono" title={t('交易流水号', 'Transaction id')}>
            {outcome.paymentId}
          </div>
        </div>
      </div>
    </section>
  );
}
