import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScenario, tsxImport, type ScenarioResult } from './engine.ts';
import { loadScenario, type Scenario, type ScenarioIssue } from './load.ts';
import { namedCards } from './world.ts';
import { scratchFolder } from './template.ts';

/**
 * Runs many scenario files: every file is loaded (checked) before it runs; a broken one is
 * reported with its issues and none of its steps run. The others run in parallel in worker
 * processes — started at once, each fed the next scenario as soon as its file is checked and the
 * worker is free — each scenario on its own fresh database (a copy of the worker's template for
 * its cards, template.ts). Scenarios on a PC/SC reader take turns: two never use the same reader
 * at once. In process (`inProcess`), every file is loaded first, then they run one after another.
 */

export interface WorkerTask {
  id: number;
  file: string;
  /** The scenario as the parent loaded (checked) it: the worker does not read the file again. */
  scenario?: Scenario;
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
  /** Card folders the scenarios may name files in, besides their own (loadScenario). */
  cardDirs?: readonly string[];
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
  const results: ScenarioResult[] = [];
  // A callback that throws must not take the run down mid-way (it would be thrown inside a
  // worker's message handler): the run finishes, then the first such error is thrown.
  let callbackError: { error: unknown } | null = null;
  const done = (id: number, r: ScenarioResult) => {
    results[id] = r;
    try {
      o.onResult?.(r);
    } catch (e) {
      callbackError ??= { error: e };
    }
  };
  const load = (file: string, id: number): Task | null => {
    const r = loadScenario(file, undefined, o.cardDirs ? { cardDirs: o.cardDirs } : {});
    if (!r.ok) {
      broken.push({ file: r.file, issues: r.issues });
      return null;
    }
    const reader = o.readerOverride ?? (r.scenario.reader.kind === 'pcsc' ? r.scenario.reader.name : null);
    const cards = namedCards(r.scenario).map((c) => c.profile.card.number);
    return { id, file, scenario: r.scenario, reader, cards };
  };

  if (o.inProcess) {
    const tasks: Task[] = [];
    for (const file of files) {
      const t = load(file, tasks.length);
      if (t) tasks.push(t);
    }
    for (const t of tasks)
      done(t.id, await runScenario(t.scenario, o.readerOverride ? { readerOverride: o.readerOverride } : {}));
  } else if (files.length > 0) {
    // The workers' ledgers and templates go in one folder of this run, removed at the end
    // (a worker killed by the watchdog cannot tidy up after itself).
    const runDir = scratchFolder('run');
    try {
      // The workers start (Node, the TypeScript loader, the modules) while the files are read,
      // and each scenario is handed out as soon as its file is checked.
      const pool = new Pool(
        Math.max(1, Math.min(o.jobs ?? defaultJobs(), files.length)),
        o.readerOverride,
        done,
        runDir,
      );
      try {
        let id = 0;
        for (const file of files) {
          const t = load(file, id);
          if (t) {
            id++;
            pool.add(t);
          }
          // Let the workers' answers in, and hand out what is loaded.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await pool.end();
      } catch (e) {
        // Whatever failed (a result callback that threw…), no worker outlives the run: a
        // worker left connected would keep this process from ever exiting.
        pool.close();
        throw e;
      }
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  }
  if (callbackError) throw (callbackError as { error: unknown }).error;
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
  /** The card numbers it names. */
  cards: string[];
}

/** How far down the queue a free worker looks for a scenario on its own cards. */
const LOOKAHEAD = 64;

/** The tail of each worker's stderr, for the report of one that dies. */
const stderrOf = new WeakMap<ChildProcess, string>();

function spawnWorkerProcess(scratchDir: string): ChildProcess {
  const w = fork(WORKER, [], {
    execArgv: ['--import', tsxImport()],
    env: { ...process.env, SSCARD_SCENARIO_TMPDIR: scratchDir },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  // Always read stderr (a pipe nobody reads would block the worker once full); keep its tail.
  stderrOf.set(w, '');
  const keep = (text: string) => stderrOf.set(w, ((stderrOf.get(w) ?? '') + text).slice(-8000));
  w.stderr?.on('data', (d: Buffer) => keep(d.toString()));
  // A send to a worker that has just died: its 'exit' reports it (an unheard 'error' would throw).
  w.on('error', (e) => keep(`\n${e.message}`));
  return w;
}

const alive = (w: ChildProcess) => w.exitCode === null && w.signalCode === null && w.connected;

/**
 * The worker processes: `jobs` of them, started at once; tasks are added as their files are
 * loaded and handed to a free worker, one at a time each. A task on a PC/SC reader waits while
 * another task uses that reader. A worker that dies is replaced; its task is reported as an error.
 */
class Pool {
  private readonly queue: Task[] = [];
  private readonly free: ChildProcess[] = [];
  /** Every worker started and not yet gone, free or busy. */
  private readonly all = new Set<ChildProcess>();
  private readonly busyReaders = new Set<string>();
  /**
   * Each card's worker: the first to get a scenario naming it. A free worker takes, from the
   * next few scenarios, the first whose cards are its own (or nobody's yet) — their template and
   * hashed PINs are there already — and else the first it can run.
   */
  private readonly home = new Map<string, ChildProcess>();
  private running = 0;
  private ended = false;
  private closed = false;
  private resolveEnd: (() => void) | null = null;

  constructor(
    jobs: number,
    private readonly readerOverride: string | undefined,
    private readonly done: (id: number, r: ScenarioResult) => void,
    private readonly scratchDir: string,
  ) {
    for (let i = 0; i < jobs; i++) this.free.push(this.spawn());
  }

  private spawn(): ChildProcess {
    const w = spawnWorkerProcess(this.scratchDir);
    this.all.add(w);
    w.once('exit', () => this.all.delete(w));
    return w;
  }

  /** Ends the run now: every worker killed, nothing more handed out or reported. */
  close(): void {
    this.closed = true;
    this.ended = true;
    this.queue.length = 0;
    this.resolveEnd = null;
    for (const w of this.all) w.kill('SIGKILL');
  }

  add(task: Task): void {
    this.queue.push(task);
    this.pump();
  }

  /** Resolves when every task added has its result; the workers are then sent away. */
  end(): Promise<void> {
    this.ended = true;
    return new Promise<void>((resolve) => {
      this.resolveEnd = resolve;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    while (this.free.length > 0) {
      let w = this.free[0]!;
      const i = this.pick(w);
      if (i < 0) break;
      const task = this.queue.splice(i, 1)[0]!;
      this.free.shift();
      // One that is gone already (it failed to start, or died waiting) is replaced.
      if (!alive(w)) w = this.spawn();
      for (const c of task.cards) if (!this.home.has(c)) this.home.set(c, w);
      this.run(w, task);
    }
    if (this.ended && this.queue.length === 0 && this.running === 0 && this.resolveEnd) {
      for (const w of this.free.splice(0)) if (w.connected) w.disconnect();
      this.resolveEnd();
      this.resolveEnd = null;
    }
  }

  /** The queue index of the task for this worker, or -1. */
  private pick(w: ChildProcess): number {
    let first = -1;
    for (let k = 0, looked = 0; k < this.queue.length && looked < LOOKAHEAD; k++) {
      const t = this.queue[k]!;
      if (t.reader !== null && this.busyReaders.has(t.reader)) continue;
      looked++;
      if (first < 0) first = k;
      if (t.cards.every((c) => (this.home.get(c) ?? w) === w)) return k;
    }
    return first;
  }

  private run(w: ChildProcess, task: Task): void {
    this.running++;
    if (task.reader) this.busyReaders.add(task.reader);
    stderrOf.set(w, '');
    // A scenario bounded by its steps' timeouts, with room to spare: a hung worker is killed.
    const limit = task.scenario.steps.length * task.scenario.stepTimeoutMs + 60_000;
    const watchdog = setTimeout(() => w.kill('SIGKILL'), limit);
    const settle = (r: ScenarioResult, next: ChildProcess) => {
      clearTimeout(watchdog);
      w.off('message', onMessage);
      w.off('exit', onExit);
      this.running--;
      if (task.reader) this.busyReaders.delete(task.reader);
      this.free.push(next);
      this.done(task.id, r);
      this.pump();
    };
    const onMessage = (m: WorkerReply) => {
      if (m.id !== task.id) return;
      settle('result' in m ? m.result : errorResult(task.scenario, m.error), w);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.closed) {
        clearTimeout(watchdog);
        return;
      }
      const tail = stderrOf.get(w);
      // Its cards find a home again with the next worker to take them.
      for (const [card, home] of this.home) if (home === w) this.home.delete(card);
      settle(
        errorResult(
          task.scenario,
          `the worker process died (${signal ?? `exit ${code}`})${tail ? `: ${tail.trim()}` : ''}`,
        ),
        this.spawn(),
      );
    };
    w.on('message', onMessage);
    w.once('exit', onExit);
    const msg: WorkerTask = {
      id: task.id,
      file: task.file,
      scenario: task.scenario,
      ...(this.readerOverride ? { readerOverride: this.readerOverride } : {}),
    };
    w.send(msg);
  }
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
