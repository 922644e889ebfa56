import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { parse } from './args.ts';
import { findScenarioFiles, formatIssue } from '../core/scenario/load.ts';
import { defaultJobs, runScenarioFiles, type BrokenFile } from '../core/scenario/runner.ts';
import type { ScenarioResult } from '../core/scenario/engine.ts';
import { classNameOf, toJUnitXml } from '../core/scenario/junit.ts';
import { listPcscReaders, matchReader } from '../device/pcsc.ts';

export const RUN_HELP = `sscard run <files or folders>… [--junit <file>] [--trace <dir>] [--jobs N] [--reader <name>] [--cards <dir>]…
  Runs scenario files (YAML, see docs/scenarios.md): folders are searched for *.yaml and *.yml.
  Every file is checked first; a broken one is reported (file:line:column: field: problem) and
  none of its steps run. The others run in parallel, each on its own fresh temporary ledger.
  --junit <file>   write a JUnit XML report (one testsuite per folder) for CI
  --trace <dir>    write each scenario's APDU trace (PINs masked) to <dir>/<folder>/<file>.trace.txt
  --jobs N         scenarios at a time (default: the number of cores, ${defaultJobs()} here)
  --reader <name>  run every scenario against this PC/SC reader (they then take turns)
  --cards <dir>    a folder of card profiles (*.json) any scenario may name, besides its own
                   folder and the bundled cards (repeatable)
  --junit and --trace are checked before anything runs.
  Exit 0 all passed, 1 a file is invalid or an output (--junit, --trace) cannot be written,
  2 a scenario failed, 64 usage.`;

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function progressLine(r: ScenarioResult): string[] {
  const mark = r.status === 'passed' ? '✔' : '✘';
  const lines = [`${mark} ${r.name}  (${r.file}, ${secs(r.durationMs)})`];
  for (const f of r.failures)
    lines.push(`    line ${f.line}: ${f.field}: expected ${f.expected}, got ${f.actual}`);
  if (r.error) lines.push(`    error: ${r.error}`);
  return lines;
}

/** The trace file of a scenario: <dir>/<folder>/<file>.trace.txt. */
export function traceFileOf(dir: string, scenarioFile: string): string {
  return join(dir, `${classNameOf(scenarioFile)}.trace.txt`);
}

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** What is at `path`: a file, a folder, something else, or nothing. */
function kindOf(path: string): 'file' | 'folder' | 'other' | 'none' {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR: a file stands where a folder of the path should be; its parent check says so.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'none';
    throw new InputError(`${path}: cannot be examined (${codeOf(e)})`);
  }
}

/**
 * Proves that `dir` could be made (if absent) and written, without making it: the nearest
 * existing folder on its path must be a folder one can write in (a probe file is written there
 * and removed). Nothing is left behind when the run then writes nothing.
 */
function writableFolder(option: string, given: string, dir: string): void {
  let at = resolve(dir);
  for (;;) {
    const kind = kindOf(at);
    if (kind === 'folder') break;
    if (kind !== 'none') throw new InputError(`--${option} ${given}: ${at} is not a folder`);
    const up = dirname(at);
    if (up === at) throw new InputError(`--${option} ${given}: no folder of it exists`);
    at = up;
  }
  const probe = join(at, `.sscard-probe-${process.pid}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
  } catch (e) {
    throw new InputError(`--${option} ${given}: cannot write in the folder ${at} (${codeOf(e)})`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/**
 * --junit names the report file: not a folder, in a folder that exists or can be made and can
 * be written. Checked before anything runs, so that a run's results are never lost at the end.
 */
export function checkJunitPath(file: string): void {
  const kind = kindOf(file);
  if (kind === 'folder' || /[/\\]$/.test(file))
    throw new InputError(
      `--junit ${file}: is a folder; give the report's file name, e.g. ${join(file, 'junit.xml')}`,
    );
  if (kind === 'other') throw new InputError(`--junit ${file}: is not a regular file`);
  writableFolder('junit', file, dirname(file));
}

/** --trace names a folder (made when the first trace is written) that can be written; a file there is refused. */
export function checkTraceDir(dir: string): void {
  const kind = kindOf(dir);
  if (kind === 'file' || kind === 'other')
    throw new InputError(
      `--trace ${dir}: is a file; give a folder (each scenario's trace goes to <folder>/<suite>/<scenario>.trace.txt)`,
    );
  writableFolder('trace', dir, dir);
}

/** Writes `text` to `file` whole or not at all: a temporary file in the same folder, renamed. */
function writeWhole(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export async function cmdRun(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    junit: { type: 'string' },
    trace: { type: 'string' },
    jobs: { type: 'string' },
    reader: { type: 'string' },
    cards: { type: 'string', multiple: true },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(RUN_HELP);
    return EXIT.OK;
  }
  if (positionals.length === 0)
    throw new UsageError('give at least one scenario file or folder, e.g. sscard run fixtures/scenarios');
  let jobs = defaultJobs();
  if (values.jobs !== undefined) {
    const text = String(values.jobs);
    if (!/^[1-9][0-9]{0,2}$/.test(text))
      throw new UsageError(`--jobs must be a whole number from 1 (got '${text}')`);
    jobs = Number(text);
  }
  for (const opt of ['junit', 'trace', 'reader'] as const) {
    if (values[opt] === '') throw new UsageError(`--${opt} needs a value`);
  }
  const junit = values.junit as string | undefined;
  const traceDir = values.trace as string | undefined;
  const cardDirs = (values.cards as unknown as string[] | undefined) ?? [];
  for (const d of cardDirs) {
    if (d === '') throw new UsageError('--cards needs a value');
    if (kindOf(d) !== 'folder') throw new InputError(`--cards ${d}: no such folder`);
  }
  // The outputs are checked before anything runs: a bad path must not cost the whole run.
  if (junit !== undefined) checkJunitPath(junit);
  if (traceDir !== undefined) checkTraceDir(traceDir);
  // A reader that is not there is bad input (exit 1), said before anything runs.
  const reader =
    typeof values.reader === 'string'
      ? matchReader(
          listPcscReaders().map((r) => r.name),
          values.reader,
        )
      : undefined;

  const { files, missing } = findScenarioFiles(positionals);
  const notFound: BrokenFile[] = missing.map((file) => ({
    file,
    issues: [{ file, line: 1, column: 1, field: '', message: 'no such file or folder' }],
  }));
  if (files.length === 0 && missing.length === 0) {
    io.err(`sscard: no scenario files (*.yaml, *.yml) in ${positionals.join(', ')}`);
    return EXIT.BAD_INPUT;
  }

  io.out(
    reader
      ? `Running ${files.length} scenario file(s) on PC/SC reader '${reader}', one at a time…`
      : `Running ${files.length} scenario file(s), ${Math.min(jobs, Math.max(files.length, 1))} at a time…`,
  );
  // A write that fails mid-run (disk full, the folder removed) is reported at the end; the
  // run goes on, and its results still reach the screen and the JUnit report.
  let traceError: string | null = null;
  let junitError: string | null = null;
  const summary = await runScenarioFiles(files, {
    // One reader, one card at a time.
    jobs: reader ? 1 : jobs,
    ...(reader ? { readerOverride: reader } : {}),
    ...(cardDirs.length > 0 ? { cardDirs } : {}),
    onResult: (r) => {
      for (const l of progressLine(r)) io.out(l);
      if (traceDir && traceError === null) {
        const f = traceFileOf(traceDir, r.file);
        try {
          mkdirSync(dirname(f), { recursive: true });
          writeWhole(f, r.trace ? `${r.trace}\n` : '');
        } catch (e) {
          traceError = `cannot write the APDU trace ${f} (${codeOf(e)}); no further traces written`;
        }
      }
    },
  });
  const broken = [...notFound, ...summary.broken];
  for (const b of broken) {
    io.err(
      `✘ ${b.file}: invalid scenario file, not run (${b.issues.length} problem${b.issues.length === 1 ? '' : 's'})`,
    );
    for (const i of b.issues) io.err(`    ${formatIssue(i)}`);
  }

  if (junit) {
    try {
      mkdirSync(dirname(junit), { recursive: true });
      writeWhole(junit, toJUnitXml(summary.results, broken));
    } catch (e) {
      junitError = `cannot write the JUnit report ${junit} (${codeOf(e)})`;
    }
  }

  const passed = summary.results.filter((r) => r.status === 'passed').length;
  const failed = summary.results.length - passed;
  io.out(
    `\n${passed} passed, ${failed} failed, ${broken.length} broken file${broken.length === 1 ? '' : 's'} (${secs(summary.durationMs)})` +
      `${junit && junitError === null ? `\nJUnit report: ${junit}` : ''}` +
      `${traceDir && traceError === null ? `\nAPDU traces: ${traceDir}` : ''}`,
  );
  for (const m of [traceError, junitError]) if (m !== null) io.err(`sscard: ${m}`);
  if (broken.length > 0 || traceError !== null || junitError !== null) return EXIT.BAD_INPUT;
  return failed > 0 ? EXIT.DECLINED : EXIT.OK;
}
