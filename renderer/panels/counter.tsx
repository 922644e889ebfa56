import { useState } from 'react';
import { useI18n } from '../i18n.tsx';
import { useQuery } from '../live.tsx';
import { Apply } from './counter/application.tsx';
import { CardLine } from './counter/card-line.tsx';
import { History } from './counter/card-history.tsx';
import { ChangePin } from './counter/change-pin.tsx';
import { Close } from './counter/close-card.tsx';
import { Issuance } from './counter/issuance.tsx';
import { Loss } from './counter/loss-report.tsx';
import type { Outcome } from './counter/outcome.ts';
import { Replace } from './counter/replace-card.tsx';
import { ResultBox } from './counter/result-box.tsx';
import { Unblock } from './counter/unblock-pin.tsx';
import './counter.css';

/**
 * 银行柜台: the bank counter's services on the cards the till shares — PIN change and unblock,
 * applications (申领) with the rules' messages next to their fields, issuance and activation
 * (领卡启用), loss report and release, replacement, closing, and the card's history.
 *
 * This file is the shell: the menu, the card picker and the result box. Each service is its own
 * component under counter/.
 */

export type { Outcome } from './counter/outcome.ts';

type Section = 'pin' | 'unblock' | 'apply' | 'issue' | 'loss' | 'replace' | 'close' | 'history';

const SECTIONS: { id: Section; zh: string; en: string; needsCard: boolean }[] = [
  { id: 'pin', zh: '修改密码', en: 'Change PIN', needsCard: true },
  { id: 'unblock', zh: '密码解锁', en: 'Unblock PIN', needsCard: true },
  { id: 'apply', zh: '申领', en: 'Apply', needsCard: false },
  { id: 'issue', zh: '制卡与领卡启用', en: 'Issuance & activation', needsCard: true },
  { id: 'loss', zh: '挂失 / 解挂', en: 'Loss report', needsCard: true },
  { id: 'replace', zh: '补换卡', en: 'Replace', needsCard: true },
  { id: 'close', zh: '销卡销户', en: 'Close', needsCard: true },
  { id: 'history', zh: '卡片历史', en: 'History', needsCard: true },
];

export function CounterPanel() {
  const { t } = useI18n();
  const [section, setSection] = useState<Section>('pin');
  const [chosen, setChosen] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [cards] = useQuery((c) => c.call('listCards', {}));
  const cardId = chosen ?? cards?.[0]?.id ?? null;
  const card = cards?.find((c) => c.id === cardId) ?? null;
  const meta = SECTIONS.find((s) => s.id === section)!;

  const go = (next: Section) => {
    setSection(next);
    setOutcome(null);
  };
  const select = (id: string) => {
    setChosen(id);
    go('issue');
  };
  const props = { setOutcome, select };

  return (
    <section className="panel counter-panel" data-testid="panel-counter">
      <h2>{t('银行柜台', 'Bank counter')}</h2>
      <div className="counter-layout">
        <nav className="counter-menu" aria-label={t('柜台业务', 'Counter services')}>
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              className={s.id === section ? 'active' : undefined}
              aria-current={s.id === section ? 'page' : undefined}
              data-testid={`counter-tab-${s.id}`}
              onClick={() => go(s.id)}
            >
              {t(s.zh, s.en)}
            </button>
          ))}
        </nav>
        <div className="counter-body">
          <h3 className="counter-title">{t(meta.zh, meta.en)}</h3>
          {meta.needsCard && (
            <div className="counter-card">
              <label className="row">
                <span>{t('卡片', 'Card')}</span>
                <select
                  data-testid="counter-card-select"
                  value={cardId ?? ''}
                  onChange={(e) => {
                    setChosen(e.target.value);
                    setOutcome(null);
                  }}
                >
                  {(cards ?? []).map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.holderName} · {c.id}
                      {c.source === 'issued' ? t('（本柜台发卡）', ' (issued here)') : ''}
                    </option>
                  ))}
                </select>
              </label>
              {card && <CardLine card={card} />}
            </div>
          )}
          {section === 'apply' && <Apply {...props} onIssued={(id) => setChosen(id)} />}
          {meta.needsCard && card && (
            <>
              {section === 'pin' && <ChangePin key={card.id} card={card} {...props} />}
              {section === 'unblock' && <Unblock card={card} {...props} />}
              {section === 'issue' && <Issuance key={card.id} card={card} {...props} />}
              {section === 'loss' && <Loss card={card} {...props} />}
              {section === 'replace' && <Replace key={card.id} card={card} {...props} />}
              {section === 'close' && <Close key={card.id} card={card} {...props} />}
              {section === 'history' && <History card={card} {...props} />}
            </>
          )}
          <ResultBox outcome={outcome} />
        </div>
      </div>
    </section>
  );
}
