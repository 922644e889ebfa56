import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { headerSchema, type Expectations } from './schema.ts';
import type { LoadResult, ScenarioCard, Step } from './scenario-model.ts';
import { flatten, type ScenarioIssue } from './scenario-issues.ts';
import { locate, pathText, type Seg } from './yaml-positions.ts';
import { parseStep } from './step-parse.ts';
import { instantOf, toBody } from './step-body.ts';
import { stepText } from './step-text.ts';
import { CardResolver } from './card-resolver.ts';
import { displayPath } from './scenario-files.ts';

/**
 * Reads scenario files: YAML → checked against the schema (schema.ts) → a Scenario with every
 * card resolved and every amount in fen. A file with any problem yields its issues instead,
 * each with the file, line, column and field, and nothing of it runs.
 *
 * This file is the loader's public face (the runner, worker, CLI and tests import from here);
 * the pieces are named by concept: scenario-model.ts (what a loaded scenario is),
 * scenario-issues.ts (issues and their text), yaml-positions.ts, step-parse.ts, step-body.ts,
 * step-text.ts, card-resolver.ts and scenario-files.ts.
 */

export type {
  ScenarioCard,
  CounterStep,
  FaultStep,
  StepBody,
  Step,
  Scenario,
  LoadResult,
} from './scenario-model.ts';
export { ScenarioError, formatIssue, type ScenarioIssue } from './scenario-issues.ts';
export { instantOf, durationMs } from './step-body.ts';
export { findScenarioFiles, displayPath } from './scenario-files.ts';

/** The scenario file at `file` (or its text, for tests); never throws for a bad file. */
export function loadScenario(file: string, text?: string): LoadResult {
  const shown = displayPath(file);
  let source: string;
  if (text !== undefined) source = text;
  else {
    try {
      source = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(shown, [
        {
          file: shown,
          line: 1,
          column: 1,
          field: '',
          message: code === 'ENOENT' ? 'file not found' : `cannot read (${code})`,
        },
      ]);
    }
  }
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return fail(
      shown,
      doc.errors.map((e) => ({
        file: shown,
        line: lc.linePos(e.pos[0]).line,
        column: lc.linePos(e.pos[0]).col,
        field: '',
        message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }
  const issues: ScenarioIssue[] = [];
  const add = (path: Seg[], message: string, key?: string) => {
    const at = locate(doc, lc, path, key);
    // For a shorthand (`amount: "1.234"`) the field is the step's own key, as written.
    const shownPath = at.scalar && at.depth < path.length ? path.slice(0, Math.max(at.depth, 1)) : path;
    issues.push({
      file: shown,
      line: at.line,
      column: at.column,
      field: pathText(key !== undefined ? [...path, key] : shownPath),
      message,
    });
  };
  const addAll = (zodIssues: readonly z.core.$ZodIssue[], prefix: Seg[]) => {
    for (const f of flatten(zodIssues, prefix)) add(f.path, f.message, f.keys?.[0]);
  };

  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    add([], 'a scenario is a mapping with name, card, steps… (see docs/scenarios.md)');
    return fail(shown, issues);
  }
  const header = headerSchema.safeParse(value);
  if (!header.success) addAll(header.error.issues, []);

  const baseDir = dirname(resolve(file));
  const cards = new CardResolver(baseDir);
  const resolveCardAt = (ref: unknown, path: Seg[]): ScenarioCard | null => {
    const r = cards.resolve(ref);
    if ('problems' in r) {
      for (const p of r.problems) add(path, p);
      return null;
    }
    return r;
  };

  const h = header.success ? header.data : null;
  const scenarioCard = h?.card !== undefined ? resolveCardAt(h.card, ['card']) : null;

  const rawSteps = (value as { steps?: unknown }).steps;
  const steps: Step[] = [];
  let haveCard = h ? h.card !== undefined : true;
  if (Array.isArray(rawSteps)) {
    rawSteps.forEach((raw, index) => {
      const path: Seg[] = ['steps', index];
      const at = locate(doc, lc, path);
      const parsed = parseStep(raw, path, add, addAll);
      if (!parsed) return;
      const { kind, data } = parsed;
      const body = toBody(kind, data, [...path, kind], resolveCardAt);
      if (!body) return;
      if (body.kind === 'insert' && body.card) haveCard = true;
      if (
        ((body.kind === 'insert' || body.kind === 'counter') && !body.card && !haveCard) ||
        (body.kind === 'fault' && body.fault.type === 'corrupt-record' && !haveCard) ||
        (body.kind === 'expect' && !haveCard && needsCard(body.expect) && !body.balancesCard)
      ) {
        add([...path, kind], 'no card yet: give the scenario a `card:` or name one in this step');
      }
      steps.push({ ...body, index, line: at.line, text: stepText(raw) });
    });
  }

  if (issues.length > 0 || !h) return fail(shown, issues);
  const startText = h.clock;
  return {
    ok: true,
    scenario: {
      file: shown,
      name: h.name,
      description: h.description ?? '',
      rules: h.rules,
      card: scenarioCard,
      reader: h.reader === 'virtual' ? { kind: 'virtual' } : { kind: 'pcsc', name: h.reader.pcsc },
      host: h.host,
      settings: h.settings,
      start: instantOf(startText),
      stepTimeoutMs: h.stepTimeoutMs,
      ...(h.readerInterface ? { readerInterface: h.readerInterface } : {}),
      steps,
    },
  };
}

function needsCard(e: Expectations): boolean {
  return e.balances !== undefined || e.pinTriesLeft !== undefined || e.cardStatus !== undefined;
}

function fail(file: string, issues: ScenarioIssue[]): LoadResult {
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, file, issues };
}
