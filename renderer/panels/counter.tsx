import { useI18n } from '../i18n.tsx';

export function CounterPanel() {
  const { t } = useI18n();
  return (
    <section className="panel" data-testid="panel-counter">
      {t('counter', 'counter')}
    </section>
  );
}
