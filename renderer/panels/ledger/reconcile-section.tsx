import { useBi, useI18n } from '../../i18n.tsx';
import { useQuery } from '../../live.tsx';
import { failureText, splitBi } from './format.ts';
import { MISMATCH, label } from './labels.ts';
import { Money } from './money.tsx';

/**
 * 对账: the till's records against the host's, with every mismatch and why.
 */

export function ReconcileSection() {
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
