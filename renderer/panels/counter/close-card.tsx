import { useState } from 'react';
import { useI18n, yuan } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import { stepOutcome, useAction } from './outcome.ts';
import type { SectionProps } from './section-props.ts';

/**
 * 销卡销户: closing the card, medical account first, only at the issuing branch (R14, R13).
 */

export function Close({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [medicalClosed, setMedicalClosed] = useState(false);
  const [crossRegion, setCrossRegion] = useState(false);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '有医保账户的卡须先到医保经办机构办理医保账户销户，再销金融账户；只能在开卡分行办理（R14、R13）。',
          'A card with a medical account needs that account closed at the medical insurance office first; only at the issuing branch (R14, R13).',
        )}
      </p>
      <p>
        {t('余额', 'Balances')}: {t('备用金', 'reserve')} {yuan(card.balances.reserve)} · 95000{' '}
        {yuan(card.balances.medicalCurrent)} · 95001 {yuan(card.balances.medicalPrior)}
      </p>
      <label className="check">
        <input
          type="checkbox"
          data-testid="counter-medical-closed"
          checked={medicalClosed}
          onChange={(e) => setMedicalClosed(e.target.checked)}
        />
        {t('已在医保经办机构办理医保账户销户', 'Medical account closing registered at the insurance office')}
      </label>
      <label className="check">
        <input type="checkbox" checked={crossRegion} onChange={(e) => setCrossRegion(e.target.checked)} />
        {t('异地办理', 'at another branch')}
      </label>
      <div className="row counter-actions">
        <button
          type="button"
          className="danger"
          data-testid="counter-close"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const r = await client.call('counterClose', {
                cardId: card.id,
                medicalAccountClosedAtInsuranceOffice: medicalClosed,
                crossRegion,
              });
              return stepOutcome(
                r,
                { zh: '销卡销户完成', en: 'Closed' },
                {
                  tookFromTill: r.tookFromTill,
                  lines: r.ok ? r.steps : [],
                },
              );
            })
          }
        >
          {t('销卡销户', 'Close the card')}
        </button>
      </div>
    </div>
  );
}
