import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT, UsageError, type CliIo } from './io.ts';
import { parse } from './args.ts';
import { findScenarioFiles, formatIssue } from '../core/scenario/load.ts';
import { defaultJobs, runScenarioFiles, type BrokenFile } from '../core/scenario/runner.ts';
import type { ScenarioResult } from '../core/scenario/engine.ts';
import { classNameOf, toJUnitXml } from '../core/scenario/junit.ts';
import { listPcscReaders, matchReader } from '../device/pcsc.ts';

export const RUN_HELP = `sscard run <files or folders>… [--junit <file>] [--trace <dir>] [--jobs N] [--reader <name>]
  Runs scenario files (YAML, see docs/scenarios.md): folders are searched for *.yaml and *.yml.
  Every file is checked first; a broken one is reported (file:line:column: field: problem) and
  none of its steps run. The others run in parallel, each on its own fresh temporary ledger.
  --junit <file>   write a JUnit XML report (one testsuite per folder) for CI
  --trace <dir>    write each scenario's APDU trace (PINs masked) to <dir>/<folder>/<file>.trace.txt
  --jobs N         scenarios at a time (default: the number of cores, ${defaultJobs()} here)
  --reader <name>  run every scenario against this PC/SC reader (they then take turns)
  Exit 0 all passed, 1 a file is invalid (bad input), 2 a scenario failed, 64 usage.`;

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

export async function cmdRun(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    junit: { type: 'string' },
    trace: { type: 'string' },
    jobs: { type: 'string' },
    reader: { type: 'string' },
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
  const summary = await runScenarioFiles(files, {
    // One reader, one card at a time.
    jobs: reader ? 1 : jobs,
    ...(reader ? { readerOverride: reader } : {}),
    onResult: (r) => {
      for (const l of progressLine(r)) io.out(l);
      if (traceDir) {
        const f = traceFileOf(traceDir, r.file);
        mkdirSync(dirname(f), { recursive: true });
        writeFileSync(f, r.trace ? `${r.trace}\n` : '');
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
    mkdirSync(dirname(junit), { recursive: true });
    writeFileSync(junit, toJUnitXml(summary.results, broken));
  }

  const passed = summary.results.filter((r) => r.status === 'passed').length;
  const failed = summary.results.length - passed;
  io.out(
    `\n${passed} passed, ${failed} failed, ${broken.length} broken file${broken.length === 1 ? '' : 's'} (${secs(summary.durationMs)})` +
      `${junit ? `\nJUnit report: ${junit}` : ''}${traceDir ? `\nAPDU traces: ${traceDir}` : ''}`,
  );
  if (broken.length > 0) return EXIT.BAD_INPUT;
  return failed > 0 ? EXIT.DECLINED : EXIT.OK;
}
