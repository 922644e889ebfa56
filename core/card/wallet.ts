import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, ProfileError, type CardProfile } from './profile.ts';

/** The bundled sample wallet: fixtures/cards/*.json. */
export const BUNDLED_CARDS_DIR = fileURLToPath(new URL('../../fixtures/cards/', import.meta.url));

export interface WalletCard {
  file: string;
  profile: CardProfile;
}

export function loadWallet(dir: string = BUNDLED_CARDS_DIR): WalletCard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: join(dir, f), profile: loadProfile(join(dir, f)) }));
}

/**
 * Resolves a `--card` argument: a path to a profile JSON file, or the id of a bundled card
 * (`gen3-active`).
 */
export function resolveCard(arg: string): WalletCard {
  const asPath = resolve(arg);
  if (existsSync(asPath)) return { file: asPath, profile: loadProfile(asPath) };
  if (/^[a-z0-9][a-z0-9-]*$/.test(arg)) {
    const bundled = join(BUNDLED_CARDS_DIR, `${arg}.json`);
    if (existsSync(bundled)) return { file: bundled, profile: loadProfile(bundled) };
  }
  throw new ProfileError(arg, [
    { path: '', message: 'no such card file, and no bundled card with this id (see `sscard cards`)' },
  ]);
}
