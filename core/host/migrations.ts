import type { Migration } from '../ledger/migrations.ts';

/** Host simulator tables (versions 20–29). */
export const HOST_MIGRATIONS: readonly Migration[] = [];
