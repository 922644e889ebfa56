import { useState } from 'react';
import { useI18n } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import { useAction } from './outcome.ts';
import { PinField, SIX_DIGITS } from './pin-field.tsx';
import type { SectionProps } from './section-props.ts';

/**
 * 修改密码: the holder changes the card PIN at the counter (R1.4).
 */

export function ChangePin({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [oldPin, setOld] = useState('');
  const [newPin, setNew] = useState('');
  const [again, setAgain] = useState('');
  const submit = () =>
    run(async () => {
      // The PINs are cleared whatever happens: nothing keeps them after the call.
      const pins = { oldPin, newPin };
      setOld('');
      setNew('');
      setAgain('');
      const r = await client.call('counterChangePin', { cardId: card.id, ...pins });
      return r.ok
        ? { ok: true, zh: r.zh, en: r.en, tookFromTill: r.tookFromTill }
        : { ok: false, rule: r.rule, zh: r.zh, en: r.en, tookFromTill: r.tookFromTill };
    });
  const mismatch = newPin.length === 6 && again.length === 6 && newPin !== again;
  const ready = SIX_DIGITS.test(oldPin) && SIX_DIGITS.test(newPin) && newPin === again;
  return (
    <form
      className="counter-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (ready && !busy) void submit();
      }}
    >
      <p className="muted">
        {t(
          '持卡人在密码键盘上输入原密码和两次新密码（6 位数字）。新密码不能是初始密码 123456（R1.4）。',
          'The holder types the old PIN and the new one twice (six digits). The new PIN cannot be the initial 123456 (R1.4).',
        )}
      </p>
      <div className="grid-form">
        <PinField testId="counter-old-pin" label={t('原密码', 'Old PIN')} value={oldPin} onChange={setOld} />
        <PinField testId="counter-new-pin" label={t('新密码', 'New PIN')} value={newPin} onChange={setNew} />
        <PinField
          testId="counter-new-pin-again"
          label={t('确认新密码', 'New PIN again')}
          value={again}
          onChange={setAgain}
        />
      </div>
      {mismatch && (
        <p className="bad" data-testid="counter-pin-mismatch">
          {t('两次输入的新密码不一致', 'The two new PINs differ')}
        </p>
      )}
      <div className="row counter-actions">
        <button type="submit" className="primary" data-testid="counter-change-pin" disabled={!ready || busy}>
          {t('修改密码', 'Change PIN')}
        </button>
      </div>
    </form>
  );
}
