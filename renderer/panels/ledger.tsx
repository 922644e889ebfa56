import { useI18n } from '../i18n.tsx';

export function LedgerPanel() {
  const { t } = useI18n();
  return (
    <section className="panel" data-testid="panel-ledger">
      {t('ledger', 'ledger')}
    </section>
  );
}
