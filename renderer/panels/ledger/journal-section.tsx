import { useBi, useI18n, yuan } from '../../i18n.tsx';
import { useQuery } from '../../live.tsx';
import { failureText, shortId, time } from './format.ts';
import { Balanced, HostLines, TerminalLines } from './journal-lines.tsx';
import { KIND, MODE, label } from './labels.ts';
import type { Payment } from './payments-section.tsx';

/**
 * 记账分录: one transaction's entry in both books side by side, and the latest lines of each journal.
 */

export function JournalSection({
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
