import { invalid, requireText } from '../../request-checks.ts';
import { hostRecordFromColumns } from '../../split.ts';
import type { HostRecord } from '../../types.ts';
import type { PgBooks, RecordRow } from './books.ts';
import { RECORD_COLUMNS } from './sql.ts';

/**
 * A terminal's records at the central host, in the order applied, for its reconciliation
 * (all of them, or one business day's).
 */
export async function records(books: PgBooks, terminalId: string, date?: string): Promise<HostRecord[]> {
  const terminal = requireText(terminalId, 'terminalId');
  if (date === undefined) {
    return (
      await books.pool.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM host_records WHERE terminal_id = $1 ORDER BY seq`,
        [terminal],
      )
    ).rows.map(hostRecordFromColumns);
  }
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw invalid(`date must be a business day as YYYY-MM-DD, got ${String(date)}`);
  }
  return (
    await books.pool.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM host_records WHERE terminal_id = $1 AND business_date = $2 ORDER BY seq`,
      [terminal, date],
    )
  ).rows.map(hostRecordFromColumns);
}
