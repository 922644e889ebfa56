import { useState } from 'react';
import { useBi, useI18n } from '../i18n.tsx';
import { useQuery } from '../live.tsx';
import { BalancesSection } from './ledger/balances-section.tsx';
import { failureText } from './ledger/format.ts';
import { JournalSection } from './ledger/journal-section.tsx';
import { PaymentsSection } from './ledger/payments-section.tsx';
import { QueueSection } from './ledger/queue-section.tsx';
import { ReconcileSection } from './ledger/reconcile-section.tsx';
import { SettleSection } from './ledger/settle-section.tsx';
import './ledger.css';

/**
 * 账务: the till's transactions with their receipts and refunds, the double-entry journals of
 * the till and the host, a card's balances, the day's settlement (日结), reconciliation (对账)
 * and the forward queue of what was taken offline (立即上送).
 *
 * This file is the shell: the menu and the payment chosen across sections. Each section is its
 * own component under ledger/.
 */

type Section = 'payments' | 'journal' | 'balances' | 'settle' | 'reconcile' | 'queue';

const SECTIONS: { id: Section; zh: string; en: string }[] = [
  { id: 'payments', zh: '交易流水', en: 'Transactions' },
  { id: 'journal', zh: '记账分录', en: 'Journals' },
  { id: 'balances', zh: '账户余额', en: 'Balances' },
  { id: 'settle', zh: '日结', en: 'Settlement' },
  { id: 'reconcile', zh: '对账', en: 'Reconciliation' },
  { id: 'queue', zh: '上送队列', en: 'Forward queue' },
];

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
