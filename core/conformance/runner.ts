import { exchange } from '../../device/exchange.ts';
import { isReaderError } from '../../device/errors.ts';
import type { CardReader } from '../../device/reader.ts';
import { toHex } from '../card/hex.ts';
import { keyAlgorithm, readRecord, SELECT_SSSE } from '../terminal/card-commands.ts';
import { isSimulatedCard } from '../terminal/read-card.ts';
import { protocolOf } from '../terminal/record.ts';
import type { Algorithm } from '../card/crypto.ts';
import { CHECKS, GROUPS, type CheckGroup, type CheckKind, type ConformanceCheck } from './checks.ts';
import {
  CheckContext,
  CheckFailure,
  CheckSkip,
  swText,
  type ApduLogEntry,
  type CardFacts,
  type PullControl,
  type SharedState,
} from './context.ts';

/**
 * Runs the conformance pack (checks.ts) against the card in a reader and collects a
 * report: pass / fail / skip per check with the status words of its APDUs. Each check
 * starts from a warm reset, so one check's security state never helps another.
 */

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  group: CheckGroup;
  kind: CheckKind;
  zh: string;
  en: string;
  ref: string;
  status: CheckStatus;
  /** Why it failed or was skipped; for a pass, what was seen. */
  detail: string;
  apdus: ApduLogEntry[];
}

export interface ConformanceOptions {
  /** The card's PIN, for the PIN checks (never reported). */
  pin?: string | null;
  pinChecks?: boolean;
  pullChecks?: boolean;
  /** Software control over card pulls (a virtual card), for the pull checks. */
  pull?: PullControl | null;
  /** Override: whether the simulator's test keys may be used (default: the ATR says SSCard Lab). */
  simulated?: boolean;
  /** Override: the SSSE key algorithm (default: from the FCI, 9F0C). */
  algorithm?: Algorithm;
  /** Run only these check ids. */
  only?: readonly string[];
  checks?: readonly ConformanceCheck[];
  /** Called once the card is known, before the first check (for live output). */
  onStart?: (header: Pick<ConformanceReport, 'reader' | 'readerKind' | 'card'>) => void;
  /** Called as each check finishes (for live output). */
  onResult?: (r: CheckResult) => void;
}

export interface ConformanceReport {
  reader: string;
  readerKind: 'virtual' | 'pcsc';
  card: {
    atr: string;
    protocol: 'T=0' | 'T=1';
    generation: 1 | 2 | 3 | null;
    algorithm: Algorithm;
    /** SSCard Lab's virtual card: the simulator's test keys were used. */
    simulated: boolean;
  };
  options: { pinChecks: boolean; pullChecks: boolean; pullAvailable: boolean };
  results: CheckResult[];
  summary: { total: number; pass: number; fail: number; skip: number };
  /** True when no check that ran failed. */
  ok: boolean;
}

async function discover(
  reader: CardReader,
  atr: Uint8Array,
  options: ConformanceOptions,
): Promise<CardFacts> {
  let algorithm: Algorithm = options.algorithm ?? '3des';
  let generation: CardFacts['generation'] = null;
  try {
    const sel = await exchange(reader, SELECT_SSSE);
    if (sel.sw === 0x9000) {
      if (!options.algorithm && keyAlgorithm(sel.data) === 'sm4') algorithm = 'sm4';
      const v = await exchange(reader, readRecord(3, { sfi: 5 }));
      const digit = v.sw === 0x9000 && v.data[0] === 0x03 ? String.fromCharCode(v.data[2] ?? 0) : '';
      generation = digit === '1' ? 1 : digit === '2' ? 2 : digit === '3' ? 3 : null;
    }
  } catch (e) {
    if (!isReaderError(e)) throw e;
  }
  return {
    atr,
    protocol: protocolOf(reader, atr),
    generation,
    algorithm,
    simulated: options.simulated ?? isSimulatedCard(atr),
  };
}

function skipReason(check: ConformanceCheck, facts: CardFacts, options: ConformanceOptions): string | null {
  if (check.kind === 'pin' && !options.pinChecks) return 'PIN check: run with --pin-checks --pin <digits>';
  if (check.kind === 'pull') {
    if (!options.pullChecks) return 'card-pull check: run with --pull-checks';
    if (!options.pull) {
      return 'needs a card this program can pull out: a virtual card (--card) or one served through vpcd by the caller; nobody can pull a card in a PC/SC reader by software';
    }
    if (check.needsPin && !options.pinChecks) return 'also needs --pin-checks: it sends a wrong PIN';
  }
  if (check.virtualOnly && !facts.simulated) return check.virtualOnly;
  return null;
}

export async function runConformance(
  reader: CardReader,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const atr = await reader.connect();
  const facts = await discover(reader, atr, options);
  const card = {
    atr: toHex(atr),
    protocol: facts.protocol,
    generation: facts.generation,
    algorithm: facts.algorithm,
    simulated: facts.simulated,
  };
  options.onStart?.({ reader: reader.name, readerKind: reader.kind, card });
  const shared: SharedState = { pinStop: null };
  const results: CheckResult[] = [];
  const checks = (options.checks ?? CHECKS).filter((c) => !options.only || options.only.includes(c.id));
  let cardGone: string | null = null;

  for (const check of checks) {
    const base = {
      id: check.id,
      group: check.group,
      kind: check.kind,
      zh: check.zh,
      en: check.en,
      ref: check.ref,
    };
    const finish = (status: CheckStatus, detail: string, apdus: ApduLogEntry[] = []) => {
      const r: CheckResult = { ...base, status, detail, apdus };
      results.push(r);
      options.onResult?.(r);
    };
    const reason = skipReason(check, facts, options);
    if (reason) {
      finish('skip', reason);
      continue;
    }
    if (cardGone) {
      finish('skip', cardGone);
      continue;
    }
    try {
      await reader.reset();
    } catch (e) {
      if (!isReaderError(e)) throw e;
      cardGone = `not run: the card is no longer usable (${e.message})`;
      finish('fail', `no card to test: ${e.message}`);
      continue;
    }

    const ctx = new CheckContext(
      reader,
      facts,
      options.pinChecks ? (options.pin ?? null) : null,
      options.pull ?? null,
      shared,
    );
    let status: CheckStatus = 'pass';
    let detail: string;
    try {
      detail = (await check.run(ctx)) ?? '';
    } catch (e) {
      if (e instanceof CheckFailure) [status, detail] = ['fail', e.message];
      else if (e instanceof CheckSkip) [status, detail] = ['skip', e.message];
      else if (isReaderError(e)) [status, detail] = ['fail', `reader error ${e.code}: ${e.message}`];
      else [status, detail] = ['fail', `unexpected error: ${(e as Error).message}`];
    }

    // A check that touched the PIN ends with the right PIN: the counter is left as found.
    if (ctx.pinTouched && !shared.pinStop && ctx.pin) {
      try {
        if (!reader.cardPresent()) await options.pull?.reinsert();
        await reader.reset();
        await ctx.selectSsse();
        const sw = await ctx.verify(ctx.pin);
        if (sw !== 0x9000 && !(sw === 0x6985 && facts.generation === 3 && ctx.pin === '123456')) {
          shared.pinStop = `the right PIN was refused after ${check.id} (${swText(sw)}): PIN checks stopped`;
        }
      } catch (e) {
        shared.pinStop = `the PIN counter could not be restored after ${check.id} (${(e as Error).message}): PIN checks stopped`;
      }
      if (shared.pinStop) {
        status = 'fail';
        detail = detail ? `${detail}; ${shared.pinStop}` : shared.pinStop;
      }
    }
    finish(status, detail, ctx.apdus);
  }

  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const summary = { total: results.length, pass: count('pass'), fail: count('fail'), skip: count('skip') };
  return {
    reader: reader.name,
    readerKind: reader.kind,
    card,
    options: {
      pinChecks: options.pinChecks === true,
      pullChecks: options.pullChecks === true,
      pullAvailable: !!options.pull,
    },
    results,
    summary,
    ok: summary.fail === 0,
  };
}

const MARK: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

/** One line per check (and a detail line), grouped by function, then the summary. */
export function formatResult(r: CheckResult): string[] {
  const sws = r.apdus.map((a) => a.sw ?? (a.error ? `✗${a.error}` : '—'));
  const lines = [`  ${MARK[r.status]}  ${r.id.padEnd(8)} ${r.zh} — ${r.en} [${r.ref}]`];
  if (sws.length) lines.push(`        SW ${sws.join(' ')}`);
  if (r.detail)
    lines.push(`        ${r.status === 'pass' ? '' : r.status === 'fail' ? '✘ ' : '– '}${r.detail}`);
  return lines;
}

export function formatHeader(report: Pick<ConformanceReport, 'reader' | 'readerKind' | 'card'>): string[] {
  const c = report.card;
  return [
    `SSCard Lab conformance — reader "${report.reader}" (${report.readerKind === 'virtual' ? 'in-process virtual reader' : 'PC/SC'})`,
    `Card: gen ${c.generation ?? '?'}, ${c.protocol}, ${c.algorithm.toUpperCase()}, ATR ${c.atr}`,
    c.simulated
      ? '      SSCard Lab virtual card: the simulator’s PSAM and counter test keys are used'
      : '      not an SSCard Lab card: no test key is ever sent to it; key-protected steps are skipped',
  ];
}

export function formatGroupHeading(group: CheckGroup): string {
  return `\n${group}  ${GROUPS[group].zh} (${GROUPS[group].en})`;
}

export function formatSummary(report: ConformanceReport): string {
  const s = report.summary;
  return `\nSummary: ${s.total} checks — ${s.pass} pass, ${s.fail} fail, ${s.skip} skip → ${report.ok ? 'PASS 通过' : 'FAIL 不通过'}`;
}

export function formatReport(report: ConformanceReport): string[] {
  const lines = formatHeader(report);
  let group: CheckGroup | null = null;
  for (const r of report.results) {
    if (r.group !== group) {
      group = r.group;
      lines.push(formatGroupHeading(group));
    }
    lines.push(...formatResult(r));
  }
  lines.push(formatSummary(report));
  return lines;
}
