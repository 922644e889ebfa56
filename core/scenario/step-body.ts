import type { z } from 'zod';
import { DURATION_PATTERN, type stepValueSchemas, type StepKind } from './schema.ts';
import { yuanToFen } from './money.ts';
import type { CounterStep, ScenarioCard, StepBody } from './scenario-model.ts';
import type { Seg } from './yaml-positions.ts';

/**
 * A checked step value turned into what the engine runs: cards resolved, yuan in fen, instants
 * in UTC, durations in milliseconds.
 */

type Data<K extends StepKind> = z.output<(typeof stepValueSchemas)[K]>;

/** The checked step value as the engine uses it: cards resolved, yuan in fen. */
export function toBody(
  kind: StepKind,
  data: unknown,
  path: Seg[],
  resolveCardAt: (ref: unknown, path: Seg[]) => ScenarioCard | null,
): StepBody | null {
  const cardOf = (ref: unknown, sub: Seg[]) =>
    ref === undefined ? null : resolveCardAt(ref, [...path, ...sub]);
  switch (kind) {
    case 'insert': {
      const d = data as Data<'insert'>;
      const card = cardOf(d.card, ['card']);
      if (d.card !== undefined && !card) return null;
      return { kind, card };
    }
    case 'amount': {
      const d = data as Data<'amount'>;
      return { kind, fen: yuanToFen(d.yuan), yuan: d.yuan, method: d.method };
    }
    case 'pin':
    case 'password':
      return { kind, value: (data as Data<'pin'>).value };
    case 'host':
      return { kind, to: (data as Data<'host'>).to };
    case 'clock': {
      const d = data as Data<'clock'>;
      if ('set' in d) return { kind, set: instantOf(d.set), advanceMs: null };
      return { kind, set: null, advanceMs: durationMs(d.advance) };
    }
    case 'counter': {
      const d = data as Data<'counter'>;
      const card = cardOf(d.card, ['card']);
      if (d.card !== undefined && !card) return null;
      const { card: _c, ...counter } = d;
      return { kind, counter: counter as CounterStep, card };
    }
    case 'settle':
    case 'reconcile':
      return { kind, date: (data as Data<'settle'>).date ?? null };
    case 'refund': {
      const d = data as Data<'refund'>;
      return { kind, fen: yuanToFen(d.yuan), yuan: d.yuan, payment: d.payment };
    }
    case 'fault': {
      const d = data as Data<'fault'>;
      if (d === 'none' || d === 'reattach') return { kind, fault: { type: d } };
      if ('removeCardAtApdu' in d)
        return { kind, fault: { type: 'remove-card-at-apdu', n: d.removeCardAtApdu } };
      if ('removeCardInState' in d)
        return { kind, fault: { type: 'remove-card-in-state', state: d.removeCardInState } };
      if ('detachReaderAtApdu' in d)
        return { kind, fault: { type: 'detach-reader-at-apdu', n: d.detachReaderAtApdu } };
      const c = d.corruptRecord;
      return { kind, fault: { type: 'corrupt-record', file: c.file, record: c.record, mode: c.mode } };
    }
    case 'crash':
      return { kind, point: (data as Data<'crash'>).point, after: (data as Data<'crash'>).after };
    case 'expect': {
      const d = data as Data<'expect'>;
      const balancesCard = cardOf(d.balances?.card, ['balances', 'card']);
      if (d.balances?.card !== undefined && !balancesCard) return null;
      return { kind, expect: d, balancesCard };
    }
    case 'interface':
      return { kind, call: data as Data<'interface'> };
    case 'remove':
    case 'cancel':
    case 'timeout':
    case 'sync':
      return { kind };
  }
}

/** A date alone is 09:00 Beijing time that day (a pharmacy opening); instants keep their offset. */
export function instantOf(text: string): string {
  return new Date(/T/.test(text) ? text : `${text}T09:00:00+08:00`).toISOString();
}

export function durationMs(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m) throw new RangeError(`not a duration: ${text}`);
  const [d, h, min, s, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return (((d! * 24 + h!) * 60 + min!) * 60 + s!) * 1000 + ms!;
}
