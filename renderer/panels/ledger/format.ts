import { ApiCallError } from '../../api-client.ts';
import type { Bi } from './labels.ts';

/**
 * How the ledger writes times, long ids, typed amounts, the books' own bilingual text and a
 * failed call, the same way in every section.
 */

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

export function shortId(id: string): string {
  return id.length > 18 ? `…${id.slice(-12)}` : id;
}

/** Yuan typed by the operator ("2.50") to fen, or null. */
export function fenOf(text: string): number | null {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** The books' own bilingual text, "中文 / English", in the language shown. */
export function splitBi(text: string): Bi {
  const at = text.indexOf(' / ');
  return at < 0 ? { zh: text, en: text } : { zh: text.slice(0, at), en: text.slice(at + 3) };
}

export function failureText(e: unknown): Bi {
  if (e instanceof ApiCallError) return { zh: e.failure.zh, en: e.failure.en };
  const text = e instanceof Error ? e.message : String(e);
  return { zh: text, en: text };
}
