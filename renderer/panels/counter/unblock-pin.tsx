import { useI18n } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import { useAction } from './outcome.ts';
import type { SectionProps } from './section-props.ts';

/**
 * 密码解锁: resets a blocked PIN's try counter with the counter's key.
 */

export function Unblock({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '用柜台密钥（POS 机没有）重置密码错误次数；密码本身不变。',
          "Resets the PIN's try counter with the counter's key (a POS does not hold it); the PIN itself is unchanged.",
        )}
      </p>
      <p>
        {card.pin.blocked ? (
          <span className="bad">{t('此卡密码已锁定', 'This card’s PIN is blocked')}</span>
        ) : (
          <span>
            {t(
              `此卡密码未锁定，还可尝试 ${card.pin.triesLeft} 次`,
              `Not blocked: ${card.pin.triesLeft} tries left`,
            )}
          </span>
        )}
      </p>
      <div className="row counter-actions">
        <button
          type="button"
          className="primary"
          data-testid="counter-unblock"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const r = await client.call('counterUnblock', { cardId: card.id });
              return {
                ...(r.ok ? { ok: true } : { ok: false, rule: r.rule }),
                zh: r.zh,
                en: r.en,
                tookFromTill: r.tookFromTill,
              };
            })
          }
        >
          {t('密码解锁', 'Unblock PIN')}
        </button>
      </div>
    </div>
  );
}
