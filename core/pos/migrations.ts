import type { Migration } from '../ledger/migrations.ts';

/** Terminal tables: payments, terminal journal, forward queue (versions 30–39). */
export const TERMINAL_MIGRATIONS: readonly Migration[] = [];
