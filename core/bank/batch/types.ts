/**
 * What reading a batch file produces: the rows with their problems, the problems with the file
 * as a whole, and the options the reading takes. Shared by the file and row readers and the
 * import.
 */
import type { Application } from '../types.ts';
import type { ColumnKey } from './columns.ts';

export interface BatchRowProblem {
  /** Spreadsheet row: the header is row 1, the first applicant row 2. */
  row: number;
  /** The column's header as written in the file; `中文/english` when the column is absent; '' for the whole row. */
  column: string;
  /** Spreadsheet cell, e.g. 'G7', when the column is in the file. */
  cell?: string;
  /** The Application field ('' for the whole row). */
  field: string;
  rule: string;
  zh: string;
  en: string;
}

export interface FileProblem {
  /** Physical line of the file, when the problem has one. */
  line: number | null;
  zh: string;
  en: string;
}

export interface ParsedRow {
  row: number;
  /** The application, or null when a cell could not be read (see problems). */
  application: Application | null;
  problems: BatchRowProblem[];
  /** The person's SSN when the identity cells could be read, even if other cells could not (R7.1). */
  ssn: string | null;
}

export interface BatchFile {
  rows: ParsedRow[];
  /** Problems with the file as a whole; when there are any, no row is read. */
  fileProblems: FileProblem[];
  /** The recognised columns, in the file's order. */
  columns: { key: ColumnKey; header: string; letter: string }[];
}

export interface ParseOptions {
  /** Folder the photo file names are resolved against (used when readPhoto is not given). */
  photoDir?: string;
  /** Reads a photo by the file name in the photo column; null when there is no such file. */
  readPhoto?: (name: string) => Uint8Array | null;
}
