import { useState } from 'react';
import { useBi, useI18n } from '../../i18n.tsx';
import { useQuery } from '../../live.tsx';
import { failureText } from './format.ts';
import { Money } from './money.tsx';

/**
 * 账户余额: a card's sub-account balances at the host.
 */

export function BalancesSection({ cardNumber }: { cardNumber: string | null }) {
  const { t } = useI18n();
  const bi = useBi();
  const [cards] = useQuery((c) => c.call('listCards', {}));
  const [chosen, setChosen] = useState<string | null>(null);
  const fallback =
    cards?.find((c) => c.cardNumber === cardNumber)?.id ?? cards?.find((c) => c.generation === 3)?.id;
  const cardId = chosen ?? fallback ?? null;
  const [b, error] = useQuery(
    (c) => (cardId ? c.call('balances', { cardId }) : Promise.resolve(null)),
    [cardId],
  );
  const card = cards?.find((c) => c.id === cardId);
  const rows: { key: string; zh: string; en: string; fen: number | null }[] = b
    ? [
        { key: 'reserve', zh: '备用金账户', en: 'Reserve account', fen: b.reserve },
        { key: '95000', zh: '95000 当年医保', en: '95000 medical, this year', fen: b.medicalCurrent },
        { key: '95001', zh: '95001 历年医保', en: '95001 medical, prior years', fen: b.medicalPrior },
      ]
    : [];
  return (
    <div data-testid="ledger-balances" className="ledger-balances">
      <label className="row">
        {t('卡片', 'Card')}
        <select
          data-testid="ledger-balances-card"
          value={cardId ?? ''}
          onChange={(e) => setChosen(e.target.value)}
        >
          {(cards ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.holderName} · {c.id} · {c.cardNumber}
            </option>
          ))}
        </select>
      </label>
      {error && <p className="bad">{bi(failureText(error))}</p>}
      {b && (
        <table className="ledger-table balances">
          <caption>
            {card?.holderName} · <span className="mono">{b.cardNumber}</span>
          </caption>
          <thead>
            <tr>
              <th>{t('子账户', 'Sub-account')}</th>
              <th className="num">{t('余额（元）', 'Balance (yuan)')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-testid={`ledger-balance-${r.key}`}>
                <td>{t(r.zh, r.en)}</td>
                {r.fen === null ? (
                  <td className="num muted">{t('无此账户', 'no such account')}</td>
                ) : (
                  <Money fen={r.fen} />
                )}
              </tr>
            ))}
            <tr className="total">
              <td>{t('合计', 'Total')}</td>
              <Money fen={rows.reduce((s, r) => s + (r.fen ?? 0), 0)} />
            </tr>
          </tbody>
        </table>
      )}
    </div>
  );
}
