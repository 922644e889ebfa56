import { useState } from 'react';
import { ApiCallError } from '../../api-client.ts';

/**
 * What one action at the counter came to, and the one way every section runs a call: each
 * section hands its answer to the shell's result box in the same shape, refusals with their rule.
 */

export type Bi = { zh: string; en: string };

/** What the last action at the counter came to, as the result box shows it. */
export interface Outcome {
  ok: boolean;
  /** The rule that refused it (R1.4, R13…), or an Api error code. */
  rule?: string | null;
  zh: string;
  en: string;
  lines?: Bi[];
  receipt?: string | null;
  tookFromTill?: boolean;
}

/** A failed call as an outcome: the Api's code stands where a rule would. */
export function failureOutcome(e: unknown): Outcome {
  if (e instanceof ApiCallError)
    return { ok: false, rule: e.failure.code, zh: e.failure.zh, en: e.failure.en };
  const text = e instanceof Error ? e.message : String(e);
  return { ok: false, rule: null, zh: text, en: text };
}

/** A lifecycle step's answer: done (with the state it reached) or refused with its rule. */
export function stepOutcome(
  r: { ok: true; zh: string; en: string } | { ok: false; rule: string; zh: string; en: string },
  done: Bi,
  extra: Partial<Outcome> = {},
): Outcome {
  if (!r.ok) return { ok: false, rule: r.rule, zh: r.zh, en: r.en, ...extra };
  return {
    ok: true,
    zh: `${done.zh}。当前状态：${r.zh}`,
    en: `${done.en}. Now: ${r.en}`,
    ...extra,
  };
}

/** Runs one counter call, keeping the button busy and turning every answer into an outcome. */
export function useAction(setOutcome: (o: Outcome | null) => void) {
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<Outcome>) => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome(await fn());
    } catch (e) {
      setOutcome(failureOutcome(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}
