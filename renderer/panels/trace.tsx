import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useI18n } from '../i18n.tsx';
import { useClient, useLive } from '../live.tsx';
import { useNotify } from '../notify.tsx';
import {
  COMMAND_KINDS,
  KIND_LABELS,
  decodeTrace,
  type CommandKind,
  type DecodedEntry,
} from '../apdu-decode.ts';
import type { TraceEntry } from '../../core/api/events.ts';
import './trace.css';

/**
 * APDU 跟踪: every exchange between the till and the card as it happens, decoded in the
 * screen's language and coloured by its status word. PIN data arrives masked from the core
 * and is never unmasked here.
 */

type SeverityFilter = 'all' | 'problems' | 'errors';

function timeOf(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Saves text as a file through a Blob link (no server round trip; allowed by the page's CSP). */
function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The JSON export: the entries as recorded (PINs masked) with their decoding in both languages. */
export function traceJson(entries: readonly TraceEntry[], decoded: readonly DecodedEntry[]): string {
  return JSON.stringify(
    entries.map((e, i) => {
      const d = decoded[i]!;
      return {
        seq: e.seq,
        at: e.at,
        reader: e.reader,
        command: d.command,
        response: e.response,
        sw: e.sw,
        meaning: e.meaning,
        ...(e.error ? { error: e.error } : {}),
        kind: d.cmd.kind,
        severity: d.status.severity,
        decoded: d.line,
      };
    }),
    null,
    2,
  );
}

function Hex({ data, sw, severity }: { data: string; sw: string; severity: string }) {
  return (
    <>
      <span className="hex-data">{data}</span>
      {sw && <span className={`hex-sw sev-${severity}`}>{sw}</span>}
    </>
  );
}

export function TracePanel() {
  const { t, lang } = useI18n();
  const { trace, workspace } = useLive();
  const client = useClient();
  const notify = useNotify();
  const [severity, setSeverity] = useState<SeverityFilter>('all');
  const [kind, setKind] = useState<CommandKind | 'all'>('all');
  const [query, setQuery] = useState('');
  const [follow, setFollow] = useState(true);
  const [busy, setBusy] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);
  const seenAtPause = useRef(0);

  const decoded = useMemo(() => decodeTrace(trace), [trace]);
  const counts = useMemo(() => {
    let errors = 0;
    let warnings = 0;
    for (const d of decoded) {
      if (d.status.severity === 'error') errors++;
      else if (d.status.severity === 'warn') warnings++;
    }
    return { errors, warnings };
  }, [decoded]);

  const rows = useMemo(() => {
    const q = query.trim().toUpperCase();
    return decoded
      .map((d, i) => ({ d, e: trace[i]! }))
      .filter(({ d }) => {
        if (severity === 'errors' && d.status.severity !== 'error') return false;
        if (severity === 'problems' && d.status.severity === 'ok') return false;
        if (kind !== 'all' && d.cmd.kind !== kind) return false;
        if (!q) return true;
        return (
          d.command.includes(q) ||
          d.status.sw.includes(q) ||
          d.line.zh.toUpperCase().includes(q) ||
          d.line.en.toUpperCase().includes(q)
        );
      });
  }, [decoded, trace, severity, kind, query]);

  useLayoutEffect(() => {
    const el = listRef.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [rows.length, follow]);

  useEffect(() => {
    if (follow) seenAtPause.current = trace.length;
  }, [follow, trace.length]);
  const unseen = follow ? 0 : Math.max(0, trace.length - seenAtPause.current);

  const onScroll = () => {
    const el = listRef.current;
    if (!el || !follow) return;
    // Scrolling up to read pauses the auto-scroll; the button resumes it.
    if (el.scrollHeight - el.scrollTop - el.clientHeight > 40) setFollow(false);
  };

  const clear = async () => {
    setBusy(true);
    try {
      await client.call('clearTrace', {});
    } catch (e) {
      notify.error(e);
    } finally {
      setBusy(false);
    }
  };

  const exportText = async () => {
    setBusy(true);
    try {
      const { text } = await client.call('exportTrace', {});
      download(`sscard-trace-${stamp()}.txt`, text + (text ? '\n' : ''), 'text/plain;charset=utf-8');
    } catch (e) {
      notify.error(e);
    } finally {
      setBusy(false);
    }
  };

  const exportJson = () =>
    download(
      `sscard-trace-${stamp()}.json`,
      traceJson(trace, decoded) + '\n',
      'application/json;charset=utf-8',
    );

  return (
    <section className="panel trace-panel" data-testid="panel-trace">
      <div className="trace-head">
        <h2>{t('APDU 跟踪', 'APDU trace')}</h2>
        <span className="muted trace-counts" data-testid="trace-counts">
          {t(`共 ${trace.length} 条`, `${trace.length} exchanges`)}
          {' · '}
          <span className="bad">{t(`错误 ${counts.errors}`, `${counts.errors} errors`)}</span>
          {' · '}
          <span className="warn">{t(`警告 ${counts.warnings}`, `${counts.warnings} warnings`)}</span>
          {workspace?.mode === 'training' && ' · ' + t('培训沙盒', 'training sandbox')}
        </span>
        <span className="spacer" />
        <span className="muted pin-note">{t('密码数据一律显示为 *', 'PIN data always shows as *')}</span>
        <button type="button" data-testid="trace-export" disabled={busy} onClick={() => void exportText()}>
          {t('导出文本', 'Export .txt')}
        </button>
        <button type="button" data-testid="trace-export-json" disabled={busy} onClick={exportJson}>
          {t('导出 JSON', 'Export JSON')}
        </button>
        <button
          type="button"
          data-testid="trace-clear"
          disabled={busy || trace.length === 0}
          onClick={() => void clear()}
        >
          {t('清空', 'Clear')}
        </button>
      </div>

      <div className="trace-toolbar">
        <label>
          <span className="muted">{t('状态', 'Status')}</span>
          <select
            data-testid="trace-filter-severity"
            value={severity}
            onChange={(e) => setSeverity(e.target.value as SeverityFilter)}
          >
            <option value="all">{t('全部', 'All')}</option>
            <option value="problems">{t('警告和错误', 'Warnings and errors')}</option>
            <option value="errors">{t('仅错误', 'Errors only')}</option>
          </select>
        </label>
        <label>
          <span className="muted">{t('指令', 'Command')}</span>
          <select
            data-testid="trace-filter-kind"
            value={kind}
            onChange={(e) => setKind(e.target.value as CommandKind | 'all')}
          >
            <option value="all">{t('全部指令', 'All commands')}</option>
            {COMMAND_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABELS[k][lang]}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          data-testid="trace-search"
          placeholder={t('搜索：EF05、63C、SELECT…', 'Search: EF05, 63C, SELECT…')}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="spacer" />
        <button
          type="button"
          data-testid="trace-follow"
          aria-pressed={follow}
          onClick={() => setFollow(!follow)}
          title={t('新记录到达时滚动到底部', 'Scroll to the newest exchange as it arrives')}
        >
          {follow
            ? t('暂停滚动', 'Pause scrolling')
            : unseen
              ? t(`继续滚动（${unseen} 条新）`, `Follow (${unseen} new)`)
              : t('自动滚动', 'Follow')}
        </button>
      </div>

      {trace.length === 0 ? (
        <p className="trace-empty muted" data-testid="trace-empty">
          {t(
            '还没有 APDU。插卡、支付时，终端与卡片之间的每条指令都会出现在这里。',
            'No APDUs yet. Insert a card or pay: every command between the till and the card shows here.',
          )}
        </p>
      ) : (
        <ol className="trace-list" data-testid="trace-list" ref={listRef} onScroll={onScroll}>
          {rows.length === 0 && (
            <li className="trace-none muted">{t('没有符合筛选条件的记录', 'Nothing matches the filter')}</li>
          )}
          {rows.map(({ d, e }) => (
            <li
              key={e.seq}
              className={`trace-row sev-${d.status.severity}`}
              data-testid="trace-row"
              data-seq={e.seq}
              data-sw={d.status.sw}
              data-kind={d.cmd.kind}
              data-severity={d.status.severity}
            >
              <div className="trace-meta">
                <span className="seq">#{e.seq}</span>
                <time dateTime={e.at}>{timeOf(e.at)}</time>
                <span className="reader" title={e.reader}>
                  {e.reader}
                </span>
              </div>
              <div className="trace-hex mono">
                <div className="dir-line">
                  <span className="dir" title={t('终端发往卡片', 'till to card')}>
                    {t('→ 卡', '→ card')}
                  </span>
                  <span className="hex" data-testid="trace-command">
                    {d.command}
                  </span>
                </div>
                <div className="dir-line">
                  <span className="dir" title={t('卡片应答', 'card answer')}>
                    {t('← 答', '← resp')}
                  </span>
                  <span className="hex" data-testid="trace-response">
                    {e.response ? (
                      <Hex data={d.responseData} sw={d.status.sw} severity={d.status.severity} />
                    ) : (
                      <span className="bad">{e.error ?? t('无应答', 'no answer')}</span>
                    )}
                  </span>
                </div>
              </div>
              <div className="trace-decoded" data-testid="trace-decoded">
                <span className="cmd-text">{d.cmd.text[lang]}</span>
                <span className={`sw-badge sev-${d.status.severity}`}>{d.status.text[lang]}</span>
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
