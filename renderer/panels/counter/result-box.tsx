import { useBi, useI18n } from '../../i18n.tsx';
import type { Outcome } from './outcome.ts';

/**
 * The box under every section that shows the last outcome: the rule that refused it, the
 * extra lines, the printed receipt, and whether the card had to be taken from the till's reader.
 */

export function ResultBox({ outcome }: { outcome: Outcome | null }) {
  const { t } = useI18n();
  const bi = useBi();
  if (!outcome) return null;
  return (
    <div
      className={`counter-result ${outcome.ok ? 'counter-result-ok' : 'counter-result-bad'}`}
      data-testid="counter-result"
      role="status"
    >
      <div className="counter-result-head">
        <span className={outcome.ok ? 'ok' : 'bad'} aria-hidden>
          {outcome.ok ? '✔' : '✘'}
        </span>
        {outcome.rule && (
          <span className="rule-badge" data-testid="counter-result-rule">
            {outcome.rule}
          </span>
        )}
        <span data-testid="counter-result-text">{bi(outcome)}</span>
      </div>
      {outcome.tookFromTill && (
        <p className="warn counter-note" data-testid="counter-took-from-till">
          {t(
            '此卡原在收银台读卡器中，已自动取出交柜台办理。',
            "The card was in the till's reader: it was taken out for the counter.",
          )}
        </p>
      )}
      {outcome.lines && outcome.lines.length > 0 && (
        <ul className="counter-lines">
          {outcome.lines.map((l, i) => (
            <li key={i}>{bi(l)}</li>
          ))}
        </ul>
      )}
      {outcome.receipt && (
        <pre className="counter-receipt mono" data-testid="counter-receipt">
          {outcome.receipt}
        </pre>
      )}
    </div>
  );
}
