import { useI18n } from '../i18n.tsx';

export function WalletSidebar() {
  const { t } = useI18n();
  return (
    <section className="panel" data-testid="panel-wallet">
      {t('wallet', 'wallet')}
    </section>
  );
}
