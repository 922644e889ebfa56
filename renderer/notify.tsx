import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';
import { ApiCallError } from './api-client.ts';
import { useI18n } from './i18n.tsx';

interface Notice {
  id: number;
  zh: string;
  en: string;
  kind: 'error' | 'info';
}

const NotifyContext = createContext<(n: Omit<Notice, 'id'>) => void>(() => {});

/** Reports a failed call or a notice in the banner area (both languages kept, one shown). */
export function useNotify() {
  const push = useContext(NotifyContext);
  return {
    info: (zh: string, en: string) => push({ zh, en, kind: 'info' }),
    error: (e: unknown) =>
      push(
        e instanceof ApiCallError
          ? { zh: e.failure.zh, en: e.failure.en, kind: 'error' }
          : {
              zh: String(e instanceof Error ? e.message : e),
              en: String(e instanceof Error ? e.message : e),
              kind: 'error',
            },
      ),
  };
}

export function NotifyProvider({ children }: { children: ReactNode }) {
  const { lang, t } = useI18n();
  const [notices, setNotices] = useState<Notice[]>([]);
  const push = useCallback((n: Omit<Notice, 'id'>) => {
    const id = Date.now() + Math.random();
    setNotices((all) => [...all.slice(-3), { ...n, id }]);
    if (n.kind === 'info') setTimeout(() => setNotices((all) => all.filter((x) => x.id !== id)), 5000);
  }, []);
  return (
    <NotifyContext.Provider value={push}>
      {children}
      <div className="notices" aria-live="polite">
        {notices.map((n) => (
          <div
            key={n.id}
            className={`notice notice-${n.kind}`}
            data-testid={n.kind === 'error' ? 'error-banner' : 'info-banner'}
            role={n.kind === 'error' ? 'alert' : 'status'}
          >
            <span>{n[lang]}</span>
            <button
              type="button"
              className="link"
              onClick={() => setNotices((all) => all.filter((x) => x.id !== n.id))}
            >
              {t('关闭', 'Close')}
            </button>
          </div>
        ))}
      </div>
    </NotifyContext.Provider>
  );
}
