/**
 * Crash points: named places in the payment, settlement and carry-over code where a test can
 * have the process killed outright (SIGKILL: no exit handlers, no rollback by the program, no
 * flush), to prove that whatever was committed survives and whatever was not leaves no trace.
 *
 * A point fires only when the process was started with `SSCARD_CRASH_AT=<point>` (and, with
 * `SSCARD_CRASH_AFTER=<k>`, only the k-th time that point is reached; default the first). The
 * environment is read once, when this module loads: everywhere else a crash point costs one
 * string comparison.
 */
export type CrashPoint =
  | 'during-apdu'
  | 'after-card-debit'
  | 'before-journal-commit'
  | 'after-journal-commit'
  | 'during-settlement'
  | 'during-carry-over';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'during-apdu',
  'after-card-debit',
  'before-journal-commit',
  'after-journal-commit',
  'during-settlement',
  'during-carry-over',
];

/** The crash points a payment goes through (the others are settlement and carry-over). */
export const PAYMENT_CRASH_POINTS: readonly CrashPoint[] = [
  'during-apdu',
  'after-card-debit',
  'before-journal-commit',
  'after-journal-commit',
];

export function isCrashPoint(value: unknown): value is CrashPoint {
  return typeof value === 'string' && (CRASH_POINTS as readonly string[]).includes(value);
}

// `process` is absent in a browser bundle: there, no crash point ever fires.
const env: Record<string, string | undefined> =
  typeof process !== 'undefined' && process.env ? process.env : {};
const armedAt: string = env.SSCARD_CRASH_AT ?? '';
const armedAfter: number = (() => {
  const k = Number(env.SSCARD_CRASH_AFTER ?? '1');
  return Number.isSafeInteger(k) && k >= 1 ? k : 1;
})();
let reached = 0;

/**
 * Marks a crash point. A no-op unless this process was started with SSCARD_CRASH_AT=name;
 * then, on the SSCARD_CRASH_AFTER-th time it is reached, the process kills itself at once.
 */
export function crashPoint(name: CrashPoint): void {
  if (name !== armedAt) return;
  reached += 1;
  if (reached < armedAfter) return;
  // SIGKILL to oneself is delivered before kill() returns to the program: nothing after this
  // line runs, no transaction commits, no handler is called.
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Marks a crash point reached once `done` resolves (nothing when it rejects): for "after the
 * commit" points, where the commit is whatever the promise waits for.
 */
export function crashPointAfter(name: CrashPoint, done: Promise<unknown>): void {
  if (name !== armedAt) return;
  done.then(
    () => crashPoint(name),
    () => undefined,
  );
}
