import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScenario, tsxImport, type ScenarioResult } from './engine.ts';
import { loadScenario, type Scenario, type ScenarioIssue } from './load.ts';

/**
 * Runs many scenario files: every file is loaded (checked) first; a broken one is reported
 * with its issues and none of its steps run. The others run in parallel in worker processes,
 * each scenario on its own fresh temporary database. Scenarios on a PC/SC reader take turns:
 * two never use the same reader at once.
 */

export interface WorkerTask {
  id: number;
  file: string;
  readerOverride?: string;
}

export type WorkerReply = { id: number; result: ScenarioResult } | { id: number; error: string };

export interface BrokenFile {
  file: string;
  issues: ScenarioIssue[];
}

export interface RunFilesOptions {
  /** Worker processes (default: the number of cores). */
  jobs?: number;
  /** Every scenario runs against this PC/SC reader (they then take turns). */
  readerOverride?: string;
  /** Called as each scenario finishes, in the order they finish. */
  onResult?: (r: ScenarioResult) => void;
  /** Run in this process, one after another (for tests of the engine and small runs). */
  inProcess?: boolean;
}

export interface RunSummary {
  /** In the order of the files given. */
  results: ScenarioResult[];
  broken: BrokenFile[];
  durationMs: number;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

export async function runScenarioFiles(
  files: readonly string[],
  o: RunFilesOptions = {},
): Promise<RunSummary> {
  const started = performance.now();
  const broken: BrokenFile[] = [];
  const tasks: { id: number; file: string; scenario: Scenario; reader: string | null }[] = [];
  for (const file of files) {
    const r = loadScenario(file);
    if (!r.ok) broken.push({ file: r.file, issues: r.issues });
    else
      tasks.push({
        id: tasks.length,
        file,
        scenario: r.scenario,
        reader: o.readerOverride ?? (r.scenario.reader.kind === 'pcsc' ? r.scenario.reader.name : null),
      });
  }
  const results: (ScenarioResult | undefined)[] = new Array(tasks.length);
  const done = (id: number, r: ScenarioResult) => {
    results[id] = r;
    o.onResult?.(r);
  };

  if (o.inProcess) {
    for (const t of tasks) {
      done(t.id, await runScenario(t.scenario, o.readerOverride ? { readerOverride: o.readerOverride } : {}));
    }
  } else if (tasks.length > 0) {
    await runPool(tasks, Math.min(o.jobs ?? defaultJobs(), tasks.length), o.readerOverride, done);
  }
  return {
    results: results.filter((r): r is ScenarioResult => r !== undefined),
    broken,
    durationMs: Math.round(performance.now() - started),
  };
}

interface Task {
  id: number;
  file: string;
  scenario: Scenario;
  reader: string | null;
}

function runPool(
  tasks: Task[],
  jobs: number,
  readerOverride: string | undefined,
  done: (id: number, r: ScenarioResult) => void,
): Promise<void> {
  return new Promise<void>((resolveAll) => {
    const queue = [...tasks];
    const busyReaders = new Set<string>();
    let running = 0;
    const workers: ChildProcess[] = [];
    const stderrOf = new Map<ChildProcess, string>();

    const next = (): Task | undefined => {
      const i = queue.findIndex((t) => t.reader === null || !busyReaders.has(t.reader));
      return i < 0 ? undefined : queue.splice(i, 1)[0];
    };

    const finish = () => {
      if (queue.length === 0 && running === 0) {
        for (const w of workers) if (w.connected) w.disconnect();
        resolveAll();
      }
    };

    const spawnWorker = (): ChildProcess => {
      const w = fork(WORKER, [], {
        execArgv: ['--import', tsxImport()],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
      workers.push(w);
      // Always read stderr (a pipe nobody reads would block the worker once full); keep its tail.
      stderrOf.set(w, '');
      w.stderr?.on('data', (d: Buffer) => stderrOf.set(w, (stderrOf.get(w)! + d.toString()).slice(-8000)));
      return w;
    };

    const feed = (w: ChildProcess) => {
      const task = next();
      if (!task) {
        if (w.connected) w.disconnect();
        // Tasks left wait for a reader in use: a worker starts for them when it is free.
        if (queue.length > 0) idle++;
        finish();
        return;
      }
      running++;
      if (task.reader) busyReaders.add(task.reader);
      stderrOf.set(w, '');
      // A scenario bounded by its steps' timeouts, with room to spare: a hung worker is killed.
      const limit = task.scenario.steps.length * task.scenario.stepTimeoutMs + 60_000;
      const watchdog = setTimeout(() => w.kill('SIGKILL'), limit);
      const settle = (r: ScenarioResult) => {
        clearTimeout(watchdog);
        w.off('message', onMessage);
        w.off('exit', onExit);
        running--;
        if (task.reader) busyReaders.delete(task.reader);
        done(task.id, r);
      };
      const onMessage = (m: WorkerReply) => {
        if (m.id !== task.id) return;
        settle('result' in m ? m.result : errorResult(task.scenario, m.error));
        feed(w);
        // A task waiting for a reader may start on an idle worker now.
        wakeIdle();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        settle(
          errorResult(
            task.scenario,
            `the worker process died (${signal ?? `exit ${code}`})${stderrOf.get(w) ? `: ${stderrOf.get(w)!.trim()}` : ''}`,
          ),
        );
        feed(spawnWorker());
        wakeIdle();
      };
      w.on('message', onMessage);
      w.once('exit', onExit);
      const msg: WorkerTask = { id: task.id, file: task.file, ...(readerOverride ? { readerOverride } : {}) };
      w.send(msg);
    };

    let idle = 0;
    const wakeIdle = () => {
      while (idle > 0 && queue.some((t) => t.reader === null || !busyReaders.has(t.reader))) {
        idle--;
        feed(spawnWorker());
      }
      finish();
    };

    for (let i = 0; i < jobs; i++) {
      const task = queue.find((t) => t.reader === null || !busyReaders.has(t.reader));
      if (!task) {
        // Everything left waits for a reader in use: this worker starts later, if needed.
        idle++;
        continue;
      }
      feed(spawnWorker());
    }
  });
}

/** A scenario that could not run to a result: the worker failed or died. */
function errorResult(s: Scenario, error: string): ScenarioResult {
  return {
    file: s.file,
    name: s.name,
    description: s.description,
    rules: s.rules,
    status: 'error',
    durationMs: 0,
    steps: [],
    failures: [],
    error,
    log: [],
    trace: '',
  };
}
