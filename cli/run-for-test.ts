import { run } from './main.ts';
import type { CliIo } from './io.ts';

/** Runs `sscard …` in-process, capturing what it prints: for tests. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  const code = await run(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
