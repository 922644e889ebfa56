import { useI18n } from '../i18n.tsx';

export function TillPanel() {
  const { t } = useI18n();
  return (
    <section className="panel" data-testid="panel-till">
      {t('till', 'till')}
    </section>
  );
}
