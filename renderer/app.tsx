import { useEffect, useMemo, useState } from 'react';
import { I18nContext, useI18n, type Lang } from './i18n.tsx';
import { useClient, useLive, useLiveState } from './live.tsx';
import { NotifyProvider, useNotify } from './notify.tsx';
import { TillPanel } from './panels/till.tsx';
import { WalletSidebar } from './panels/wallet.tsx';
import { CounterPanel } from './panels/counter.tsx';
import { LedgerPanel } from './panels/ledger.tsx';
import { TracePanel } from './panels/trace.tsx';
import { TrainerPanel } from './panels/trainer.tsx';

export type Tab = 'till' | 'counter' | 'ledger' | 'trace' | 'trainer';

const TABS: { id: Tab; zh: string; en: string; key: string }[] = [
  { id: 'till', zh: '收银台', en: 'Till', key: 'F1' },
  { id: 'counter', zh: '银行柜台', en: 'Bank counter', key: 'F2' },
  { id: 'ledger', zh: '账务', en: 'Ledger', key: 'F3' },
  { id: 'trace', zh: 'APDU 跟踪', en: 'APDU trace', key: 'F4' },
  { id: 'trainer', zh: '培训演示', en: 'Trainer', key: 'F5' },
];

function Header() {
  const live = useLive();
  const state = useLiveState();
  const client = useClient();
  const notify = useNotify();
  const { t } = useI18n();
  const ws = live.workspace;
  return (
    <header className="app-header">
      <div className="brand">
        <strong>社保卡终端实验室</strong> <span className="muted">SSCard Lab</span>
      </div>
      {ws?.mode === 'training' && (
        <span className="badge badge-training" data-testid="training-badge">
          {t('培训模式（练习数据，不入正式账）', 'Training mode (practice data, not the real books)')}
        </span>
      )}
      <div className="header-meta muted">
        {ws ? `${ws.merchantName} · ${ws.terminalId} · ${ws.businessDate}` : ''}
      </div>
      <label className="host-link">
        <span>{t('银行/医保主机', 'Bank / insurance host')}</span>
        <select
          data-testid="host-link"
          value={ws?.hostLink ?? 'up'}
          onChange={async (e) => {
            const link = e.target.value as 'up' | 'down' | 'slow';
            try {
              await client.call('setHostLink', { link });
              state.patchWorkspace({ hostLink: link });
            } catch (err) {
              notify.error(err);
            }
          }}
        >
          <option value="up">{t('在线', 'up')}</option>
          <option value="down">{t('断开', 'down')}</option>
          <option value="slow">{t('缓慢（超时）', 'slow (times out)')}</option>
        </select>
      </label>
    </header>
  );
}

/** A reader-service function waiting for the holder brings the till (and its PIN pad) to the front. */
function FollowServicePin({ onWait }: { onWait(): void }) {
  const { service } = useLive();
  const asking = service?.waiting ? `${service.waiting.functionName}/${service.waiting.prompt}` : null;
  useEffect(() => {
    if (asking) onWait();
  }, [asking]);
  return null;
}

export function App() {
  const [lang, setLang] = useState<Lang>(() => (localStorage.getItem('sscard-lang') === 'en' ? 'en' : 'zh'));
  const [tab, setTab] = useState<Tab>('till');
  const i18n = useMemo(
    () => ({ lang, setLang, t: (zh: string, en: string) => (lang === 'zh' ? zh : en) }),
    [lang],
  );
  useEffect(() => {
    localStorage.setItem('sscard-lang', lang);
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }, [lang]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const i = TABS.findIndex((x) => x.key === e.key);
      if (i >= 0) {
        e.preventDefault();
        setTab(TABS[i]!.id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <I18nContext.Provider value={i18n}>
      <NotifyProvider>
        <div className="app" data-testid="app-ready">
          <FollowServicePin onWait={() => setTab('till')} />
          <Header />
          <nav className="tabs" role="tablist">
            {TABS.map((x) => (
              <button
                key={x.id}
                type="button"
                role="tab"
                aria-selected={tab === x.id}
                className={tab === x.id ? 'tab active' : 'tab'}
                data-testid={`tab-${x.id}`}
                onClick={() => setTab(x.id)}
                title={x.key}
              >
                {lang === 'zh' ? x.zh : x.en}
              </button>
            ))}
            <span className="spacer" />
            <button
              type="button"
              className="lang-toggle"
              data-testid="lang-toggle"
              onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}
            >
              {lang === 'zh' ? 'English' : '中文'}
            </button>
          </nav>
          <div className="workspace">
            <main className="main">
              {tab === 'till' && <TillPanel />}
              {tab === 'counter' && <CounterPanel />}
              {tab === 'ledger' && <LedgerPanel />}
              {tab === 'trace' && <TracePanel />}
              {tab === 'trainer' && <TrainerPanel onNavigate={setTab} />}
            </main>
            <aside className="sidebar">
              <WalletSidebar />
            </aside>
          </div>
        </div>
      </NotifyProvider>
    </I18nContext.Provider>
  );
}
