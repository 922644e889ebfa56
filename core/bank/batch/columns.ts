/**
 * The batch file's columns: which headers are accepted (in the order of the template in
 * docs/batch-format.md) and where a problem about an Application field is shown — its cell, as
 * a spreadsheet user counts them, or the nearest column.
 */

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

export const SPEC: ReadonlyMap<ColumnKey, ColumnSpec> = new Map(BATCH_COLUMNS.map((c) => [c.key, c]));

/** Trailing '*' (required marker) and a parenthesised hint are not part of a header. */
export function normaliseHeader(h: string): string {
  return h
    .trim()
    .replace(/[（(][^）)]*[）)]\s*$/, '')
    .replace(/\*+$/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

export const HEADER_LOOKUP: ReadonlyMap<string, ColumnKey> = (() => {
  const m = new Map<string, ColumnKey>();
  for (const c of BATCH_COLUMNS) {
    for (const h of [c.key, c.zh, ...c.aliases]) m.set(normaliseHeader(h), c.key);
    m.set(normaliseHeader(`${c.zh}/${c.key}`), c.key); // the bilingual template header
  }
  return m;
})();

/** Where problems about an Application field are reported: its column, or the nearest one. */
export const FIELD_COLUMN: ReadonlyMap<string, ColumnKey> = new Map<string, ColumnKey>([
  ...BATCH_COLUMNS.map((c): [string, ColumnKey] => [c.field, c.key]),
  ['mode', 'channel'],
  ['employedOrInsuredInGuangdong', 'in_guangdong'],
  ['guardian', 'guardian_name'],
  // The person's existing cards are looked up by the document: point at the person.
  ['existingCards', 'doc_number'],
]);

export const columnLetter = (index: number): string => {
  let s = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
};

/** The recognised columns of one file: where each is, and its header as written. */
export interface Columns {
  index: ReadonlyMap<ColumnKey, number>;
  written: ReadonlyMap<ColumnKey, string>;
}

/** Where a problem about an Application field is shown. */
export function columnOf(
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
