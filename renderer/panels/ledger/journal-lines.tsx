import type { ResultOf } from '../../../core/api/contract.ts';
import { useBi, useI18n, yuan } from '../../i18n.tsx';
import { shortId } from './format.ts';
import { HOST_ACCOUNT, POSTING, TERMINAL_ACCOUNT, label } from './labels.ts';

/**
 * The double-entry lines of the till's books and of the host's, each with its own sign
 * convention, and the check that an entry balances.
 */

type TerminalLine = ResultOf<'terminalJournal'>[number];
type HostLine = ResultOf<'hostJournal'>[number];

export function TerminalLines({ lines, showPayment }: { lines: TerminalLine[]; showPayment?: boolean }) {
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

export function HostLines({ lines, showTxn }: { lines: HostLine[]; showTxn?: boolean }) {
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

export function Balanced({ lines }: { lines: { amountFen: number }[] }) {
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
