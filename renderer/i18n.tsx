import { createContext, useContext } from 'react';

export type Lang = 'zh' | 'en';

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  /** Picks the text for the current language: t('收银台', 'Till'). Chinese is the default. */
  t(zh: string, en: string): string;
}

export const I18nContext = createContext<I18n>({ lang: 'zh', setLang: () => {}, t: (zh) => zh });

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/** A bilingual pair from the core ({ zh, en }) in the current language. */
export function useBi(): (b: { zh: string; en: string } | null | undefined) => string {
  const { lang } = useI18n();
  return (b) => (b ? b[lang] : '');
}

/** Yuan from fen, always two decimals: 1250 → "12.50". */
export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '—';
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
