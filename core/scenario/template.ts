import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCardStore } from '../ledger/card-store.ts';
import { hashSecret, type SecretHash } from '../card/pin.ts';
import type { CardProfile } from '../card/profile.ts';
import { fixedClock } from '../time.ts';
import { DEFAULT_START } from './schema.ts';

/**
 * Fresh ledgers for scenarios, without paying for them every time. A scenario starts on its
 * own new ledger holding the cards it names; making one means running every migration and
 * importing each card with its PIN and bank password as salted scrypt hashes (~35 ms each, on
 * purpose) — most of a short scenario's time.
 *
 * So each process keeps, per list of cards, a template: a ledger made exactly as a scenario's
 * would be (openLedgerDb: migrations, WAL; the cards imported by the card store, in the same
 * order), closed (checkpointed into the one file). A scenario's ledger is a file copy of it: a
 * fresh database, nothing of another scenario in it, the same rows a fresh import writes. What
 * differs: the import's timestamps are those of the template (DEFAULT_START, fixed), and within
 * one process the same card's same secret keeps the salted hash made the first time (a card's
 * PIN hashed once per process, not once per scenario). PINs and passwords are still stored only
 * as salted scrypt hashes. The journal mode (WAL) is in the file's header, so the copy keeps it;
 * synchronous=FULL and foreign keys are per connection, set by openLedgerDb when the till opens
 * the copy.
 */

/**
 * Where scenario ledgers and templates are made: $SSCARD_SCENARIO_TMPDIR when set; else, on
 * Linux, /dev/shm (files in RAM) when it is there with room to spare; else the OS temp folder.
 * A ledger in RAM is opened with the same settings (WAL, synchronous=FULL: SQLite syncs every
 * commit all the same; the sync just costs nothing), and a scenario's crash is a process killed
 * with SIGKILL, which files in RAM survive exactly as files on disk do. Only a power cut tells
 * them apart, and no scenario cuts the power.
 */
export function scratchRoot(): string {
  const chosen = process.env.SSCARD_SCENARIO_TMPDIR;
  if (chosen) return chosen;
  scratch ??= ramFolder() ?? tmpdir();
  return scratch;
}

let scratch: string | undefined;

/**
 * A new folder in the scratch root for this process: `sscard-<what>-<pid>-XXXXXX`. The first
 * call of a process removes the folders of processes that are gone without tidying up (killed:
 * no exit handler ran, and in /dev/shm they would hold on to memory until a reboot).
 */
export function scratchFolder(what: 'scenario' | 'run' | 'templates'): string {
  const root = scratchRoot();
  if (!swept.has(root)) {
    swept.add(root);
    sweepStale(root);
  }
  return mkdtempSync(join(root, `sscard-${what}-${process.pid}-`));
}

const swept = new Set<string>();

function sweepStale(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^sscard-(?:scenario|run|templates)-(\d+)-/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(join(root, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it is there, someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Free space /dev/shm must have to be used (a container's default is 64 MiB). */
const RAM_MIN_FREE = 256 * 1024 * 1024;

function ramFolder(): string | null {
  const dir = '/dev/shm';
  if (process.platform !== 'linux') return null;
  try {
    accessSync(dir, constants.W_OK);
    const s = statfsSync(dir);
    return s.bavail * s.bsize >= RAM_MIN_FREE ? dir : null;
  } catch {
    return null;
  }
}

/** At most this many templates a process keeps (the least recently used file is deleted). */
const MAX_TEMPLATES = 64;

export class LedgerTemplates {
  private dir: string | null = null;
  /** Template files by the cards they hold, least recently used first. */
  private readonly files = new Map<string, string>();
  private readonly hashes = new Map<string, SecretHash>();
  private made = 0;
  private readonly cleanup = () => this.dispose();

  /** How many templates were built, and how many are kept now (for tests and benchmarks). */
  get stats(): { built: number; kept: number } {
    return { built: this.made, kept: this.files.size };
  }

  /**
   * Creates the ledger at `dbPath` (which must not exist) holding these cards, as a copy of
   * their template; the template is built on first use.
   */
  freshLedger(dbPath: string, cards: readonly CardProfile[]): void {
    if (existsSync(dbPath)) throw new Error(`${dbPath} exists already: a fresh ledger needs a new file`);
    copyFileSync(this.template(cards), dbPath);
  }

  /** The template file for this list of cards. */
  template(cards: readonly CardProfile[]): string {
    const key = JSON.stringify(cards);
    const known = this.files.get(key);
    if (known && existsSync(known)) {
      // Most recently used last.
      this.files.delete(key);
      this.files.set(key, known);
      return known;
    }
    this.files.delete(key);
    const dir = this.folder();
    const file = join(dir, `template-${++this.made}.db`);
    try {
      const store = openCardStore(file, fixedClock(DEFAULT_START), {
        hashSecret: (secret, of) => this.hash(secret, of),
      });
      try {
        for (const profile of cards) store.open(profile);
      } finally {
        // Closing the last connection checkpoints the WAL into the file and removes it.
        store.close();
      }
    } catch (e) {
      removeDb(file);
      throw e;
    }
    this.files.set(key, file);
    while (this.files.size > MAX_TEMPLATES) {
      const [oldKey, oldFile] = this.files.entries().next().value as [string, string];
      this.files.delete(oldKey);
      removeDb(oldFile);
    }
    return file;
  }

  /** A card's secret as stored: hashed (salted scrypt) the first time in this process, then reused. */
  private hash(secret: string, of: { cardId: string; secret: 'pin' | 'password' }): SecretHash {
    const key = `${of.cardId}\u0000${of.secret}\u0000${secret}`;
    let h = this.hashes.get(key);
    if (!h) {
      h = hashSecret(secret);
      this.hashes.set(key, h);
    }
    return h;
  }

  private folder(): string {
    if (this.dir && existsSync(this.dir)) return this.dir;
    this.dir = scratchFolder('templates');
    process.once('exit', this.cleanup);
    return this.dir;
  }

  /** Deletes the templates (also done when the process exits). */
  dispose(): void {
    process.off('exit', this.cleanup);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.files.clear();
  }
}

function removeDb(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
}

/** The templates of this process (each `sscard run` worker has its own). */
export const ledgerTemplates = new LedgerTemplates();
