import { useState } from 'react';
import { useI18n } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import { stepOutcome, useAction } from './outcome.ts';
import type { SectionProps } from './section-props.ts';

/**
 * 挂失 / 解挂: loss report and release, also at another branch (R13).
 */

export function Loss({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [crossRegion, setCrossRegion] = useState(false);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '挂失后此卡在所有 POS 机上被拒；挂失、解挂均可在异地网点办理（R13）。',
          'A card reported lost is refused at every POS; report and release can be done at another branch too (R13).',
        )}
      </p>
      <label className="check">
        <input
          type="checkbox"
          data-testid="counter-cross-region"
          checked={crossRegion}
          onChange={(e) => setCrossRegion(e.target.checked)}
        />
        {t('异地办理', 'at another branch')}
      </label>
      <div className="row counter-actions">
        <button
          type="button"
          className="danger"
          data-testid="counter-report-loss"
          disabled={busy}
          onClick={() =>
            run(async () =>
              stepOutcome(await client.call('counterReportLoss', { cardId: card.id, crossRegion }), {
                zh: '挂失成功',
                en: 'Loss reported',
              }),
            )
          }
        >
          {t('挂失', 'Report loss')}
        </button>
        <button
          type="button"
          className="primary"
          data-testid="counter-release-loss"
          disabled={busy}
          onClick={() =>
            run(async () =>
              stepOutcome(await client.call('counterReleaseLoss', { cardId: card.id, crossRegion }), {
                zh: '解挂成功',
                en: 'Loss report released',
              }),
            )
          }
        >
          {t('解挂', 'Release')}
        </button>
      </div>
    </div>
  );
}
