import { useEffect, useRef, useState } from 'react';
import type { TillView } from '../../core/api/events.ts';
import type { MessageCode } from '../../state-machines/types.ts';
import { MAX_AMOUNT_FEN } from '../../state-machines/types.ts';
import { renderMessage } from '../../state-machines/messages.ts';
import { useI18n, yuan } from '../i18n.tsx';
import { useClient, useLive } from '../live.tsx';
import { useNotify } from '../notify.tsx';
import { PinPad, isTypingTarget } from '../components/pin-pad.tsx';
import { CustomerDisplay } from '../components/customer-display.tsx';
import { servicePrompt } from '../components/reader-service.tsx';
import { ReceiptView } from '../components/receipt-view.tsx';
import './till.css';

/** Whole yuan digits the till takes: 9,999,999.99 yuan is the largest amount (MAX_AMOUNT_FEN). */
const AMOUNT_SHAPE = /^\d{1,7}(\.\d{0,2})?$/;

/**
 * The amount field's text after an edit, or null to refuse the edit: digits and one '.',
 * at most two decimals. A leading '.' reads as '0.'; leading zeros go.
 */
export function sanitizeAmount(next: string): string | null {
  if (next === '') return '';
  let s = next.startsWith('.') ? `0${next}` : next;
  if (!AMOUNT_SHAPE.test(s)) return null;
  s = s.replace(/^0+(?=\d)/, '');
  return s;
}

/** Yuan text to integer fen, without floating point: '12.5' → 1250. null when not a valid amount. */
export function parseYuanToFen(text: string): number | null {
  if (!AMOUNT_SHAPE.test(text)) return null;
  const [whole = '', frac = ''] = text.split('.');
  const fen = Number.parseInt(whole, 10) * 100 + Number.parseInt(frac.padEnd(2, '0'), 10);
  if (!Number.isSafeInteger(fen) || fen <= 0 || fen > MAX_AMOUNT_FEN) return null;
  return fen;
}

type Tone = 'ok' | 'bad' | 'warn' | 'info';

const TONE: Partial<Record<MessageCode, Tone>> = {
  APPROVED: 'ok',
  APPROVED_OFFLINE: 'ok',
  READ_FAILED: 'bad',
  CARD_EXPIRED: 'bad',
  CARD_LOSS_REPORTED: 'bad',
  CARD_CLOSED: 'bad',
  CARD_NOT_ACTIVATED: 'bad',
  INVALID_AMOUNT: 'bad',
  GEN1_NO_MEDICAL: 'bad',
  GEN1_NO_FINANCIAL: 'bad',
  PASSWORD_LOCKED: 'bad',
  HOST_UNREACHABLE_GEN2: 'bad',
  HOST_UNREACHABLE: 'bad',
  AUTH_FAILED: 'bad',
  INITIAL_PIN_REFUSED: 'bad',
  PIN_BLOCKED: 'bad',
  CARD_ERROR: 'bad',
  INSUFFICIENT_FUNDS: 'bad',
  PAYMENT_DECLINED: 'bad',
  WRONG_PASSWORD: 'warn',
  WRONG_PIN: 'warn',
  CANCELLED: 'warn',
  TIMED_OUT: 'warn',
  CARD_PULLED: 'warn',
  REVERSED: 'warn',
  REVERSAL_QUEUED: 'warn',
};

export function messageTone(code: MessageCode): Tone {
  return TONE[code] ?? 'info';
}

const GEN_LABEL: Record<1 | 2 | 3, [string, string]> = {
  1: ['一代卡', 'Gen 1'],
  2: ['二代卡', 'Gen 2'],
  3: ['三代卡', 'Gen 3'],
};

const STATUS_LABEL: Record<string, [string, string]> = {
  active: ['正常', 'active'],
  'not-activated': ['未启用', 'not activated'],
  'loss-reported': ['已挂失', 'reported lost'],
  closed: ['已注销', 'closed'],
  unknown: ['未知（主机不可达）', 'unknown (host unreachable)'],
};

/**
 * The card's status as the cashier reads it. A gen 1 card has no financial or medical account
 * (R1.1): the till never asks the host about it, so its status is not "unknown, host unreachable"
 * but not applicable.
 */
function cardStatusLabel(card: { generation: 1 | 2 | 3; status: string }): [string, string] {
  if (card.generation === 1 && card.status === 'unknown')
    return ['不适用（一代卡无金融账户）', 'n/a (gen 1: no financial account)'];
  return STATUS_LABEL[card.status] ?? [card.status, card.status];
}

function stateLabel(v: TillView, t: (zh: string, en: string) => string): string {
  if (v.busy) return t('处理中', 'Working');
  switch (v.waitingFor) {
    case 'card':
      return t('待机：等待插卡', 'Idle: waiting for a card');
    case 'amount':
      return t('等待输入金额', 'Waiting for the amount');
    case 'pin':
      return t('等待持卡人输入密码', 'Waiting for the holder’s PIN');
    case 'password':
      return t('等待持卡人输入交易密码', 'Waiting for the transaction password');
    case 'removal':
      return t('等待取卡', 'Waiting for the card to be removed');
    default:
      // Between prompts (a refusal or the end of a sale on screen): plain words, never a state name.
      return v.terminalState === 'refused' || v.terminalState === 'ended'
        ? t('交易结束', 'Sale over')
        : t('请稍候', 'Please wait');
  }
}

/**
 * 收银台: the operator's screen of a pharmacy/clinic till. Keyboard first: digits and '.' key
 * the amount in yuan, Enter confirms, Esc cancels (at the PIN pad: back to the amount); the holder's side has the customer display
 * and the PIN pad. After a payment the receipt shows and prints; pulling the card starts the
 * next sale.
 */
export function TillPanel() {
  const { till, workspace, reader, service } = useLive();
  const client = useClient();
  const notify = useNotify();
  const { t, lang } = useI18n();
  const [amountText, setAmountText] = useState('');
  const [method, setMethod] = useState<'medical' | 'reserve'>('medical');
  const [sending, setSending] = useState(false);
  const [pinLength, setPinLength] = useState(0);
  const [servicePinSending, setServicePinSending] = useState(false);
  // 读卡服务: a HIS's function waiting for the holder takes the customer PIN pad.
  const serviceWait = service?.waiting ?? null;
  const amountRef = useRef<HTMLInputElement>(null);

  const waiting = till?.waitingFor ?? null;
  const busy = Boolean(till?.busy) || sending;
  const amountOpen = waiting === 'amount' && !sending;
  const fen = parseYuanToFen(amountText);
  const inSession = till?.terminalState === 'session';
  const pinWanted = waiting === 'pin' || waiting === 'password';
  const verifying = till?.sessionState?.startsWith('verifying') ?? false;
  const padKind: 'pin' | 'password' =
    waiting === 'password' || till?.sessionState === 'verifyingPassword' ? 'password' : 'pin';
  // Waiting for people: cancel ends the sale. Paying: cancel reverses a debit already made.
  const canCancel =
    inSession && (till?.sessionState === 'paying' || (!sending && (waiting === 'amount' || pinWanted)));
  const virtualReader = reader?.kind !== 'pcsc';

  // A new card: a fresh sale (the last receipt stays until then).
  const terminalState = till?.terminalState;
  useEffect(() => {
    if (terminalState === 'readingCard') {
      setAmountText('');
      setMethod('medical');
    }
  }, [terminalState]);

  // Keyboard first: the amount field takes the focus as soon as the till asks for it.
  useEffect(() => {
    if (amountOpen) amountRef.current?.focus();
  }, [amountOpen]);

  const confirmAmount = async () => {
    if (!amountOpen || fen === null) return;
    setSending(true);
    try {
      await client.call('enterAmount', { amountFen: fen, method });
      setAmountText('');
    } catch (e) {
      notify.error(e);
    } finally {
      setSending(false);
    }
  };

  const cancel = async () => {
    if (!canCancel) return;
    try {
      await client.call('cancel', {});
    } catch (e) {
      notify.error(e);
    }
  };

  // Esc at the PIN pad: back to the amount (kept in the field) to correct it; the sale goes on.
  const backToAmount = async (keep: string) => {
    try {
      await client.call('editAmount', {});
      setAmountText(keep);
      if (till?.method) setMethod(till.method);
    } catch (e) {
      notify.error(e);
    }
  };

  const answerService = async (entry: string) => {
    setServicePinSending(true);
    try {
      await client.call('readerServicePinPad', { entry });
    } catch (e) {
      notify.error(e);
    } finally {
      setServicePinSending(false);
    }
  };

  const submitPin = async (pin: string) => {
    setSending(true);
    try {
      await client.call('enterPin', { pin });
    } catch (e) {
      notify.error(e);
    } finally {
      setSending(false);
    }
  };

  const pullCard = async () => {
    try {
      await client.call('removeCard', {});
    } catch (e) {
      notify.error(e);
    }
  };

  const edit = (next: string) => {
    const ok = sanitizeAmount(next);
    if (ok !== null) setAmountText(ok);
  };

  // Digits typed anywhere on the till (outside other fields) go to the amount.
  useEffect(() => {
    if (waiting !== 'amount') return;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
      if (/^[0-9.]$/.test(e.key)) {
        edit(amountText + e.key);
        amountRef.current?.focus();
      } else if (e.key === 'Backspace') edit(amountText.slice(0, -1));
      else if (e.key === 'Enter') void confirmAmount();
      else if (e.key === 'Escape') void cancel();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (!till) {
    return (
      <section className="panel" data-testid="panel-till">
        {t('正在连接终端…', 'Connecting to the till…')}
      </section>
    );
  }

  const closedWhy =
    waiting === 'card'
      ? t('请先插卡', 'Insert a card first')
      : busy
        ? t('终端处理中，请稍候', 'The till is working, please wait')
        : pinWanted
          ? t('正在等待持卡人输入密码', 'Waiting for the holder’s PIN')
          : waiting === 'removal'
            ? t('本笔交易已结束，请先取卡', 'This sale is over: remove the card first')
            : t('终端现在不需要输入金额', 'The till is not asking for an amount now');

  const confirmWhy = !amountOpen
    ? closedWhy
    : fen === null
      ? amountText
        ? t(
            '金额无效（大于 0，最多两位小数，不超过 9,999,999.99 元）',
            'Invalid amount (more than 0, two decimals at most, up to 9,999,999.99)',
          )
        : t('请输入金额', 'Enter the amount')
      : t('确认金额 (Enter)', 'Confirm the amount (Enter)');

  const tone = messageTone(till.message.code);
  const last = till.last;
  const showLast = last !== null && till.terminalState === 'idle';
  const outcome = last?.outcome ?? null;
  const card = till.card;
  // After a payment the session's amount is gone: the screen keeps showing what was paid.
  const shownAmount =
    till.amountFen ?? (till.terminalState === 'removeCard' ? (outcome?.amountFen ?? null) : null);
  const shownMethod = till.method ?? outcome?.method ?? null;

  return (
    <section className="panel till-panel" data-testid="panel-till" aria-busy={busy}>
      <div className="till-title no-print">
        <h2>{t('收银台', 'Till')}</h2>
        <span className="muted">{t('定点医药机构 POS', 'Pharmacy / clinic POS')}</span>
        <span className="spacer" />
        <span
          className={busy ? 'till-busy on' : 'till-busy'}
          data-testid="till-busy"
          role="status"
          aria-hidden={!busy}
        >
          {busy && (
            <>
              <span className="spinner" aria-hidden="true" />
              {t('处理中…', 'Working…')}
            </>
          )}
        </span>
      </div>

      <div className="till-layout">
        <div className="till-operator">
          <div className={`till-screen tone-${tone} no-print`}>
            {/* The machine's state name is for the trainer's chart and for tests, never shown to the cashier. */}
            <div className="till-screen-top" data-testid="till-state" data-machine-state={till.state}>
              <span data-testid="till-state-label">{stateLabel(till, t)}</span>
            </div>
            <div className="till-message" data-testid="till-message" role="status" aria-live="polite">
              {renderMessage(till.message, lang)}
            </div>
            {showLast && (
              <div
                className={`till-last tone-${messageTone(last.message.code)}`}
                data-testid="till-last-result"
              >
                {t('上一笔：', 'Previous sale: ')}
                {renderMessage(last.message, lang)}
              </div>
            )}
            {card && (
              <div className="till-card" data-testid="till-card">
                <span className="till-gen">{t(...GEN_LABEL[card.generation])}</span>
                <span>{card.holderName ?? t('（无姓名）', '(no name)')}</span>
                <span className="mono">{card.cardNumber}</span>
                {card.ssnMasked && <span className="mono">{card.ssnMasked}</span>}
                <span>
                  {t('有效期至', 'valid to')} {card.expiryDate}
                </span>
                <span data-testid="till-card-status">{t(...cardStatusLabel(card))}</span>
              </div>
            )}
            {shownAmount !== null && (
              <div className="till-amount-line" data-testid="till-amount">
                {shownMethod === 'reserve' ? t('金融账户', 'Bank account') : t('医保支付', 'Medical account')}{' '}
                <span className="mono">¥{yuan(shownAmount)}</span>
              </div>
            )}
          </div>

          <div className="till-entry no-print" data-testid="amount-entry">
            <div className="till-methods" role="radiogroup" aria-label={t('支付方式', 'Pay with')}>
              <span className="till-field-label">{t('支付方式', 'Pay with')}</span>
              {(
                [
                  [
                    'medical',
                    '医保支付',
                    'Medical account',
                    '医保个人账户（95000 当年 / 95001 历年）',
                    'Medical personal account (95000 / 95001)',
                  ],
                  [
                    'reserve',
                    '金融账户',
                    'Bank account',
                    '社保卡金融账户（需银行交易密码，联机）',
                    'The card’s bank account (bank password, online)',
                  ],
                ] as const
              ).map(([m, zh, en, tipZh, tipEn]) => (
                <button
                  key={m}
                  type="button"
                  role="radio"
                  aria-checked={method === m}
                  className={method === m ? 'method on' : 'method'}
                  data-testid={`method-${m}`}
                  disabled={!amountOpen}
                  title={amountOpen ? t(tipZh, tipEn) : closedWhy}
                  onClick={() => {
                    setMethod(m);
                    amountRef.current?.focus();
                  }}
                >
                  {t(zh, en)}
                </button>
              ))}
            </div>
            <div className="till-amount-row">
              <label className="till-field-label" htmlFor="till-amount">
                {t('金额（元）', 'Amount (yuan)')}
              </label>
              <div className="till-amount-box">
                <span className="till-yuan-sign">¥</span>
                <input
                  id="till-amount"
                  ref={amountRef}
                  className="till-amount-input mono"
                  data-testid="amount-input"
                  type="text"
                  inputMode="decimal"
                  autoComplete="off"
                  spellCheck={false}
                  placeholder="0.00"
                  value={amountText}
                  disabled={!amountOpen}
                  title={
                    amountOpen
                      ? t('输入金额后按 Enter 确认，Esc 取消', 'Type the amount, Enter confirms, Esc cancels')
                      : closedWhy
                  }
                  onChange={(e) => edit(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') {
                      e.preventDefault();
                      void confirmAmount();
                    } else if (e.key === 'Escape') {
                      e.preventDefault();
                      void cancel();
                    }
                  }}
                />
              </div>
              <button
                type="button"
                className="primary"
                data-testid="amount-confirm"
                disabled={!amountOpen || fen === null}
                title={confirmWhy}
                onClick={() => void confirmAmount()}
              >
                {t('确认', 'Confirm')} <kbd>Enter</kbd>
              </button>
              <button
                type="button"
                data-testid="till-cancel"
                disabled={!canCancel}
                title={
                  canCancel
                    ? till.sessionState === 'paying'
                      ? t(
                          '取消交易：已扣款将自动冲正 (Esc)',
                          'Cancel: a debit already made is reversed (Esc)',
                        )
                      : pinWanted
                        ? t('取消交易（Esc 返回修改金额）', 'Cancel the sale (Esc goes back to the amount)')
                        : t('取消交易 (Esc)', 'Cancel the sale (Esc)')
                    : t('没有可以取消的交易', 'No sale to cancel now')
                }
                onClick={() => void cancel()}
              >
                {t('取消', 'Cancel')} {!pinWanted && <kbd>Esc</kbd>}
              </button>
            </div>
            <div className="till-amount-hint muted" data-testid="amount-preview">
              {amountOpen && fen !== null
                ? t(
                    `将收取 ¥${yuan(fen)}（${method === 'medical' ? '医保支付' : '金融账户'}）`,
                    `Will charge ¥${yuan(fen)} (${method === 'medical' ? 'medical account' : 'bank account'})`,
                  )
                : amountOpen
                  ? t('键盘输入数字和小数点，最多两位小数', 'Type digits and a point, two decimals at most')
                  : ''}
            </div>
          </div>

          {waiting === 'removal' && (
            <div className="till-next no-print" data-testid="till-next">
              <span>
                {t(
                  '请持卡人取卡；取卡后即可开始下一笔交易。',
                  'The holder takes the card; then the next sale can start.',
                )}
              </span>
              <button
                type="button"
                data-testid="new-sale"
                disabled={!virtualReader}
                title={
                  virtualReader
                    ? t(
                        '从虚拟读卡器取出卡片，开始新交易',
                        'Take the card out of the virtual reader and start a new sale',
                      )
                    : t(
                        'PC/SC 读卡器：请从实体读卡器取出卡片',
                        'PC/SC reader: take the card out of the physical reader',
                      )
                }
                onClick={() => void pullCard()}
              >
                {t('取卡，开始新交易', 'Remove card, new sale')}
              </button>
            </div>
          )}

          {outcome ? (
            <ReceiptView outcome={outcome} current={till.terminalState !== 'idle'} />
          ) : (
            <p className="till-no-receipt muted no-print">
              {t('交易成功后在此显示小票。', 'The receipt shows here after a payment.')}
            </p>
          )}
        </div>

        <div className="till-holder no-print">
          <CustomerDisplay
            till={till}
            pinLength={pinWanted || serviceWait ? pinLength : 0}
            merchantName={workspace?.merchantName}
            service={serviceWait}
          />
          {serviceWait ? (
            <PinPad
              key={`service-${serviceWait.functionName}-${serviceWait.prompt}`}
              kind="pin"
              title={`${t('读卡服务', 'Reader service')} ${serviceWait.functionName}: ${servicePrompt(serviceWait.prompt, t)}`}
              triesLeft={null}
              locked={servicePinSending}
              onSubmit={(pin) => void answerService(pin)}
              onCancel={() => void answerService('CANCEL')}
              onLengthChange={setPinLength}
            />
          ) : pinWanted || verifying ? (
            <PinPad
              key={`${till.sessionState}-${till.triesLeft ?? ''}`}
              kind={padKind}
              triesLeft={till.triesLeft}
              locked={busy || !pinWanted}
              onSubmit={(pin) => void submitPin(pin)}
              onCancel={() => void cancel()}
              onEscape={() => void backToAmount(till.amountFen === null ? '' : yuan(till.amountFen))}
              onLengthChange={setPinLength}
            />
          ) : (
            <div className="pin-pad-idle" data-testid="pin-pad-idle">
              {t('密码键盘待用：终端请求密码时启用', 'PIN pad idle: it wakes when the till asks for a PIN')}
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
