import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TraceEntry } from '../../device/trace.ts';
import type { CarriedState } from './world.ts';
import type { ScenarioFailure, StepRecord } from './run-report.ts';

/**
 * The parent's side of the process boundary of a `crash` step: starting the child armed with
 * the crash point and reading back the progress it wrote before it was killed. The progress
 * goes through a file, line by line, because a SIGKILL leaves no chance to send anything else.
 */

export interface CrashChildInput {
  file: string;
  dbPath: string;
  from: number;
  carried: CarriedState;
  point: string;
  after: number;
  readerOverride?: string;
}

/** The steps a crash child runs, from where, and how it reports them. */
export interface Segment {
  from: number;
  carried: CarriedState;
  /** Appends one progress record; must be synchronous (the process may be killed any time). */
  write: (record: ProgressRecord) => void;
}

export type ProgressRecord =
  | { t: 'state'; state: CarriedState }
  | { t: 'start'; index: number }
  | { t: 'step'; record: StepRecord; failures: ScenarioFailure[]; error: string | null }
  | { t: 'trace'; entry: TraceEntry }
  | { t: 'end'; reason: 'done' | 'next-crash' | 'stopped'; at: number; error?: string };

export interface CrashChildOutcome {
  records: ProgressRecord[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

const CHILD_ENTRY = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** The tsx loader, so a child process runs TypeScript from wherever it is started. */
export function tsxImport(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export async function runCrashChild(input: CrashChildInput): Promise<CrashChildOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-crash-'));
  const progressFile = join(dir, 'progress.jsonl');
  try {
    const child = spawn(process.execPath, ['--import', tsxImport(), CHILD_ENTRY], {
      env: {
        ...process.env,
        SSCARD_CRASH_AT: input.point,
        SSCARD_CRASH_AFTER: String(input.after),
        SSCARD_SCENARIO_CHILD: JSON.stringify({ ...input, progressFile }),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-20_000);
    });
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve({ code: c, signal: s }));
      },
    );
    let text = '';
    try {
      text = readFileSync(progressFile, 'utf8');
    } catch {
      // nothing written
    }
    const records = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as ProgressRecord];
        } catch {
          return []; // a line cut short by the kill
        }
      });
    return { records, code, signal, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
