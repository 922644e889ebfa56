import type { z } from 'zod';
import { BARE_STEPS, expandShorthand, STEP_KINDS, stepValueSchemas, type StepKind } from './schema.ts';
import type { Seg } from './yaml-positions.ts';

/**
 * Which step a list item is (a bare word or a one-key mapping) and its value checked against
 * that step's own schema, so an error names the step's field, with a "did you mean" for a
 * misspelt step.
 */

/** Which step a list item is, and its value checked against that step's schema. */
export function parseStep(
  raw: unknown,
  path: Seg[],
  add: (path: Seg[], message: string, key?: string) => void,
  addAll: (issues: readonly z.core.$ZodIssue[], prefix: Seg[]) => void,
): { kind: StepKind; data: unknown } | null {
  let kind: string;
  let value: unknown;
  if (typeof raw === 'string') {
    kind = raw;
    if (!(STEP_KINDS as string[]).includes(kind)) {
      add(path, unknownStep(kind));
      return null;
    }
    if (!(kind in BARE_STEPS)) {
      add(path, `'${kind}' needs a value, e.g. ${example(kind as StepKind)}`);
      return null;
    }
    value = BARE_STEPS[kind as StepKind];
  } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const keys = Object.keys(raw);
    if (keys.length !== 1) {
      add(
        path,
        keys.length === 0
          ? 'an empty step'
          : `a step has exactly one key, this one has ${keys.length} (${keys.join(', ')}): put each on its own '- ' line`,
      );
      return null;
    }
    kind = keys[0]!;
    if (!(STEP_KINDS as string[]).includes(kind)) {
      add(path, unknownStep(kind), kind);
      return null;
    }
    value = (raw as Record<string, unknown>)[kind];
  } else {
    add(path, `a step is a word (insert) or one key with its value (amount: "12.50")`);
    return null;
  }
  const k = kind as StepKind;
  const r = stepValueSchemas[k].safeParse(expandShorthand(k, value));
  if (!r.success) {
    addAll(r.error.issues, [...path, k]);
    return null;
  }
  return { kind: k, data: r.data };
}

function unknownStep(kind: string): string {
  const near = STEP_KINDS.find((k) => editDistance(k, kind) <= 2);
  return `unknown step '${kind}'${near ? ` (did you mean '${near}'?)` : ''}; steps are ${STEP_KINDS.join(', ')}`;
}

function example(kind: StepKind): string {
  const e: Partial<Record<StepKind, string>> = {
    amount: 'amount: "12.50"',
    pin: 'pin: "012345"',
    password: 'password: "012345"',
    host: 'host: down',
    clock: 'clock: 2026-06-21',
    counter: 'counter: unblock',
    refund: 'refund: "5.00"',
    fault: 'fault: { removeCardAtApdu: 3 }',
    crash: 'crash: after-card-debit',
    expect: 'expect: { result: paid }',
  };
  return e[kind] ?? `${kind}: …`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}
