import type { PgMigration } from '../pg-migrate.ts';
import { migration as m001 } from './001-host.ts';
import { migration as m002 } from './002-terminal-reports.ts';
import { migration as m003 } from './003-voided-payments.ts';
import { migration as m004 } from './004-terminal-credentials.ts';

/**
 * The central host's PostgreSQL schema, every version in the order it is applied. A new version
 * is a new file NNN-name.ts (NNN = its version) listed here last; pg-migrations.test.ts checks
 * that the files and this list agree.
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [m001, m002, m003, m004];
