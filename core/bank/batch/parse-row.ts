/**
 * Reading one applicant row into an Application: each cell checked and converted, every
 * problem reported with its cell. The SSN is derived even when other cells are bad, so that
 * duplicate people in the file can still be found (R7.1).
 */
import type { Application, Channel, Guardian } from '../types.ts';
import type { DocType } from '../../rules/ssn-from-document.ts';
import { ssnFromDocument } from '../../rules/ssn-from-document.ts';
import { CHANNELS, DOC_TYPES } from '../application.ts';
import type { CsvRecord } from './csv.ts';
import { columnOf, SPEC, type ColumnKey, type Columns } from './columns.ts';
import {
  CHANNEL_ALIASES,
  DOC_TYPE_ALIASES,
  NATIONALITY_ALIASES,
  NO,
  parseDate,
  SEX,
  YES,
} from './cell-values.ts';
import type { BatchRowProblem, ParsedRow } from './types.ts';

export function parseRow(
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
