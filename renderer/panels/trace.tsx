import { useI18n } from '../i18n.tsx';

export function TracePanel() {
  const { t } = useI18n();
  return (
    <section className="panel" data-testid="panel-trace">
      {t('trace', 'trace')}
    </section>
  );
}
