import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BUNDLED_CARDS_DIR } from '../card/wallet.ts';
import { loadProfile, ProfileError, type CardProfile } from '../card/profile.ts';
import type { ScenarioCard } from './scenario-model.ts';

/**
 * The cards a scenario names (a bundled id, a profile file, or an inline profile), resolved to
 * profiles with the problems worded for the scenario's author; profile files are read once per
 * process.
 *
 * A scenario is input from anyone (a shared test suite, a CI job's checkout), so the files it
 * may make the runner read are limited: a card file must end in `.json` and lie — after
 * following symbolic links — in the scenario's own folder or below it, in the bundled wallet
 * (fixtures/cards), or in a card folder the person running it named (`sscard run --cards <dir>`).
 * Any other path is refused without being opened, and no problem report ever quotes a file's
 * bytes (core/card/profile.ts words JSON errors by position only).
 */

/** Resolves card references once per scenario file. */
export class CardResolver {
  private readonly cache = new Map<string, ScenarioCard | { problems: string[] }>();
  private readonly allowed: string[];

  /**
   * `baseDir`: the scenario file's folder; `cardDirs`: further folders whose card files any
   * scenario may name (resolved against the current folder).
   */
  constructor(
    private readonly baseDir: string,
    cardDirs: readonly string[] = [],
  ) {
    this.allowed = [baseDir, BUNDLED_CARDS_DIR, ...cardDirs.map((d) => resolve(d))];
  }

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
    if (!asFile) {
      const bundled = join(BUNDLED_CARDS_DIR, `${ref}.json`);
      if (!/^[a-z0-9][a-z0-9-]*$/.test(ref) || !existsSync(bundled))
        return {
          problems: [`no bundled card '${ref}' (see \`sscard cards\`); a profile file must end in .json`],
        };
      return this.read(ref, bundled);
    }
    if (!/\.json$/i.test(ref) || ref.includes('\0'))
      return { problems: [`card file ${ref}: a card profile file must end in .json`] };
    const file = resolve(this.baseDir, ref);
    // Where the path says, before anything is opened; then where it really is (symbolic links).
    if (!this.inAllowedFolder(file)) return { problems: [this.outside(ref)] };
    if (!existsSync(file)) return { problems: [`card file not found: ${ref} (looked for ${file})`] };
    let real: string;
    try {
      real = realpathSync(file);
    } catch (e) {
      return { problems: [`card file ${ref}: cannot read (${(e as NodeJS.ErrnoException).code})`] };
    }
    if (!this.inAllowedFolder(real, true)) return { problems: [this.outside(ref)] };
    if (!statSync(real).isFile()) return { problems: [`card file ${ref}: not a file`] };
    return this.read(ref, real);
  }

  private read(ref: string, file: string): ScenarioCard | { problems: string[] } {
    try {
      return { ref, profile: profileOf(file) };
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      return {
        problems: e.problems.map((p) => `card ${ref}: ${p.path ? `${p.path}: ` : ''}${p.message}`),
      };
    }
  }

  private inAllowedFolder(file: string, real = false): boolean {
    return this.allowed.some((dir) => {
      let d = dir;
      if (real) {
        try {
          d = realpathSync(dir);
        } catch {
          return false;
        }
      }
      const rel = relative(d, file);
      return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
    });
  }

  private outside(ref: string): string {
    return (
      `card file ${ref} is outside the scenario's folder: a scenario may name card files in its ` +
      'own folder or below it, the bundled cards, or a folder given with `sscard run --cards <dir>`'
    );
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
