/**
 * R11 批量制卡: a company's batch applicant file. The format is documented in
 * docs/batch-format.md; keep the two in step.
 *
 * The file is CSV (RFC 4180): UTF-8 with or without a BOM, CRLF or LF line ends, a header row,
 * fields in double quotes where they hold commas, quotes ("" inside) or line breaks. A file that
 * is not valid CSV is refused as a whole, naming the line; everything else is reported per row
 * and column, as a spreadsheet user counts them (the header is row 1, the first applicant row 2).
 *
 * importBatch validates every row (validateApplication), refuses duplicate people within the
 * file (R7.1), and hands all the good rows to `issue` in ONE call, so that the caller can write
 * them in one transaction: a failure there leaves nothing half-written.
 *
 * This file is the batch import's public face; the work lives in batch/ by concept: the CSV
 * reader (csv.ts), the columns (columns.ts), the accepted cell words (cell-values.ts), the file
 * and row readers (parse-file.ts, parse-row.ts) and the import run (import.ts).
 */
export { parseCsv, type CsvParse, type CsvRecord } from './batch/csv.ts';
export { BATCH_COLUMNS, type ColumnKey, type ColumnSpec } from './batch/columns.ts';
export type { BatchFile, BatchRowProblem, FileProblem, ParsedRow, ParseOptions } from './batch/types.ts';
export { parseBatchFile } from './batch/parse-file.ts';
export { importBatch, type BatchImport, type ImportOptions } from './batch/import.ts';
