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
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Application, Channel, Guardian } from './types.ts';
import type { DocType } from '../rules/ssn-from-document.ts';
import { ssnFromDocument } from '../rules/ssn-from-document.ts';
import { branchOffersCardBusiness, type Branch, type ExistingCard } from '../rules/eligibility.ts';
import { isValidDate } from '../rules/ssn.ts';
import { CHANNELS, DOC_TYPES, validateApplication } from './application.ts';

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180)

export interface CsvRecord {
  fields: string[];
  /** Physical line (1-based) where the record starts; a quoted line break makes records span lines. */
  line: number;
}

export type CsvParse =
  { ok: true; records: CsvRecord[] } | { ok: false; line: number; zh: string; en: string };

/**
 * RFC 4180, read strictly where leniency would guess: a quote may only open a field and must be
 * closed, and a closing quote must be followed by a comma or the end of the line. Line ends may be
 * CRLF, LF or a lone CR; a line break inside quotes is kept as LF. A final line end does not make
 * an empty record.
 */
export function parseCsv(input: string): CsvParse {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const n = text.length;
  const records: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  const fail = (at: number, zh: string, en: string): CsvParse => ({ ok: false, line: at, zh, en });
  while (i < n) {
    const record: CsvRecord = { fields: [], line };
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= n) {
            return fail(
              opened,
              `第 ${opened} 行的引号未闭合：以双引号开始的字段须以双引号结束`,
              `Line ${opened}: a quoted field is never closed (missing closing double quote)`,
            );
          }
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\r' || c === '\n') {
            i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
            line++;
            value += '\n';
            continue;
          }
          value += c;
          i++;
        }
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
          return fail(
            line,
            `第 ${line} 行：引号闭合后应为逗号或换行，却是“${next}”（字段中的双引号须写成两个双引号 ""）`,
            `Line ${line}: '${next}' after a closing quote; expected a comma or a line end (write a quote inside a field as "")`,
          );
        }
      } else {
        const start = i;
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') {
            return fail(
              line,
              `第 ${line} 行：未加引号的字段中出现双引号（含双引号的字段须整体用双引号括起，内部写成 ""）`,
              `Line ${line}: a double quote inside an unquoted field (quote the whole field and write the quote as "")`,
            );
          }
          i++;
        }
        value = text.slice(start, i);
      }
      record.fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r' || text[i] === '\n') {
        i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
      }
      break;
    }
    records.push(record);
  }
  return { ok: true, records };
}

// ---------------------------------------------------------------------------------------------
// Columns

export type ColumnKey =
  | 'name'
  | 'sex'
  | 'birth_date'
  | 'nation'
  | 'nationality'
  | 'doc_type'
  | 'doc_number'
  | 'ssn'
  | 'phone'
  | 'address'
  | 'birthplace'
  | 'channel'
  | 'id_images'
  | 'photo'
  | 'photo_receipt_number'
  | 'resident_status_flag'
  | 'in_guangdong'
  | 'guardian_name'
  | 'guardian_doc_type'
  | 'guardian_doc_number'
  | 'guardian_nationality'
  | 'guardian_contact';

export interface ColumnSpec {
  key: ColumnKey;
  /** The Chinese header; `aliases` lists other accepted headers. */
  zh: string;
  /** The Application field the column fills (dotted for the guardian). */
  field: string;
  required: boolean;
  aliases: readonly string[];
}

/** The accepted columns, in the order of the template in docs/batch-format.md. */
export const BATCH_COLUMNS: readonly ColumnSpec[] = [
  { key: 'name', zh: '姓名', field: 'name', required: true, aliases: [] },
  { key: 'sex', zh: '性别', field: 'sex', required: true, aliases: [] },
  { key: 'birth_date', zh: '出生日期', field: 'birthDate', required: true, aliases: [] },
  { key: 'nation', zh: '民族', field: 'nation', required: true, aliases: ['民族代码'] },
  {
    key: 'nationality',
    zh: '国籍',
    field: 'nationality',
    required: true,
    aliases: ['国家地区', '国家/地区'],
  },
  { key: 'doc_type', zh: '证件类型', field: 'docType', required: true, aliases: ['证件种类'] },
  { key: 'doc_number', zh: '证件号码', field: 'docNumber', required: true, aliases: [] },
  { key: 'ssn', zh: '社会保障号码', field: 'ssn', required: false, aliases: ['社会保障号'] },
  { key: 'phone', zh: '手机', field: 'phone', required: true, aliases: ['手机号码', '联系电话', 'mobile'] },
  { key: 'address', zh: '地址', field: 'address', required: false, aliases: ['通讯地址'] },
  { key: 'birthplace', zh: '出生地', field: 'birthplace', required: false, aliases: [] },
  { key: 'channel', zh: '渠道', field: 'channel', required: false, aliases: ['申请渠道'] },
  {
    key: 'id_images',
    zh: '身份证影像',
    field: 'idImagesUploaded',
    required: true,
    aliases: ['证件影像', '身份证正反面影像'],
  },
  { key: 'photo', zh: '相片', field: 'photo', required: false, aliases: ['照片', '相片文件'] },
  {
    key: 'photo_receipt_number',
    zh: '相片回执号',
    field: 'photoReceiptNumber',
    required: false,
    aliases: [],
  },
  {
    key: 'resident_status_flag',
    zh: '居民身份标识',
    field: 'residentStatusFlag',
    required: false,
    aliases: [],
  },
  {
    key: 'in_guangdong',
    zh: '在粤就业参保',
    field: 'livesWorksOrInsuredInGuangdong',
    required: false,
    aliases: ['在粤居住就业参保'],
  },
  { key: 'guardian_name', zh: '监护人姓名', field: 'guardian.name', required: false, aliases: [] },
  {
    key: 'guardian_doc_type',
    zh: '监护人证件类型',
    field: 'guardian.docType',
    required: false,
    aliases: ['监护人证件种类'],
  },
  {
    key: 'guardian_doc_number',
    zh: '监护人证件号码',
    field: 'guardian.docNumber',
    required: false,
    aliases: [],
  },
  {
    key: 'guardian_nationality',
    zh: '监护人国籍',
    field: 'guardian.nationality',
    required: false,
    aliases: [],
  },
  {
    key: 'guardian_contact',
    zh: '监护人联系方式',
    field: 'guardian.contact',
    required: false,
    aliases: ['监护人电话', '监护人手机'],
  },
];

const SPEC: ReadonlyMap<ColumnKey, ColumnSpec> = new Map(BATCH_COLUMNS.map((c) => [c.key, c]));

/** Trailing '*' (required marker) and a parenthesised hint are not part of a header. */
function normaliseHeader(h: string): string {
  return h
    .trim()
    .replace(/[（(][^）)]*[）)]\s*$/, '')
    .replace(/\*+$/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

const HEADER_LOOKUP: ReadonlyMap<string, ColumnKey> = (() => {
  const m = new Map<string, ColumnKey>();
  for (const c of BATCH_COLUMNS) {
    for (const h of [c.key, c.zh, ...c.aliases]) m.set(normaliseHeader(h), c.key);
    m.set(normaliseHeader(`${c.zh}/${c.key}`), c.key); // the bilingual template header
  }
  return m;
})();

/** Where problems about an Application field are reported: its column, or the nearest one. */
const FIELD_COLUMN: ReadonlyMap<string, ColumnKey> = new Map<string, ColumnKey>([
  ...BATCH_COLUMNS.map((c): [string, ColumnKey] => [c.field, c.key]),
  ['mode', 'channel'],
  ['employedOrInsuredInGuangdong', 'in_guangdong'],
  ['guardian', 'guardian_name'],
  // The person's existing cards are looked up by the document: point at the person.
  ['existingCards', 'doc_number'],
]);

// ---------------------------------------------------------------------------------------------
// Rows

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

const columnLetter = (index: number): string => {
  let s = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
};

const YES = new Set(['是', '有', '已上传', 'yes', 'y', 'true', '1']);
const NO = new Set(['否', '无', '未上传', 'no', 'n', 'false', '0']);

const SEX: ReadonlyMap<string, 'male' | 'female'> = new Map([
  ['男', 'male'],
  ['male', 'male'],
  ['m', 'male'],
  ['1', 'male'],
  ['女', 'female'],
  ['female', 'female'],
  ['f', 'female'],
  ['2', 'female'],
]);

const DOC_TYPE_ALIASES: ReadonlyMap<string, DocType> = (() => {
  const m = new Map<string, DocType>();
  for (const [key, names] of Object.entries(DOC_TYPES) as [DocType, { zh: string; en: string }][]) {
    m.set(key, key);
    m.set(names.zh, key);
    m.set(names.en.toLowerCase(), key);
  }
  m.set('身份证', 'id');
  m.set('港澳通行证', 'hk-macau-permit');
  m.set('居住证', 'residence-permit');
  return m;
})();

const NATIONALITY_ALIASES: ReadonlyMap<string, string> = new Map([
  ['中国', 'CHN'],
  ['中国内地', 'CHN'],
  ['香港', 'HKG'],
  ['中国香港', 'HKG'],
  ['澳门', 'MAC'],
  ['中国澳门', 'MAC'],
  ['台湾', 'TWN'],
  ['中国台湾', 'TWN'],
]);

const CHANNEL_ALIASES: ReadonlyMap<string, Channel> = (() => {
  const m = new Map<string, Channel>();
  for (const [key, c] of Object.entries(CHANNELS) as [Channel, { zh: string }][]) {
    m.set(key.toLowerCase(), key);
    m.set(c.zh.toLowerCase(), key);
  }
  m.set('省卡系统(银行端)', '省卡系统');
  m.set('xx银行微信小程序', 'bank-mini-program');
  m.set('银行小程序', 'bank-mini-program');
  m.set('xx银行数字空间', 'bank-digital-space');
  m.set('粤智助（行内）', '粤智助');
  m.set('智易通（行内）', '智易通');
  m.set('银行网点（行内）', 'bank-outlet');
  return m;
})();

/** Today's spreadsheets reformat dates: accept 2014-03-05, 2014/3/5, 2014.3.5, 20140305, 2014年3月5日. */
function parseDate(text: string): string | null {
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const iso = `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`;
  return isValidDate(iso) ? iso : null;
}

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

interface Columns {
  index: ReadonlyMap<ColumnKey, number>;
  written: ReadonlyMap<ColumnKey, string>;
}

function parseFile(text: string, opts: ParseOptions): BatchFile & Columns {
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

/** Where a problem about an Application field is shown. */
function columnOf(
  field: string,
  row: number,
  { index, written }: Columns,
): { column: string; cell?: string } {
  const key = FIELD_COLUMN.get(field);
  if (key === undefined) return { column: '' };
  const i = index.get(key);
  if (i === undefined) return { column: `${SPEC.get(key)!.zh}/${key}` };
  return { column: written.get(key)!, cell: `${columnLetter(i)}${row}` };
}

function parseRow(
  record: CsvRecord,
  row: number,
  width: number,
  columns: Columns,
  readPhoto: ((name: string) => Uint8Array | null) | undefined,
): ParsedRow {
  const problems: BatchRowProblem[] = [];
  const fail = (field: string, rule: string, zh: string, en: string) =>
    problems.push({ row, ...columnOf(field, row, columns), field, rule, zh, en });

  if (record.fields.length !== width) {
    problems.push({
      row,
      column: '',
      field: '',
      rule: 'R11',
      zh: `本行有 ${record.fields.length} 个字段，表头有 ${width} 列（含逗号的内容须用双引号括起）`,
      en: `This row has ${record.fields.length} fields but the header has ${width} columns (quote values that contain commas)`,
    });
    return { row, application: null, problems, ssn: null };
  }
  const cell = (key: ColumnKey): string => {
    const i = columns.index.get(key);
    return i === undefined ? '' : record.fields[i]!.trim();
  };
  const zhOf = (key: ColumnKey) => SPEC.get(key)!.zh;
  const fieldOfKey = (key: ColumnKey) => SPEC.get(key)!.field;
  const required = (key: ColumnKey): string | null => {
    const v = cell(key);
    if (v !== '') return v;
    fail(fieldOfKey(key), 'R11', `“${zhOf(key)}”为必填项`, `'${key}' is required`);
    return null;
  };
  const yesNo = (key: ColumnKey): boolean | undefined => {
    const v = cell(key).toLowerCase();
    if (v === '') return undefined;
    if (YES.has(v)) return true;
    if (NO.has(v)) return false;
    fail(
      fieldOfKey(key),
      'R11',
      `“${zhOf(key)}”应填“是”或“否”，而不是“${cell(key)}”`,
      `'${key}' must be yes or no, not '${cell(key)}'`,
    );
    return undefined;
  };
  const docTypeOf = (key: ColumnKey, field: string, v: string | null): DocType | null => {
    if (v === null) return null;
    const t = DOC_TYPE_ALIASES.get(v.toLowerCase());
    if (t === undefined) {
      fail(
        field,
        'R11',
        `未知的${zhOf(key)}“${v}”，应为：${Object.values(DOC_TYPES)
          .map((d) => d.zh)
          .join('、')}`,
        `Unknown ${key} '${v}'; one of: ${Object.keys(DOC_TYPES).join(', ')}`,
      );
      return null;
    }
    return t;
  };
  const nationalityOf = (v: string) => NATIONALITY_ALIASES.get(v) ?? v.toUpperCase();

  const name = required('name');
  const sexText = required('sex');
  const sex = sexText === null ? null : (SEX.get(sexText.toLowerCase()) ?? null);
  if (sexText !== null && sex === null) {
    fail(
      'sex',
      'R11',
      `性别应填“男”或“女”，而不是“${sexText}”`,
      `Sex must be 男/male or 女/female, not '${sexText}'`,
    );
  }
  const dateText = required('birth_date');
  const birthDate = dateText === null ? null : parseDate(dateText);
  if (dateText !== null && birthDate === null) {
    fail(
      'birthDate',
      'R11',
      `出生日期“${dateText}”不是有效日期（格式 YYYY-MM-DD）`,
      `The birth date '${dateText}' is not a date (format YYYY-MM-DD)`,
    );
  }
  const nationText = required('nation');
  // Spreadsheets drop the leading zero of 01.
  const nation = nationText !== null && /^[0-9]$/.test(nationText) ? `0${nationText}` : nationText;
  const nationalityText = required('nationality');
  const nationality = nationalityText === null ? null : nationalityOf(nationalityText);
  const docType = docTypeOf('doc_type', 'docType', required('doc_type'));
  const docNumber = required('doc_number');
  if (docNumber !== null && /^[0-9.]+E\+?[0-9]+$/i.test(docNumber)) {
    fail(
      'docNumber',
      'R11',
      `证件号码“${docNumber}”被表格软件改成了科学计数法：请将该列设为文本格式后重新导出`,
      `The document number '${docNumber}' was turned into scientific notation by the spreadsheet: format the column as text and export again`,
    );
  }
  const phone = required('phone');

  let channel: Channel = '省卡系统';
  const channelText = cell('channel');
  if (channelText !== '') {
    const c = CHANNEL_ALIASES.get(channelText.toLowerCase());
    if (c === undefined) {
      fail(
        'channel',
        'R6',
        `未知的申请渠道“${channelText}”，应为：${Object.values(CHANNELS)
          .map((x) => x.zh)
          .join('、')}`,
        `Unknown channel '${channelText}'; one of: ${Object.keys(CHANNELS).join(', ')}`,
      );
    } else channel = c;
  }
  const idImagesUploaded = yesNo('id_images') ?? false;
  const residentStatusFlag = yesNo('resident_status_flag');
  const inGuangdong = yesNo('in_guangdong') ?? true;

  let photo: Uint8Array | null = null;
  const photoName = cell('photo');
  if (photoName !== '') {
    if (/[\\/\0]/.test(photoName) || photoName === '.' || photoName === '..') {
      fail(
        'photo',
        'R8',
        `相片列只填文件名，不能含路径：“${photoName}”`,
        `The photo column takes a file name without a path, not '${photoName}'`,
      );
    } else if (readPhoto === undefined) {
      fail(
        'photo',
        'R8',
        `文件列出了相片“${photoName}”，但导入时未指定相片文件夹`,
        `The row names photo '${photoName}' but no photo folder was given for the import`,
      );
    } else {
      photo = readPhoto(photoName);
      if (photo === null) {
        fail(
          'photo',
          'R8',
          `相片文件夹中没有“${photoName}”`,
          `There is no '${photoName}' in the photo folder`,
        );
      }
    }
  }

  // The guardian: all five cells or none (R9 needs them all under 16; half a guardian is a typo).
  const guardianKeys = [
    ['guardian_name', 'guardian.name'],
    ['guardian_doc_type', 'guardian.docType'],
    ['guardian_doc_number', 'guardian.docNumber'],
    ['guardian_nationality', 'guardian.nationality'],
    ['guardian_contact', 'guardian.contact'],
  ] as const;
  let guardian: Guardian | undefined;
  let guardianOk = true;
  if (guardianKeys.some(([k]) => cell(k) !== '')) {
    for (const [k, field] of guardianKeys) {
      if (cell(k) === '') {
        guardianOk = false;
        fail(
          field,
          'R9',
          `监护人信息须五要素齐全：缺少“${zhOf(k)}”`,
          `The guardian's five elements go together: '${k}' is missing`,
        );
      }
    }
    const gType = cell('guardian_doc_type') === '' ? null : cell('guardian_doc_type');
    const gDocType = docTypeOf('guardian_doc_type', 'guardian.docType', gType);
    if (gType !== null && gDocType === null) guardianOk = false;
    if (guardianOk && gDocType !== null) {
      guardian = {
        name: cell('guardian_name'),
        docType: gDocType,
        docNumber: cell('guardian_doc_number').toUpperCase(),
        nationality: nationalityOf(cell('guardian_nationality')),
        contact: cell('guardian_contact'),
      };
    }
  }

  let ssn: string | null = null;
  if (nationality !== null && docType !== null && docNumber !== null) {
    const r = ssnFromDocument({ country: nationality, docType, doc: docNumber });
    if (r.ok) ssn = r.ssn;
  }
  if (problems.length > 0) return { row, application: null, problems, ssn };

  const optional = <F extends keyof Application>(field: F, key: ColumnKey): Partial<Record<F, string>> => {
    const v = cell(key);
    return v === '' ? {} : ({ [field]: v } as Partial<Record<F, string>>);
  };
  const application: Application = {
    name: name!,
    sex: sex!,
    birthDate: birthDate!,
    nation: nation!,
    nationality: nationality!,
    docType: docType!,
    docNumber: docNumber!.toUpperCase(),
    ...optional('ssn', 'ssn'),
    phone: phone!,
    ...optional('address', 'address'),
    ...optional('birthplace', 'birthplace'),
    idImagesUploaded,
    photo,
    ...(guardian ? { guardian } : {}),
    ...optional('photoReceiptNumber', 'photo_receipt_number'),
    ...(residentStatusFlag === undefined ? {} : { residentStatusFlag }),
    livesWorksOrInsuredInGuangdong: inGuangdong,
    employedOrInsuredInGuangdong: inGuangdong,
    channel,
    mode: 'batch',
  };
  return { row, application, problems, ssn };
}

// ---------------------------------------------------------------------------------------------
// Import

export interface ImportOptions extends ParseOptions {
  /** Business date, YYYY-MM-DD (Beijing time). */
  today: string;
  /** The person's cards in the card management system (R5.2, R7). */
  existingCardsFor: (ssn: string) => ExistingCard[];
  branch?: Branch;
  /**
   * Called ONCE with every good row, in file order, only when there is at least one; run it
   * inside the caller's transaction so that the batch is written whole or not at all.
   */
  issue: (apps: Application[]) => void;
}

export interface BatchImport {
  issued: number;
  /** The spreadsheet rows issued, in the order given to `issue`. */
  issuedRows: number[];
  rejected: BatchRowProblem[];
  /** Things to look at on rows that were issued anyway (e.g. R5.2 this bank's card elsewhere). */
  warnings: BatchRowProblem[];
  fileProblems: FileProblem[];
}

export function importBatch(text: string, opts: ImportOptions): BatchImport {
  const parsed = parseFile(text, opts);
  const result: BatchImport = {
    issued: 0,
    issuedRows: [],
    rejected: [],
    warnings: [],
    fileProblems: parsed.fileProblems,
  };
  if (opts.branch && !branchOffersCardBusiness(opts.branch)) {
    result.fileProblems.push({
      line: null,
      zh: `${opts.branch.city}分行尚未上线社保卡业务，不能受理批量制卡`,
      en: `The ${opts.branch.city} branch does not offer the card business yet: no batch issuance`,
    });
  }
  if (result.fileProblems.length > 0) return result;

  const problems = new Map<number, BatchRowProblem[]>();
  for (const r of parsed.rows) {
    const list = [...r.problems];
    if (r.application) {
      const check = validateApplication(r.application, {
        today: opts.today,
        existingCards: r.ssn === null ? [] : opts.existingCardsFor(r.ssn),
        ...(opts.branch ? { branch: opts.branch } : {}),
      });
      const at = (i: { field: string; rule: string; zh: string; en: string }): BatchRowProblem => ({
        row: r.row,
        ...columnOf(i.field, r.row, parsed),
        field: i.field,
        rule: i.rule,
        zh: i.zh,
        en: i.en,
      });
      list.push(...check.problems.map(at));
      result.warnings.push(...check.warnings.map(at));
    }
    problems.set(r.row, list);
  }

  // R7.1: one person, one card — the same person twice in the file is refused on every row.
  const bySsn = new Map<string, number[]>();
  for (const r of parsed.rows) if (r.ssn !== null) bySsn.set(r.ssn, [...(bySsn.get(r.ssn) ?? []), r.row]);
  for (const [ssn, rows] of bySsn) {
    if (rows.length < 2) continue;
    for (const row of rows) {
      problems.get(row)!.push({
        row,
        ...columnOf('docNumber', row, parsed),
        field: 'docNumber',
        rule: 'R7.1',
        zh: `社会保障号码 ${ssn} 在文件中重复出现（第 ${rows.join('、')} 行）：一人仅能对应一张社保卡，请核对后只保留一行`,
        en: `SSN ${ssn} appears more than once in the file (rows ${rows.join(', ')}): one person has one card, keep one row`,
      });
    }
  }

  const good: Application[] = [];
  for (const r of parsed.rows) {
    const list = problems.get(r.row)!;
    if (list.length === 0 && r.application) {
      good.push(r.application);
      result.issuedRows.push(r.row);
    } else result.rejected.push(...list);
  }
  const issuedRows = new Set(result.issuedRows);
  result.warnings = result.warnings.filter((w) => issuedRows.has(w.row));
  if (good.length > 0) {
    opts.issue(good);
    result.issued = good.length;
  }
  return result;
}
