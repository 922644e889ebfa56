import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n.tsx';
import './pin-pad.css';

/** The till's PIN pad always sends six digits (gen 3 card PIN, gen 2/3 transaction password). */
export const PIN_LENGTH = 6;

export interface PinPadProps {
  /** 'pin': the card's own PIN (gen 3, checked by the card); 'password': the bank's transaction password. */
  kind: 'pin' | 'password';
  /** Tries left after a wrong entry (63Cx on the card, or the bank's counter); null before any. */
  triesLeft: number | null;
  /** The till is verifying or paying: the keys are locked. */
  locked: boolean;
  /** Receives the six digits once. The pad forgets them before calling. */
  onSubmit(pin: string): void;
  onCancel(): void;
  /** Esc on the keyboard, when it should not cancel: the till goes back to the amount. */
  onEscape?(): void;
  /** What the pad asks for, when not the till's PIN or password (a reader-service function). */
  title?: string;
  /** How many digits are entered (for the customer display's dots); never the digits. */
  onLengthChange?(length: number): void;
}

/** Where the physical keyboard belongs to another field, the pad leaves the keys alone. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement
  );
}

const DIGIT_ROWS = [
  ['1', '2', '3'],
  ['4', '5', '6'],
  ['7', '8', '9'],
];

/**
 * 数字密码键盘: masked entry (one ● per digit), on-screen keys and the physical keyboard
 * (digits, Backspace, Delete, Enter, Esc). The digits live in a ref, never in the DOM, never in
 * React state, never logged; they are cleared when sent, cancelled or the pad goes away.
 */
export function PinPad({
  kind,
  title: asked,
  triesLeft,
  locked,
  onSubmit,
  onCancel,
  onEscape,
  onLengthChange,
}: PinPadProps) {
  const { t } = useI18n();
  const digits = useRef('');
  const pad = useRef<HTMLDivElement>(null);
  const [length, setLength] = useState(0);

  const sync = () => {
    setLength(digits.current.length);
    onLengthChange?.(digits.current.length);
  };
  const press = (d: string) => {
    if (locked || digits.current.length >= PIN_LENGTH) return;
    digits.current += d;
    sync();
  };
  const correct = () => {
    if (locked || !digits.current) return;
    digits.current = digits.current.slice(0, -1);
    sync();
  };
  const clear = () => {
    if (locked || !digits.current) return;
    digits.current = '';
    sync();
  };
  const confirm = () => {
    if (locked || digits.current.length !== PIN_LENGTH) return;
    const pin = digits.current;
    digits.current = '';
    sync();
    onSubmit(pin);
  };
  const cancel = () => {
    if (locked) return;
    digits.current = '';
    sync();
    onCancel();
  };
  const escape = () => {
    if (!onEscape) return cancel();
    if (locked) return;
    digits.current = '';
    sync();
    onEscape();
  };

  // The pad takes the focus so the physical keyboard reaches it (not a field left disabled).
  useEffect(() => {
    if (!isTypingTarget(document.activeElement) || (document.activeElement as HTMLInputElement).disabled)
      pad.current?.focus();
  }, []);

  // Forget whatever was typed when the pad goes away (card pulled, cancelled, declined).
  useEffect(
    () => () => {
      digits.current = '';
      onLengthChange?.(0);
    },
    [], // on unmount only
  );

  // The physical keyboard; re-bound on every render so the handlers see the current props.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
      if (/^[0-9]$/.test(e.key)) press(e.key);
      else if (e.key === 'Backspace') correct();
      else if (e.key === 'Delete') clear();
      else if (e.key === 'Enter') confirm();
      else if (e.key === 'Escape') escape();
      else return;
      // Also keeps Enter on a focused key from clicking it a second time.
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const lockedWhy = t('终端处理中，请稍候', 'The till is working, please wait');
  const fullWhy = t(`已输入 ${PIN_LENGTH} 位`, `${PIN_LENGTH} digits entered`);
  const title =
    asked ??
    (kind === 'pin'
      ? t('请输入社保卡密码', 'Enter the card PIN')
      : t('请输入交易密码', 'Enter the transaction password'));

  const digitKey = (d: string) => (
    <button
      key={d}
      type="button"
      className="pin-key"
      data-testid={`pin-key-${d}`}
      disabled={locked || length >= PIN_LENGTH}
      title={locked ? lockedWhy : length >= PIN_LENGTH ? fullWhy : undefined}
      onClick={() => press(d)}
    >
      {d}
    </button>
  );

  return (
    <div
      ref={pad}
      tabIndex={-1}
      className={`pin-pad${locked ? ' locked' : ''}`}
      data-testid="pin-pad"
      role="group"
      aria-label={t('数字密码键盘', 'PIN pad')}
    >
      <div className="pin-pad-head">
        <strong>{t('数字密码键盘', 'PIN pad')}</strong>
        <span className="pin-pad-kind" data-testid="pin-pad-kind">
          {title}
        </span>
      </div>
      <div
        className="pin-dots"
        data-testid="pin-dots"
        role="status"
        aria-label={t(
          `已输入 ${length} 位，共 ${PIN_LENGTH} 位`,
          `${length} of ${PIN_LENGTH} digits entered`,
        )}
      >
        {Array.from({ length: PIN_LENGTH }, (_, i) => (
          <span key={i} className={i < length ? 'pin-dot filled' : 'pin-dot'} aria-hidden="true">
            {i < length ? '●' : '○'}
          </span>
        ))}
      </div>
      {triesLeft !== null && (
        <div className="pin-tries warn" data-testid="pin-tries">
          {kind === 'pin'
            ? t(
                `密码错误，还可尝试 ${triesLeft} 次（卡片应答 63C${triesLeft}）`,
                `Wrong PIN, ${triesLeft} tries left (card answered 63C${triesLeft})`,
              )
            : t(`交易密码错误，还可尝试 ${triesLeft} 次`, `Wrong password, ${triesLeft} tries left`)}
        </div>
      )}
      <div className="pin-keys">
        {DIGIT_ROWS.map((row) => row.map(digitKey))}
        <button
          type="button"
          className="pin-key pin-fn pin-clear"
          data-testid="pin-clear"
          disabled={locked || length === 0}
          title={
            locked
              ? lockedWhy
              : length === 0
                ? t('还没有输入', 'Nothing entered yet')
                : t('清除全部 (Delete)', 'Clear all (Delete)')
          }
          onClick={clear}
        >
          {t('清除', 'Clear')}
        </button>
        {digitKey('0')}
        <button
          type="button"
          className="pin-key pin-fn pin-correct"
          data-testid="pin-correct"
          disabled={locked || length === 0}
          title={
            locked
              ? lockedWhy
              : length === 0
                ? t('还没有输入', 'Nothing entered yet')
                : t('删除最后一位 (Backspace)', 'Delete the last digit (Backspace)')
          }
          onClick={correct}
        >
          {t('更正', 'Correct')}
        </button>
      </div>
      <div className="pin-actions">
        <button
          type="button"
          className="pin-cancel"
          data-testid="pin-cancel"
          disabled={locked}
          title={
            locked
              ? lockedWhy
              : onEscape
                ? t('取消交易', 'Cancel the sale')
                : t('取消交易 (Esc)', 'Cancel the sale (Esc)')
          }
          onClick={cancel}
        >
          {t('取消', 'Cancel')}
        </button>
        <button
          type="button"
          className="pin-confirm"
          data-testid="pin-confirm"
          disabled={locked || length !== PIN_LENGTH}
          title={
            locked
              ? lockedWhy
              : length !== PIN_LENGTH
                ? t(`请输入 ${PIN_LENGTH} 位密码`, `Enter ${PIN_LENGTH} digits`)
                : t('确认 (Enter)', 'Confirm (Enter)')
          }
          onClick={confirm}
        >
          {t('确认', 'OK')}
        </button>
      </div>
      <p className="pin-hint muted">
        {onEscape
          ? t(
              '也可用键盘输入：数字、Backspace 更正、Enter 确认、Esc 返回修改金额',
              'Or use the keyboard: digits, Backspace, Enter to confirm, Esc to go back to the amount',
            )
          : t(
              '也可用键盘输入：数字、Backspace 更正、Enter 确认、Esc 取消',
              'Or use the keyboard: digits, Backspace, Enter to confirm, Esc to cancel',
            )}
      </p>
    </div>
  );
}
