import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The embedded default ledger file: $SSCARD_DB, else the XDG data folder
 * (~/.local/share/sscard-lab/sscard.db).
 */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SSCARD_DB) return env.SSCARD_DB;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'sscard-lab', 'sscard.db');
}
