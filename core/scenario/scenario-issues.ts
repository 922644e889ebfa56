import type { z } from 'zod';
import type { Seg } from './yaml-positions.ts';

/**
 * A problem in a scenario file, as people and CI read it: file:line:column: field: message.
 * The text is a contract (editors, CI logs and tests match it), and zod's own issues are
 * turned into it here so the loader only says where they point.
 */

export interface ScenarioIssue {
  file: string;
  line: number;
  column: number;
  /** The field as a path: steps[3].amount.yuan ('' for the file itself). */
  field: string;
  message: string;
}

export class ScenarioError extends Error {
  constructor(readonly issues: readonly ScenarioIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ScenarioError';
  }
}

export function formatIssue(i: ScenarioIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.field ? `${i.field}: ` : ''}${i.message}`;
}

export interface FlatIssue {
  path: Seg[];
  message: string;
  keys?: string[];
}

/**
 * Flattens zod issues: a union whose value matched one branch's type reports that branch's
 * own problems (an inline profile's bad SSN, not "invalid input").
 */
export function flatten(issues: readonly z.core.$ZodIssue[], prefix: Seg[] = []): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const i of issues) {
    const path = [...prefix, ...(i.path as Seg[])];
    if (i.code === 'invalid_union' && 'errors' in i && Array.isArray(i.errors) && i.errors.length > 0) {
      const matching = i.errors.filter(
        (branch) => !branch.every((b) => b.code === 'invalid_type' && b.path.length === 0),
      );
      if (matching.length === 1) {
        out.push(...flatten(matching[0]!, path));
        continue;
      }
    }
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path, message: `unknown field '${k}'`, keys: [k] });
      continue;
    }
    const m = /^Invalid input: expected (\w+), received undefined$/.exec(i.message);
    out.push({ path, message: m ? `is required (${m[1]})` : i.message.replace(/^Invalid input: /, '') });
  }
  return out;
}
