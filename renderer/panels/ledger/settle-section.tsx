import { useState } from 'react';
import type { ResultOf } from '../../../core/api/contract.ts';
import { useBi, useI18n, yuan } from '../../i18n.tsx';
import { useClient, useLive, useQuery } from '../../live.tsx';
import { failureText, time } from './format.ts';
import type { Bi } from './labels.ts';
import { Money } from './money.tsx';

/**
 * 日结: the day's settlement, previewed and closed.
 */

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

export function SettleSection() {
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
