import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defaultDbPath } from '../core/paths.ts';
import { UsageError } from './io.ts';

export type Values = Record<string, string | boolean | undefined>;

export function parse(
  args: string[],
  options: ParseArgsConfig['options'],
): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function requireString(values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** The ledger file of --db (the embedded default when absent); openLedgerDb creates its folder. */
export function dbPathOf(value: unknown): string {
  return typeof value === 'string' ? value : defaultDbPath();
}
