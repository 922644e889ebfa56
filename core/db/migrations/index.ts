/**
 * Every schema version of the ledger database, in the order they apply. One file per version,
 * named by its number (010, 020, …): the tables of every feature (the ledger, the host, the
 * terminal's books, the bank counter) live in the one SQLite file, so their versions form one
 * sequence. A new version is a new file appended here; a released one is never edited.
 * core/db/migrations/migrations.test.ts checks that each file's number is its version.
 */
import type { Migration } from '../migrate.ts';
import { migration as v010 } from './010-ledger.ts';
import { migration as v020 } from './020-host.ts';
import { migration as v030 } from './030-terminal-books.ts';
import { migration as v040 } from './040-balance-cache.ts';
import { migration as v050 } from './050-bank-counter.ts';
import { migration as v060 } from './060-card-merges.ts';
import { migration as v070 } from './070-pending-reversals.ts';
import { migration as v080 } from './080-reversal-intents.ts';
import { migration as v090 } from './090-host-voids.ts';

export const MIGRATIONS: readonly Migration[] = [v010, v020, v030, v040, v050, v060, v070, v080, v090];
