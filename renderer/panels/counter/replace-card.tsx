import { useState } from 'react';
import { useBi, useI18n, yuan } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import { useAction } from './outcome.ts';
import type { SectionProps } from './section-props.ts';

/**
 * 补换卡: a new gen 3 card for a lost, damaged, expired or re-photographed one (R2.1, R13).
 */

const REASONS: { id: 'lost' | 'damaged' | 'expired' | 'photo'; zh: string; en: string }[] = [
  { id: 'lost', zh: '遗失补领', en: 'lost' },
  { id: 'damaged', zh: '损坏换领', en: 'damaged' },
  { id: 'expired', zh: '逾有效期换领', en: 'expired' },
  { id: 'photo', zh: '相片变更换领', en: 'photo change' },
];

export function Replace({ card, setOutcome, select }: SectionProps) {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [reason, setReason] = useState<(typeof REASONS)[number]['id']>('lost');
  const [mode, setMode] = useState<'instant' | 'normal'>('instant');
  const [crossRegion, setCrossRegion] = useState(false);
  const [newCard, setNewCard] = useState<string | null>(null);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '新卡为三代卡（R2.1），初始密码 123456，须领卡启用；原卡余额转入新卡，原卡注销。遗失须先挂失；异地仅可挂失补卡（R13）。',
          'The new card is gen 3 (R2.1) with the initial PIN and must be activated; the balances move over and the old card is closed. A lost card must be reported first; another branch replaces only after a loss report (R13).',
        )}
      </p>
      <div className="grid-form">
        <label>{t('补换原因', 'Reason')}</label>
        <select
          data-testid="counter-replace-reason"
          value={reason}
          onChange={(e) => setReason(e.target.value as typeof reason)}
        >
          {REASONS.map((r) => (
            <option key={r.id} value={r.id}>
              {bi(r)}
            </option>
          ))}
        </select>
        <label>{t('制卡方式', 'Issuance')}</label>
        <select value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
          <option value="instant">{t('即时制卡', 'instant')}</option>
          <option value="normal">{t('普通制卡', 'normal')}</option>
        </select>
        <span />
        <label className="check">
          <input type="checkbox" checked={crossRegion} onChange={(e) => setCrossRegion(e.target.checked)} />
          {t('异地办理', 'at another branch')}
        </label>
      </div>
      <div className="row counter-actions">
        <button
          type="button"
          className="primary"
          data-testid="counter-replace"
          disabled={busy}
          onClick={() =>
            run(async () => {
              setNewCard(null);
              const r = await client.call('counterReplace', { cardId: card.id, reason, mode, crossRegion });
              if (!r.ok) return { ok: false, rule: r.rule, zh: r.zh, en: r.en };
              setNewCard(r.newCardId);
              return {
                ok: true,
                zh: `补换卡成功：新卡 ${r.newCardId}（三代卡，初始密码须在领卡时修改）`,
                en: `Replaced: new card ${r.newCardId} (gen 3; change the initial PIN when collecting it)`,
                lines: [
                  {
                    zh: `转入新卡：备用金 ${yuan(r.moved.reserve)} 元，95000 ${yuan(r.moved.medicalCurrent)} 元，95001 ${yuan(r.moved.medicalPrior)} 元`,
                    en: `Moved: reserve ${yuan(r.moved.reserve)}, 95000 ${yuan(r.moved.medicalCurrent)}, 95001 ${yuan(r.moved.medicalPrior)} yuan`,
                  },
                ],
                receipt: r.receipt,
                tookFromTill: r.tookFromTill,
              };
            })
          }
        >
          {t('补换卡', 'Replace')}
        </button>
        {newCard && (
          <button type="button" data-testid="counter-select-new-card" onClick={() => select(newCard)}>
            {t('办理新卡 →', 'Go to the new card →')}
          </button>
        )}
      </div>
    </div>
  );
}
