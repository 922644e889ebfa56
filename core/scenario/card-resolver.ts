import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUNDLED_CARDS_DIR } from '../card/wallet.ts';
import { loadProfile, ProfileError, type CardProfile } from '../card/profile.ts';
import type { ScenarioCard } from './scenario-model.ts';

/**
 * The cards a scenario names (a bundled id, a profile file next to it, or an inline profile),
 * resolved to profiles with the problems worded for the scenario's author; profile files are
 * read once per process.
 */

/** Resolves card references once per scenario file. */
export class CardResolver {
  private readonly cache = new Map<string, ScenarioCard | { problems: string[] }>();

  constructor(private readonly baseDir: string) {}

  resolve(ref: unknown): ScenarioCard | { problems: string[] } {
    if (typeof ref !== 'string') {
      // An inline profile: zod has checked it already (with its defaults filled in).
      const profile = ref as CardProfile;
      return { ref: `${profile.id} (inline)`, profile };
    }
    const known = this.cache.get(ref);
    if (known) return known;
    const r = this.load(ref);
    this.cache.set(ref, r);
    return r;
  }

  private load(ref: string): ScenarioCard | { problems: string[] } {
    const asFile = /\.json$/i.test(ref) || ref.includes('/') || ref.includes('\\');
    const file = asFile ? resolve(this.baseDir, ref) : join(BUNDLED_CARDS_DIR, `${ref}.json`);
    if (!asFile && (!/^[a-z0-9][a-z0-9-]*$/.test(ref) || !existsSync(file)))
      return {
        problems: [`no bundled card '${ref}' (see \`sscard cards\`); a profile file must end in .json`],
      };
    if (asFile && !existsSync(file))
      return { problems: [`card file not found: ${ref} (looked for ${file})`] };
    try {
      return { ref, profile: profileOf(file) };
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      return {
        problems: e.problems.map((p) => `card ${ref}: ${p.path ? `${p.path}: ` : ''}${p.message}`),
      };
    }
  }
}

/**
 * Card profile files read and checked once per process while they stay the same (size and
 * modification time): a thousand scenarios naming gen3-active read it once. Treat the profiles
 * as read-only; scenarios share them.
 */
const profiles = new Map<string, { mtimeMs: number; size: number; profile: CardProfile }>();

function profileOf(file: string): CardProfile {
  const st = statSync(file);
  const known = profiles.get(file);
  if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.profile;
  const profile = loadProfile(file);
  profiles.set(file, { mtimeMs: st.mtimeMs, size: st.size, profile });
  return profile;
}
