import { useBi, useI18n } from '../../i18n.tsx';
import { useQuery } from '../../live.tsx';
import { failureOutcome } from './outcome.ts';
import type { SectionProps } from './section-props.ts';

/**
 * 卡片历史: every step the card went through at the counter, refusals included.
 */

/** The counter works in Beijing time (the business date's zone). */
function beijingTime(iso: string): string {
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

export function History({ card }: SectionProps) {
  const { t } = useI18n();
  const bi = useBi();
  const [h, error] = useQuery((c) => c.call('counterHistory', { cardId: card.id }), [card.id]);
  if (error) return <p className="bad">{bi(failureOutcome(error))}</p>;
  if (!h) return <p className="muted">{t('正在查询…', 'Loading…')}</p>;
  if (!h.ok)
    return (
      <p className="bad" data-testid="counter-history">
        <span className="rule-badge">{h.rule}</span> {bi(h)}
      </p>
    );
  return (
    <table data-testid="counter-history" className="counter-history">
      <thead>
        <tr>
          <th>{t('时间', 'Time')}</th>
          <th>{t('业务', 'Step')}</th>
          <th>{t('状态', 'State')}</th>
          <th>{t('结果', 'Result')}</th>
          <th>{t('网点', 'Branch')}</th>
        </tr>
      </thead>
      <tbody>
        {h.entries.map((e, i) => (
          <tr key={i} className={e.refused ? 'refused' : undefined}>
            <td className="mono small nowrap">{beijingTime(e.at)}</td>
            <td>{t(e.eventZh, e.eventEn)}</td>
            <td>{bi(e)}</td>
            <td>
              {e.refused ? (
                <span className="bad">
                  <span className="rule-badge">{e.refused.rule}</span> {bi(e.refused)}
                </span>
              ) : (
                <span className="ok">✔</span>
              )}
              {e.note && <div className="muted small">{bi(e.note)}</div>}
            </td>
            <td className="small nowrap">{e.branch}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
