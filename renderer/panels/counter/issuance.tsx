import { useState } from 'react';
import { useBi, useI18n } from '../../i18n.tsx';
import { useClient, useQuery } from '../../live.tsx';
import { EVENTS, issuanceActions, type AdvanceEvent } from './issuance-actions.ts';
import { failureOutcome, stepOutcome, useAction } from './outcome.ts';
import { PinField, SIX_DIGITS } from './pin-field.tsx';
import type { SectionProps } from './section-props.ts';

/**
 * 制卡进度、领卡启用: the card's place in production (R10.1 step 5), the clerk's next steps, the
 * instant printer's answer (R10.2) and the collection with the new PIN and password (R10.1 step 7).
 */

export function Issuance({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [progress, error] = useQuery((c) => c.call('counterProgress', { cardId: card.id }), [card.id]);
  const [reason, setReason] = useState('');
  const [other, setOther] = useState<AdvanceEvent>('PRODUCTION_DONE');
  const [pin, setPin] = useState('');
  const [pinAgain, setPinAgain] = useState('');
  const [pw, setPw] = useState('');
  const [pwAgain, setPwAgain] = useState('');
  const [otherBank, setOtherBank] = useState(false);

  const advance = (event: AdvanceEvent) =>
    run(async () => {
      const r = await client.call('counterAdvance', {
        cardId: card.id,
        event,
        ...(event === 'PRODUCTION_FAILED' && reason.trim() ? { reason: reason.trim() } : {}),
      });
      return stepOutcome(r, EVENTS[event]);
    });
  const printInstant = (pending: boolean) =>
    run(async () =>
      stepOutcome(
        await client.call('counterPrintInstant', { cardId: card.id, pending }),
        pending ? EVENTS.PRINTED_BUT_PENDING : { zh: '即时制卡打印完成', en: 'instant card printed' },
      ),
    );
  const activate = () =>
    run(async () => {
      const secrets = { newPin: pin, financialPassword: pw };
      setPin('');
      setPinAgain('');
      setPw('');
      setPwAgain('');
      const r = await client.call('counterActivate', {
        cardId: card.id,
        ...secrets,
        cardBank: otherBank ? 'other' : 'this',
      });
      return stepOutcome(
        r,
        { zh: '领卡启用完成', en: 'Collected and activated' },
        {
          tookFromTill: r.tookFromTill,
          lines: r.ok && r.note ? [r.note] : [],
        },
      );
    });

  if (error) return <p className="bad">{bi(failureOutcome(error))}</p>;
  if (!progress) return <p className="muted">{t('正在查询…', 'Loading…')}</p>;
  if (!progress.ok)
    return (
      <p className="bad" data-testid="counter-progress">
        <span className="rule-badge">{progress.rule}</span> {bi(progress)}
      </p>
    );
  const offered = issuanceActions(progress.state);
  const next = offered.steps;
  const activationReady = SIX_DIGITS.test(pin) && pin === pinAgain && SIX_DIGITS.test(pw) && pw === pwAgain;
  return (
    <div className="counter-form">
      <div className="progress-box" data-testid="counter-progress">
        <div>
          {t('当前状态', 'Now')}: <strong data-testid="counter-progress-state">{bi(progress)}</strong>{' '}
          <span className="muted mono">{progress.state}</span>
        </div>
        {progress.productionAttempts > 0 && (
          <div className="muted small">
            {t(
              `制卡次数：${progress.productionAttempts}`,
              `Production attempts: ${progress.productionAttempts}`,
            )}
          </div>
        )}
        {progress.productionFailure && (
          <div className="bad small">
            {t('上次制卡失败原因：', 'Last production failure: ')}
            {progress.productionFailure}
          </div>
        )}
        {progress.lastRefusal && (
          <div className="warn small">
            {t('上次被拒：', 'Last refused: ')}
            <span className="rule-badge">{progress.lastRefusal.rule}</span> {bi(progress.lastRefusal)}
          </div>
        )}
      </div>

      {next.length > 0 && (
        <div className="row counter-actions">
          {next.map((e) => (
            <button
              key={e}
              type="button"
              className="primary"
              disabled={busy}
              data-testid={`counter-advance-${e}`}
              onClick={() => void advance(e)}
            >
              {bi(EVENTS[e])}
            </button>
          ))}
          {next.includes('PRODUCTION_FAILED') && (
            <input
              placeholder={t('失败原因（厂商反馈）', 'reason (from the vendor)')}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
            />
          )}
        </div>
      )}

      {offered.printInstant && (
        <div className="row counter-actions">
          <button
            type="button"
            className="primary"
            disabled={busy}
            data-testid="counter-print-instant"
            onClick={() => void printInstant(false)}
          >
            {t('打印完成，省卡系统已登记', 'Printed and registered')}
          </button>
          <button
            type="button"
            disabled={busy}
            data-testid="counter-print-pending"
            onClick={() => void printInstant(true)}
          >
            {t('卡面已打印，系统仍显示制卡中', 'Printed, system still says in production')}
          </button>
        </div>
      )}

      {offered.activate && (
        <form
          className="activate-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (activationReady && !busy) void activate();
          }}
        >
          <h3>{t('领卡启用（R10.1 第 7 步）', 'Collection and activation (R10.1 step 7)')}</h3>
          <p className="muted small">
            {t(
              '持卡人设置社保密码（不能是 123456）和金融密码，各 6 位数字，各输两次。',
              'The holder sets the card PIN (not 123456) and the financial password, six digits each, typed twice.',
            )}
          </p>
          <div className="grid-form">
            <PinField
              testId="counter-activate-pin"
              label={t('社保密码', 'Card PIN')}
              value={pin}
              onChange={setPin}
            />
            <PinField
              testId="counter-activate-pin-again"
              label={t('确认社保密码', 'Card PIN again')}
              value={pinAgain}
              onChange={setPinAgain}
            />
            <PinField
              testId="counter-activate-password"
              label={t('金融密码', 'Financial password')}
              value={pw}
              onChange={setPw}
            />
            <PinField
              testId="counter-activate-password-again"
              label={t('确认金融密码', 'Financial password again')}
              value={pwAgain}
              onChange={setPwAgain}
            />
            <span />
            <label className="check">
              <input type="checkbox" checked={otherBank} onChange={(e) => setOtherBank(e.target.checked)} />
              {t('他行社保卡（R13）', "another bank's card (R13)")}
            </label>
          </div>
          {((pin.length === 6 && pinAgain.length === 6 && pin !== pinAgain) ||
            (pw.length === 6 && pwAgain.length === 6 && pw !== pwAgain)) && (
            <p className="bad">{t('两次输入不一致', 'The two entries differ')}</p>
          )}
          <div className="row counter-actions">
            <button
              type="submit"
              className="primary"
              data-testid="counter-activate"
              disabled={!activationReady || busy}
            >
              {t('领卡启用', 'Activate')}
            </button>
          </div>
        </form>
      )}

      {next.length === 0 && !offered.printInstant && !offered.activate && (
        <p className="muted">
          {t('此卡没有待办的制卡步骤。', 'Nothing left to do in issuance for this card.')}
        </p>
      )}

      <details className="counter-other">
        <summary>
          {t('其他制卡事件（演示规则拒绝）', 'Other issuance events (to see the rules refuse)')}
        </summary>
        <div className="row">
          <select
            value={other}
            onChange={(e) => setOther(e.target.value as AdvanceEvent)}
            data-testid="counter-other-event"
          >
            {(Object.keys(EVENTS) as AdvanceEvent[]).map((e) => (
              <option key={e} value={e}>
                {bi(EVENTS[e])}
              </option>
            ))}
          </select>
          <button
            type="button"
            disabled={busy}
            data-testid="counter-other-send"
            onClick={() => void advance(other)}
          >
            {t('发送', 'Send')}
          </button>
        </div>
      </details>
    </div>
  );
}
