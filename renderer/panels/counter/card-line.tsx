import { useBi, useI18n } from '../../i18n.tsx';
import type { Bi } from './outcome.ts';
import type { WalletEntry } from './section-props.ts';

/**
 * The one line about the chosen card above every card section: holder, generation, status, PIN.
 */

const STATUS: Record<string, Bi> = {
  active: { zh: '正常', en: 'active' },
  'not-activated': { zh: '未启用', en: 'not activated' },
  'loss-reported': { zh: '已挂失', en: 'loss reported' },
  closed: { zh: '已注销', en: 'closed' },
};

export function CardLine({ card }: { card: WalletEntry }) {
  const { t } = useI18n();
  const bi = useBi();
  return (
    <div className="counter-card-line" data-testid="counter-card-info">
      <span>
        {card.holderName} · <span className="mono">{card.cardNumber}</span> ·{' '}
        {t(`${card.generation} 代卡`, `gen ${card.generation}`)} ·{' '}
        {bi(STATUS[card.status] ?? { zh: card.status, en: card.status })}
      </span>
      <span className={card.pin.blocked ? 'bad' : card.pin.initial ? 'warn' : 'muted'}>
        {card.pin.blocked
          ? t('密码已锁定', 'PIN blocked')
          : card.pin.initial
            ? t('初始密码 123456（POS 机拒绝）', 'initial PIN 123456 (refused at a POS)')
            : t(`密码可尝试 ${card.pin.triesLeft} 次`, `${card.pin.triesLeft} PIN tries left`)}
      </span>
      {card.inReader && (
        <span className="warn" data-testid="counter-in-reader">
          {t('此卡在收银台读卡器中：办理时将自动取出', "In the till's reader: the counter takes it out")}
        </span>
      )}
    </div>
  );
}
