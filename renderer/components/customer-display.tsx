import type { ServicePinRequest, TillView } from '../../core/api/events.ts';
import { renderMessage } from '../../state-machines/messages.ts';
import { useI18n, yuan } from '../i18n.tsx';
import { PIN_LENGTH } from './pin-pad.tsx';
import { servicePrompt } from './reader-service.tsx';
import './customer-display.css';

export interface CustomerDisplayProps {
  till: TillView | null;
  /** Digits entered on the PIN pad so far (dots only). */
  pinLength: number;
  merchantName?: string;
  /** A reader-service function waiting for the holder's PIN: it has the screen meanwhile. */
  service?: ServicePinRequest | null;
}

interface Screen {
  amountFen: number | null;
  method: 'medical' | 'reserve' | null;
  prompt: string;
  detail: string | null;
  tone: 'info' | 'ok' | 'bad' | 'warn';
  dots: boolean;
}

/**
 * 顾客显示屏: what the holder sees on the customer-facing screen of the PIN pad — the amount,
 * what to do (请输入密码, 请取卡), and the outcome (交易成功).
 */
export function CustomerDisplay({ till, pinLength, merchantName, service }: CustomerDisplayProps) {
  const { t, lang } = useI18n();
  const s = service
    ? {
        amountFen: null,
        method: null,
        prompt: servicePrompt(service.prompt, t),
        detail: t(
          `读卡服务 ${service.functionName}：输入后按“确认”`,
          `Reader service ${service.functionName}: then press OK`,
        ),
        tone: 'info' as const,
        dots: true,
      }
    : screen(till);

  function screen(v: TillView | null): Screen {
    const base = {
      amountFen: v?.amountFen ?? null,
      method: v?.method ?? null,
      detail: null,
      tone: 'info' as const,
      dots: false,
    };
    if (!v) return { ...base, prompt: t('欢迎光临', 'Welcome') };
    const paid = v.last?.result === 'paid';
    switch (v.waitingFor) {
      case 'card':
        return {
          ...base,
          prompt: t('欢迎光临', 'Welcome'),
          detail: t('请插入社保卡', 'Please insert your social security card'),
        };
      case 'amount':
        return {
          ...base,
          prompt: t('请稍候', 'Please wait'),
          detail: t('收银员正在输入金额', 'The cashier is entering the amount'),
        };
      case 'pin':
        return {
          ...base,
          prompt: t('请输入密码', 'Please enter your PIN'),
          detail:
            v.triesLeft !== null ? renderMessage(v.message, lang) : t('输入后按“确认”', 'then press OK'),
          tone: v.triesLeft !== null ? 'warn' : 'info',
          dots: true,
        };
      case 'password':
        return {
          ...base,
          prompt: t('请输入交易密码', 'Please enter your transaction password'),
          detail:
            v.triesLeft !== null ? renderMessage(v.message, lang) : t('输入后按“确认”', 'then press OK'),
          tone: v.triesLeft !== null ? 'warn' : 'info',
          dots: true,
        };
      case 'removal':
        return {
          ...base,
          amountFen: paid ? (v.last?.outcome?.amountFen ?? null) : base.amountFen,
          method: paid ? (v.last?.outcome?.method ?? null) : base.method,
          prompt: paid ? t('交易成功', 'Approved') : renderMessage(v.message, lang),
          detail: t('请取卡', 'Please remove your card'),
          tone: paid ? 'ok' : 'bad',
        };
      default:
        return {
          ...base,
          prompt: renderMessage(v.message, lang),
          detail: v.busy ? t('请勿拔卡', 'Do not remove the card') : null,
        };
    }
  }

  return (
    <section className="customer-display" data-testid="customer-display" aria-live="polite">
      <div className="cd-label">{t('顾客显示屏', 'Customer display')}</div>
      <div className={`cd-screen cd-${s.tone}`}>
        <div className="cd-merchant">{merchantName ?? ''}</div>
        <div className="cd-amount" data-testid="customer-amount">
          {s.amountFen !== null ? (
            <>
              <span className="cd-method">
                {s.method === 'reserve' ? t('金融账户', 'Bank account') : t('医保支付', 'Medical account')}
              </span>
              <span className="cd-yuan">¥{yuan(s.amountFen)}</span>
            </>
          ) : (
            <span className="cd-yuan cd-blank">¥ —</span>
          )}
        </div>
        <div className="cd-prompt" data-testid="customer-prompt">
          {s.prompt}
        </div>
        {s.dots && (
          <div className="cd-dots" aria-hidden="true">
            {Array.from({ length: PIN_LENGTH }, (_, i) => (i < pinLength ? '●' : '_')).join(' ')}
          </div>
        )}
        {s.detail && <div className="cd-detail">{s.detail}</div>}
      </div>
    </section>
  );
}
