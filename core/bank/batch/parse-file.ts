/**
 * Reading a whole batch file: encoding, CSV, the header row (every column known, none twice,
 * the required ones present) and then each applicant row. A file-level problem stops the read
 * before any row is looked at.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from './csv.ts';
import {
  BATCH_COLUMNS,
  columnLetter,
  HEADER_LOOKUP,
  normaliseHeader,
  type ColumnKey,
  type Columns,
} from './columns.ts';
import { parseRow } from './parse-row.ts';
import type { BatchFile, FileProblem, ParsedRow, ParseOptions } from './types.ts';

function defaultPhotoReader(opts: ParseOptions): ((name: string) => Uint8Array | null) | undefined {
  if (opts.readPhoto) return opts.readPhoto;
  const dir = opts.photoDir;
  if (dir === undefined) return undefined;
  return (name) => {
    try {
      return new Uint8Array(readFileSync(join(dir, name)));
    } catch {
      return null;
    }
  };
}

export function parseBatchFile(text: string, opts: ParseOptions = {}): BatchFile {
  const { rows, fileProblems, columns } = parseFile(text, opts);
  return { rows, fileProblems, columns };
}

export function parseFile(text: string, opts: ParseOptions): BatchFile & Columns {
  const index = new Map<ColumnKey, number>();
  const written = new Map<ColumnKey, string>();
  const refused = (...fileProblems: FileProblem[]) => ({
    rows: [],
    fileProblems,
    columns: [],
    index,
    written,
  });
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) {
    const line = text.slice(0, bad).split(/\r\n|\r|\n/).length;
    return refused({
      line,
      zh: `第 ${line} 行有无法识别的字符：文件须为 UTF-8 编码（Excel 请“另存为 CSV UTF-8”，勿存为 GBK/ANSI）`,
      en: `Line ${line} has unreadable characters: the file must be UTF-8 (in Excel, save as "CSV UTF-8", not GBK/ANSI)`,
    });
  }
  const csv = parseCsv(text);
  if (!csv.ok) return refused({ line: csv.line, zh: csv.zh, en: csv.en });
  const isBlank = (fields: readonly string[]) => fields.every((f) => f.trim() === '');
  const header = csv.records[0];
  if (!header || csv.records.every((r) => isBlank(r.fields))) {
    return refused({ line: null, zh: '文件为空', en: 'The file is empty' });
  }
  const data = csv.records.slice(1).map((r, i) => ({ record: r, row: i + 2 }));

  // Header: every column known, none twice, the required ones present. A column without a
  // header is ignored if it is empty all the way down (spreadsheets export such columns).
  const fileProblems: FileProblem[] = [];
  header.fields.forEach((h, i) => {
    if (h.trim() === '') {
      if (data.some(({ record }) => (record.fields[i] ?? '').trim() !== '')) {
        fileProblems.push({
          line: 1,
          zh: `第 ${columnLetter(i)} 列有数据但没有表头`,
          en: `Column ${columnLetter(i)} has data but no header`,
        });
      }
      return;
    }
    const key = HEADER_LOOKUP.get(normaliseHeader(h));
    if (key === undefined) {
      fileProblems.push({
        line: 1,
        zh: `表头第 ${columnLetter(i)} 列“${h}”不是批量申请数据格式中的列（见 docs/batch-format.md）`,
        en: `Header column ${columnLetter(i)} '${h}' is not a column of the batch format (see docs/batch-format.md)`,
      });
    } else if (index.has(key)) {
      fileProblems.push({
        line: 1,
        zh: `表头第 ${columnLetter(i)} 列“${h}”与第 ${columnLetter(index.get(key)!)} 列重复`,
        en: `Header column ${columnLetter(i)} '${h}' repeats column ${columnLetter(index.get(key)!)}`,
      });
    } else {
      index.set(key, i);
      written.set(key, h.trim());
    }
  });
  for (const c of BATCH_COLUMNS) {
    if (c.required && !index.has(c.key)) {
      fileProblems.push({
        line: 1,
        zh: `缺少必需的列“${c.zh}”（或 ${c.key}）`,
        en: `The required column '${c.key}' (${c.zh}) is missing`,
      });
    }
  }
  if (fileProblems.length > 0) return refused(...fileProblems);
  if (data.every(({ record }) => isBlank(record.fields))) {
    return refused({
      line: null,
      zh: '文件只有表头，没有申请人数据',
      en: 'The file has a header row but no applicants',
    });
  }

  const readPhoto = defaultPhotoReader(opts);
  const rows: ParsedRow[] = [];
  for (const { record, row } of data) {
    if (isBlank(record.fields)) continue; // an empty line or a row of empty cells: no one to apply for
    rows.push(parseRow(record, row, header.fields.length, { index, written }, readPhoto));
  }
  const columns = [...index].map(([key, i]) => ({ key, header: written.get(key)!, letter: columnLetter(i) }));
  return { rows, fileProblems, columns, index, written };
}
