import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GuessMessage, GuessReport } from './guess-child.ts';

const CHILD = fileURLToPath(new URL('./guess-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface GuessRun {
  /** Each process's status words, in the order it sent its guesses. */
  reports: GuessReport[];
  /** Every status word from every process. */
  sws: string[];
}

/**
 * Forks `processes` guessers (guess-child.ts) on one ledger file and card, waits until every
 * one has opened the card, then starts them at once; resolves with their status words.
 * Rejects when a child fails or sends no report.
 */
export async function runGuessers(o: {
  dbPath: string;
  card: string;
  mode: 'pin' | 'key';
  processes: number;
  guesses: number;
}): Promise<GuessRun> {
  const children = Array.from({ length: o.processes }, (_, i) =>
    fork(
      CHILD,
      [
        '--db',
        o.dbPath,
        '--card',
        o.card,
        '--mode',
        o.mode,
        '--guesses',
        String(o.guesses),
        '--index',
        String(i),
      ],
      { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    ),
  );
  let ready = 0;
  const reports: (GuessReport | null)[] = children.map(() => null);
  const done = children.map(
    (child, i) =>
      new Promise<void>((resolve, reject) => {
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout!.resume();
        child.on('message', (m: GuessMessage) => {
          if (m.type === 'ready' && ++ready === children.length) for (const c of children) c.send('go');
          if (m.type === 'report') reports[i] = m.report;
        });
        child.on('close', (code, signal) => {
          if (code === 0 && reports[i]) resolve();
          else
            reject(
              new Error(`guesser ${i}: exit ${code ?? signal}${reports[i] ? '' : ', no report'}\n${stderr}`),
            );
        });
      }),
  );
  try {
    await Promise.all(done);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  const all = reports as GuessReport[];
  return { reports: all, sws: all.flatMap((r) => r.sws) };
}
