import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Test support for core/pos/in-doubt*.test.ts: starts test/harness/pos/in-doubt-child.ts (a till whose
 * host misbehaves around the debit) and follows what it prints.
 */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./in-doubt-child.ts', import.meta.url));

export interface ChildExit {
  signal: NodeJS.Signals | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the payment id once the child printed `<word> <id>`; rejects if it exits first. */
  said(word: string): Promise<string>;
  exit: Promise<ChildExit>;
}

/** Starts the child till on `dbPath` with the host behaviour given (see in-doubt-child.ts). */
export function startChild(dbPath: string, behaviour: string, args: readonly string[] = []): Child {
  const env = { ...process.env };
  delete env.SSCARD_CRASH_AT;
  delete env.SSCARD_CRASH_AFTER;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, '--db', dbPath, '--host', behaviour, ...args],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  const waiting = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...waiting]) w();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exit = new Promise<ChildExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      for (const w of [...waiting]) w();
      resolve({ signal, code, stdout, stderr });
    });
  });
  return {
    process: child,
    exit,
    said: (word) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const m = new RegExp(`^${word} (\\S+)$`, 'm').exec(stdout);
          if (m) {
            waiting.delete(check);
            resolve(m[1]!);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiting.delete(check);
            reject(new Error(`child exited without saying "${word}": ${stdout} ${stderr}`));
          }
        };
        waiting.add(check);
        check();
      }),
  };
}
