import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { BUNDLED_CARDS_DIR } from '../card/wallet.ts';
import { loadProfile, ProfileError, type CardProfile } from '../card/profile.ts';
import type { MedicalOrder, PaymentMethod, ShortfallPolicy } from '../host/types.ts';
import {
  BARE_STEPS,
  DURATION_PATTERN,
  expandShorthand,
  headerSchema,
  STEP_KINDS,
  stepValueSchemas,
  type CrashPointName,
  type Expectations,
  type StepKind,
} from './schema.ts';
import { yuanToFen } from './money.ts';

/**
 * Reads scenario files: YAML → checked against the schema (schema.ts) → a Scenario with every
 * card resolved and every amount in fen. A file with any problem yields its issues instead,
 * each with the file, line, column and field, and nothing of it runs.
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

/** A card the scenario uses, resolved to its profile. */
export interface ScenarioCard {
  /** How the scenario names it: a bundled id, a file, or the inline profile's id. */
  ref: string;
  profile: CardProfile;
}

export type CounterStep =
  | { action: 'change-pin'; old: string; new: string }
  | { action: 'unblock' }
  | { action: 'report-loss'; crossRegion: boolean }
  | { action: 'release-loss'; crossRegion: boolean }
  | { action: 'activate'; newPin: string; password: string };

export type FaultStep =
  | { type: 'remove-card-at-apdu'; n: number }
  | { type: 'remove-card-in-state'; state: string }
  | { type: 'detach-reader-at-apdu'; n: number }
  | { type: 'corrupt-record'; file: 'EF05' | 'EF06'; record: number; mode: 'flip' | 'truncate' | 'garbage' }
  | { type: 'none' }
  | { type: 'reattach' };

export type StepBody =
  | { kind: 'insert'; card: ScenarioCard | null }
  | { kind: 'remove' }
  | { kind: 'amount'; fen: number; yuan: string; method: PaymentMethod }
  | { kind: 'pin'; value: string }
  | { kind: 'password'; value: string }
  | { kind: 'cancel' }
  | { kind: 'timeout' }
  | { kind: 'host'; to: 'up' | 'down' | 'slow' | 'error' | 'drop-after-apply' }
  | { kind: 'clock'; set: string | null; advanceMs: number | null }
  | { kind: 'counter'; counter: CounterStep; card: ScenarioCard | null }
  | { kind: 'sync' }
  | { kind: 'settle'; date: string | null }
  | { kind: 'reconcile'; date: string | null }
  | { kind: 'refund'; fen: number; yuan: string; payment: string }
  | { kind: 'fault'; fault: FaultStep }
  | { kind: 'crash'; point: CrashPointName; after: number }
  | { kind: 'expect'; expect: Expectations; balancesCard: ScenarioCard | null };

export type Step = StepBody & {
  /** Position in the file's step list, from 0. */
  index: number;
  line: number;
  /** The step as written, on one line, for logs: `amount: 12.50 medical`. */
  text: string;
};

export interface Scenario {
  file: string;
  name: string;
  description: string;
  rules: string[];
  card: ScenarioCard | null;
  reader: { kind: 'virtual' } | { kind: 'pcsc'; name: string };
  host: { link: 'up' | 'down' | 'slow'; timeoutMs: number };
  settings: { medicalOrder: MedicalOrder; shortfall: ShortfallPolicy };
  /** The start instant, ISO UTC. */
  start: string;
  stepTimeoutMs: number;
  steps: Step[];
}

export type LoadResult =
  { ok: true; scenario: Scenario } | { ok: false; file: string; issues: ScenarioIssue[] };

// ---- positions ----------------------------------------------------------------------------

type Seg = string | number;

function pathText(path: readonly Seg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

interface Located {
  line: number;
  column: number;
  /** How much of the path exists in the file. */
  depth: number;
  /** The deepest node found is a scalar (a shorthand), not a mapping or list. */
  scalar: boolean;
}

/** Where a path points in the YAML: the deepest node of it that exists in the file. */
function locate(doc: Document, lc: LineCounter, path: readonly Seg[], key?: string): Located {
  let node: unknown = doc.contents;
  let depth = 0;
  let pos = rangeStart(node) ?? 0;
  for (const seg of path) {
    let next: unknown = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (pair) {
        next = pair.value ?? pair.key;
        // A key without a value (`- insert:`): point at the key.
        if (!isNode(pair.value) || rangeStart(pair.value) === rangeEnd(pair.value))
          pos = rangeStart(pair.key) ?? pos;
        else pos = rangeStart(pair.value) ?? pos;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
      if (next !== undefined) pos = rangeStart(next) ?? pos;
    }
    if (next === undefined) break;
    node = next;
    depth++;
  }
  // An unknown key: point at the key itself.
  if (key !== undefined && depth === path.length && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    if (pair) pos = rangeStart(pair.key) ?? pos;
  }
  const { line, col } = lc.linePos(pos);
  return { line, column: col, depth, scalar: isScalar(node) || node === null };
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

function rangeEnd(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[1] : undefined;
}

// ---- zod issues -----------------------------------------------------------------------------

interface FlatIssue {
  path: Seg[];
  message: string;
  keys?: string[];
}

/**
 * Flattens zod issues: a union whose value matched one branch's type reports that branch's
 * own problems (an inline profile's bad SSN, not "invalid input").
 */
function flatten(issues: readonly z.core.$ZodIssue[], prefix: Seg[] = []): FlatIssue[] {
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

// ---- loading ------------------------------------------------------------------------------

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

/** Which step a list item is, and its value checked against that step's schema. */
function parseStep(
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

type Data<K extends StepKind> = z.output<(typeof stepValueSchemas)[K]>;

/** The checked step value as the engine uses it: cards resolved, yuan in fen. */
function toBody(
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

/** Step keys and counter fields that carry a PIN or password: never shown in logs or reports. */
const SECRET_KEYS = new Set(['pin', 'password', 'old', 'new', 'newPin', 'oldPin']);

/**
 * The step as written, on one line: `amount: {yuan: "12.50", method: reserve}`. PINs and
 * passwords are masked (`pin: ******`): this text goes into the step log, JUnit reports and
 * error messages.
 */
function stepText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  const [k, v] = Object.entries(raw as Record<string, unknown>)[0] ?? ['?', null];
  if (v === null || v === undefined) return k;
  const masked = (x: unknown): string =>
    x !== null && typeof x === 'object' ? '******' : '*'.repeat(Math.max(1, String(x).length));
  const shown = (x: unknown, key: string): string =>
    SECRET_KEYS.has(key)
      ? masked(x)
      : x !== null && typeof x === 'object'
        ? Array.isArray(x)
          ? `[${x.map((y) => shown(y, '')).join(', ')}]`
          : 'id' in x && 'generation' in x
            ? `<inline card ${String((x as { id: unknown }).id)}>`
            : `{ ${Object.entries(x)
                .map(([a, b]) => `${a}: ${shown(b, a)}`)
                .join(', ')} }`
        : typeof x === 'string'
          ? x
          : String(x);
  const text = `${k}: ${shown(v, k)}`;
  return text.length > 200 ? `${text.slice(0, 197)}…` : text;
}

/** Resolves card references once per scenario file. */
class CardResolver {
  private readonly cache = new Map<string, ScenarioCard | { problems: string[] }>();

  constructor(private readonly baseDir: string) {}

  resolve(ref: unknown): ScenarioCard | { problems: string[] } {
    if (typeof ref !== 'string') {
      // An inline profile: zod has checked it already (with its defaults filled in).
      const profile = ref as CardProfile;
      return { ref: `${profile.id} (inline)`, profile };
    }
    const known = this.cache.get(ref);
    if (known) return known;
    const r = this.load(ref);
    this.cache.set(ref, r);
    return r;
  }

  private load(ref: string): ScenarioCard | { problems: string[] } {
    const asFile = /\.json$/i.test(ref) || ref.includes('/') || ref.includes('\\');
    const file = asFile ? resolve(this.baseDir, ref) : join(BUNDLED_CARDS_DIR, `${ref}.json`);
    if (!asFile && (!/^[a-z0-9][a-z0-9-]*$/.test(ref) || !existsSync(file)))
      return {
        problems: [`no bundled card '${ref}' (see \`sscard cards\`); a profile file must end in .json`],
      };
    if (asFile && !existsSync(file))
      return { problems: [`card file not found: ${ref} (looked for ${file})`] };
    try {
      return { ref, profile: profileOf(file) };
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      return {
        problems: e.problems.map((p) => `card ${ref}: ${p.path ? `${p.path}: ` : ''}${p.message}`),
      };
    }
  }
}

/**
 * Card profile files read and checked once per process while they stay the same (size and
 * modification time): a thousand scenarios naming gen3-active read it once. Treat the profiles
 * as read-only; scenarios share them.
 */
const profiles = new Map<string, { mtimeMs: number; size: number; profile: CardProfile }>();

function profileOf(file: string): CardProfile {
  const st = statSync(file);
  const known = profiles.get(file);
  if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.profile;
  const profile = loadProfile(file);
  profiles.set(file, { mtimeMs: st.mtimeMs, size: st.size, profile });
  return profile;
}

// ---- finding files ------------------------------------------------------------------------

const SCENARIO_EXT = new Set(['.yaml', '.yml']);

/**
 * The scenario files named on the command line: files as given, folders searched recursively
 * for *.yaml and *.yml (sorted, hidden folders and node_modules skipped). Missing paths are
 * returned apart.
 */
export function findScenarioFiles(paths: readonly string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const full = join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (SCENARIO_EXT.has(extname(name).toLowerCase())) files.push(full);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) {
      missing.push(p);
      continue;
    }
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
  return { files: [...new Set(files.map((f) => resolve(f)))], missing };
}

/** A path as reports show it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel && !rel.startsWith('..') ? rel.split('\\').join('/') : resolve(file);
}
