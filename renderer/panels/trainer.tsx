import { useI18n } from '../i18n.tsx';

import type { Tab } from '../app.tsx';

export function TrainerPanel(_: { onNavigate(tab: Tab): void }) {
  const { t } = useI18n();
  return (
    <section className="panel" data-testid="panel-trainer">
      {t('trainer', 'trainer')}
    </section>
  );
}
