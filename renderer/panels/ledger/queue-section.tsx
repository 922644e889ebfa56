import { useState } from 'react';
import type { ResultOf } from '../../../core/api/contract.ts';
import { useBi, useI18n } from '../../i18n.tsx';
import { useClient, useQuery } from '../../live.tsx';
import { failureText, time } from './format.ts';
import { FORWARD, KIND, MODE, label, type Bi } from './labels.ts';
import { Money } from './money.tsx';

/**
 * 上送队列: what was taken offline and waits for the host, what was sent, and 立即上送.
 */

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

export function QueueSection() {
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
