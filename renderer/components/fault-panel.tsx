import { useState, type FormEvent } from 'react';
import type { FaultState } from '../../core/api/fault-api.ts';
import { useI18n } from '../i18n.tsx';
import { useClient, useLive, useQuery } from '../live.tsx';
import { useNotify } from '../notify.tsx';
import './fault-panel.css';

type HostChoice = 'none' | 'error' | 'internal' | 'drop';
type Corruption = FaultState['corruptions'][number]['corruptions'][number];

function hostChoice(f: FaultState['host']): HostChoice {
  if (!f) return 'none';
  if (f.kind === 'drop-after-apply') return 'drop';
  return f.code === 'INTERNAL' ? 'internal' : 'error';
}

const HOST_FAULTS: Record<HostChoice, FaultState['host']> = {
  none: null,
  error: { kind: 'error', code: 'DECLINED' },
  internal: { kind: 'error', code: 'INTERNAL' },
  drop: { kind: 'drop-after-apply' },
};

/** A whole number ≥ 1 from a field, or undefined when the field is empty; null when it is not one. */
function apduIndex(text: string): number | undefined | null {
  const s = text.trim();
  if (s === '') return undefined;
  return /^[1-9][0-9]{0,3}$/.test(s) ? Number(s) : null;
}

/**
 * 故障注入 (fault injection), for training and QA: the card pulled or the reader gone at the
 * n-th APDU, the host answering with errors or losing its answers, a card whose EF05/EF06
 * records come back corrupted. Collapsed by default; every control says what it will do.
 */
export function FaultPanel() {
  const { t } = useI18n();
  const client = useClient();
  const notify = useNotify();
  const { till, reader } = useLive();
  // Re-read whenever the till or the reader moves: a fault may have fired.
  const [state, , reload] = useQuery(
    (c) => c.call('faultState', {}),
    [till?.state, till?.message.code, reader?.cardPresent],
  );
  const [cards] = useQuery((c) => c.call('listCards', {}));
  const [removeAt, setRemoveAt] = useState('');
  const [detachAt, setDetachAt] = useState('');
  const [cardId, setCardId] = useState('');
  const [file, setFile] = useState<Corruption['file']>('EF05');
  const [record, setRecord] = useState('7');
  const [mode, setMode] = useState<NonNullable<Corruption['mode']>>('flip');

  const run = async (call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (e) {
      notify.error(e);
    } finally {
      reload();
    }
  };

  const removeN = apduIndex(removeAt);
  const detachN = apduIndex(detachAt);
  const readerPlanOk = removeN !== null && detachN !== null;
  const armReader = (e?: FormEvent) => {
    e?.preventDefault();
    if (!readerPlanOk) return;
    void run(() =>
      client.call('setReaderFaults', {
        ...(removeN !== undefined ? { removeCardAtApdu: removeN } : {}),
        ...(detachN !== undefined ? { detachReaderAtApdu: detachN } : {}),
      }),
    );
  };

  const corruptCard = cardId || cards?.[0]?.id || '';
  const recordN = /^[1-9][0-9]?$/.test(record.trim()) ? Number(record.trim()) : null;
  const corrupt = (e: FormEvent) => {
    e.preventDefault();
    if (!corruptCard || recordN === null) return;
    const existing = state?.corruptions.find((c) => c.cardId === corruptCard)?.corruptions ?? [];
    const others = existing.filter((c) => !(c.file === file && c.record === recordN));
    void run(() =>
      client.call('corruptCardRecords', {
        cardId: corruptCard,
        corruptions: [...others, { file, record: recordN, mode }],
      }),
    );
  };

  const describe = (s: FaultState): string[] => {
    const lines: string[] = [];
    if (s.reader.detached)
      lines.push(t('读卡器已断开（点“重新连接”恢复）', 'Reader detached (click Reattach to bring it back)'));
    if (s.reader.plan.removeCardAtApdu !== undefined)
      lines.push(
        t(
          `第 ${s.reader.plan.removeCardAtApdu} 条 APDU 时拔卡（已发送 ${s.reader.apdusSent} 条）`,
          `Pull the card at APDU ${s.reader.plan.removeCardAtApdu} (${s.reader.apdusSent} sent so far)`,
        ),
      );
    if (s.reader.plan.detachReaderAtApdu !== undefined)
      lines.push(
        t(
          `第 ${s.reader.plan.detachReaderAtApdu} 条 APDU 时断开读卡器（已发送 ${s.reader.apdusSent} 条）`,
          `Detach the reader at APDU ${s.reader.plan.detachReaderAtApdu} (${s.reader.apdusSent} sent so far)`,
        ),
      );
    if (s.host?.kind === 'error')
      lines.push(
        t(
          `主机对交易请求返回错误（${s.host.code ?? 'DECLINED'}）`,
          `Host answers requests with an error (${s.host.code ?? 'DECLINED'})`,
        ),
      );
    if (s.host?.kind === 'drop-after-apply')
      lines.push(t('主机扣款后应答丢失（终端超时）', 'Host applies, then its answer is lost (timeout)'));
    for (const c of s.corruptions)
      lines.push(
        t('卡片损坏：', 'Corrupted card: ') +
          `${c.cardId} ` +
          c.corruptions.map((x) => `${x.file} #${x.record} (${x.mode ?? 'flip'})`).join(', '),
      );
    return lines;
  };
  const lines = state ? describe(state) : [];

  return (
    <details className="fault-panel" data-testid="fault-panel">
      <summary data-testid="fault-panel-toggle">
        <strong>{t('故障注入', 'Fault injection')}</strong>
        {lines.length > 0 && (
          <span className="fault-count" title={t('已布置的故障', 'Faults armed')}>
            {lines.length}
          </span>
        )}
      </summary>
      <p className="fault-hint muted">
        {t(
          '用于培训和测试：模拟拔卡、读卡器断开、主机故障和卡片数据损坏。APDU 从布置时开始计数。',
          'For training and QA: a card pulled, the reader gone, host failures, damaged card data. APDUs are counted from the moment a fault is armed.',
        )}
      </p>

      <form className="fault-group" onSubmit={armReader}>
        <h3>{t('读卡器', 'Reader')}</h3>
        <label>
          <span>{t('第 n 条 APDU 时拔卡', 'Pull the card at APDU n')}</span>
          <input
            data-testid="fault-remove-at"
            inputMode="numeric"
            placeholder="n"
            value={removeAt}
            aria-invalid={removeN === null}
            onChange={(e) => setRemoveAt(e.target.value)}
          />
        </label>
        <label>
          <span>{t('第 n 条 APDU 时断开读卡器', 'Detach the reader at APDU n')}</span>
          <input
            data-testid="fault-detach-at"
            inputMode="numeric"
            placeholder="n"
            value={detachAt}
            aria-invalid={detachN === null}
            onChange={(e) => setDetachAt(e.target.value)}
          />
        </label>
        <div className="row">
          <button
            type="submit"
            className="primary"
            data-testid="fault-reader-arm"
            disabled={!readerPlanOk}
            title={
              readerPlanOk
                ? t(
                    '按上面的设置布置读卡器故障（空白＝不布置）',
                    'Arm the reader faults above (empty = none)',
                  )
                : t('请填写 1–9999 的整数', 'Enter a whole number from 1 to 9999')
            }
          >
            {t('布置', 'Arm')}
          </button>
          <button
            type="button"
            data-testid="fault-reattach"
            disabled={!state?.reader.detached}
            title={
              state?.reader.detached
                ? t('重新连接读卡器', 'Plug the reader back in')
                : t('读卡器没有断开', 'The reader is not detached')
            }
            onClick={() => void run(() => client.call('reattachReader', {}))}
          >
            {t('重新连接', 'Reattach')}
          </button>
        </div>
      </form>

      <div className="fault-group">
        <h3>{t('主机', 'Host')}</h3>
        <select
          data-testid="fault-host"
          value={hostChoice(state?.host ?? null)}
          onChange={(e) => {
            const choice = e.target.value as HostChoice;
            void run(() => client.call('setHostFault', { fault: HOST_FAULTS[choice] }));
          }}
        >
          <option value="none">{t('正常', 'Healthy')}</option>
          <option value="error">{t('返回错误：拒绝交易', 'Error answer: declined')}</option>
          <option value="internal">{t('返回错误：主机内部错误', 'Error answer: internal error')}</option>
          <option value="drop">{t('扣款后应答丢失（超时）', 'Applied, answer lost (timeout)')}</option>
        </select>
      </div>

      <form className="fault-group" onSubmit={corrupt}>
        <h3>{t('卡片数据损坏', 'Damaged card data')}</h3>
        <select
          data-testid="fault-corrupt-card"
          value={corruptCard}
          aria-label={t('卡片', 'Card')}
          onChange={(e) => setCardId(e.target.value)}
        >
          {cards?.map((c) => (
            <option key={c.id} value={c.id}>
              {c.holderName} · {c.id}
            </option>
          ))}
        </select>
        <div className="fault-corrupt-row">
          <select
            data-testid="fault-corrupt-file"
            value={file}
            aria-label={t('文件', 'File')}
            onChange={(e) => setFile(e.target.value as Corruption['file'])}
          >
            <option value="EF05">EF05 {t('卡信息', 'card info')}</option>
            <option value="EF06">EF06 {t('持卡人', 'holder')}</option>
          </select>
          <input
            data-testid="fault-corrupt-record"
            inputMode="numeric"
            aria-label={t('记录号', 'Record number')}
            title={t('记录号', 'Record number')}
            value={record}
            aria-invalid={recordN === null}
            onChange={(e) => setRecord(e.target.value)}
          />
          <select
            data-testid="fault-corrupt-mode"
            value={mode}
            aria-label={t('损坏方式', 'Damage')}
            onChange={(e) => setMode(e.target.value as NonNullable<Corruption['mode']>)}
          >
            <option value="flip">{t('位翻转', 'bits flipped')}</option>
            <option value="truncate">{t('截断', 'truncated')}</option>
            <option value="garbage">{t('乱码', 'garbage')}</option>
          </select>
        </div>
        <button
          type="submit"
          data-testid="fault-corrupt"
          disabled={!corruptCard || recordN === null}
          title={t('下次插入这张卡时生效', 'Takes effect the next time this card is inserted')}
        >
          {t('损坏此记录', 'Corrupt this record')}
        </button>
      </form>

      <div className="fault-state" data-testid="fault-state" aria-live="polite">
        {lines.length === 0 ? (
          <span className="muted">{t('无故障', 'No faults armed')}</span>
        ) : (
          <ul>
            {lines.map((l) => (
              <li key={l}>{l}</li>
            ))}
          </ul>
        )}
      </div>
      <button
        type="button"
        className="danger"
        data-testid="fault-clear"
        disabled={lines.length === 0}
        title={t('清除全部故障，读卡器重新连接', 'Clear every fault; the reader comes back')}
        onClick={() => {
          setRemoveAt('');
          setDetachAt('');
          void run(() => client.call('clearFaults', {}));
        }}
      >
        {t('清除全部故障', 'Clear all faults')}
      </button>
    </details>
  );
}
