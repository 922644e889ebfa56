import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import jpeg from 'jpeg-js';
import { importBatch, parseBatchFile, parseCsv, type ImportOptions, type ParseOptions } from './batch.ts';
import type { Application } from './types.ts';
import type { ExistingCard } from '../rules/eligibility.ts';
import { idCheckChar } from '../rules/ssn.ts';
import { PHOTO_HEIGHT, PHOTO_WIDTH } from '../rules/photo.ts';

/** An ID photo made here (white backdrop, face, dark top), as in core/rules/photo.test.ts. */
function makePhoto(): Uint8Array {
  const width = PHOTO_WIDTH;
  const height = PHOTO_HEIGHT;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c: [number, number, number] = [250, 250, 250];
      const fx = (x - width / 2) / (width * 0.22);
      const fy = (y - height * 0.38) / (height * 0.2);
      if (fx * fx + fy * fy < 1) c = [224, 172, 140];
      if (y > height * 0.62 && Math.abs(x - width / 2) < width * 0.38) c = [25, 35, 70];
      const i = (y * width + x) * 4;
      data[i] = c[0];
      data[i + 1] = c[1];
      data[i + 2] = c[2];
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ width, height, data }, 90).data);
}

const idNumber = (birth: string, seq: string): string => {
  const body = `440106${birth.replaceAll('-', '')}${seq}`;
  return body + idCheckChar(body);
};

const PHOTO = makePhoto();
const readPhoto = (name: string) => (name.endsWith('.jpg') && !name.startsWith('missing') ? PHOTO : null);
const TODAY = '2025-06-01';
const BOM = '\uFEFF';

const ZHANG = idNumber('1990-03-07', '123');
const LI = idNumber('1985-11-20', '242');
const WANG = idNumber('1992-05-05', '311');
const CHILD = idNumber('2016-08-20', '418'); // 8 on TODAY, female
const TEN = idNumber('2015-01-10', '124'); // 10 on TODAY, female
const BAD_CHECK = ((id) => id.slice(0, 17) + (id.endsWith('0') ? '1' : '0'))(idNumber('1979-09-09', '517'));

// Columns A … Q
const HEADER =
  'name,sex,birth_date,nation,nationality,doc_type,doc_number,phone,channel,id_images,photo,address,' +
  'guardian_name,guardian_doc_type,guardian_doc_number,guardian_nationality,guardian_contact';
const NO_GUARDIAN = ',,,,';

/** The batch of the brief: good rows 2, 7 and 10; every other row has exactly one kind of error. */
const ROWS = [
  /* 2 */ `张三,男,1990-03-07,01,CHN,居民身份证,${ZHANG},13800138000,省卡系统,是,zhang.jpg,,${NO_GUARDIAN}`,
  /* 3 */ `赵六,男,1990-02-30,01,CHN,身份证,${idNumber('1990-02-28', '111')},13800138001,,是,zhao.jpg,,${NO_GUARDIAN}`,
  /* 4 */ `钱七,男,1979-09-09,01,CHN,id,${BAD_CHECK},13800138002,,是,qian.jpg,,${NO_GUARDIAN}`,
  /* 5 */ `孙小红,女,2015-01-10,01,CHN,居民身份证,${TEN},13800138003,,是,sun.jpg,,${NO_GUARDIAN}`,
  /* 6 */ `周八,男,1990-03-07,01,CHN,居民身份证,${idNumber('1990-03-07', '151')},13800138004,抖音,是,zhou.jpg,,${NO_GUARDIAN}`,
  /* 7 */ `李四,女,1985-11-20,01,CHN,居民身份证,${LI},13800138005,银行网点,yes,li.jpg,"广州市天河区体育西路1号, 3楼\r\n""收发室""",${NO_GUARDIAN}`,
  /* 8 */ `王五,男,1992-05-05,01,CHN,居民身份证,${WANG},13800138006,,1,wang.jpg,,${NO_GUARDIAN}`,
  /* 9 */ `王五,男,1992/5/5,1,中国,居民身份证,${WANG.toLowerCase()},13800138007,,是,wang2.jpg,,${NO_GUARDIAN}`,
  /* 10 */ `张小花,女,2016-08-20,01,CHN,居民身份证,${CHILD},13800138008,,是,hua.jpg,,张三,居民身份证,${ZHANG},CHN,13800138000`,
];
const FILE = BOM + [HEADER, ...ROWS].join('\r\n') + '\r\n';

const options = (over: Partial<ImportOptions> = {}) => {
  const issue = vi.fn<(apps: Application[]) => void>();
  const opts: ImportOptions = { today: TODAY, existingCardsFor: () => [], issue, readPhoto, ...over };
  return { opts, issue };
};

const at = (p: { row: number; column: string; cell?: string; rule: string }) =>
  `${p.row} ${p.column} ${p.cell ?? ''} ${p.rule}`;

describe('R11 batch issuance file', () => {
  it('R11: good rows are issued together in one call; each bad row is refused by row and column', () => {
    const { opts, issue } = options();
    const r = importBatch(FILE, opts);
    expect(r.fileProblems).toEqual([]);
    expect(r.rejected.map(at)).toEqual([
      '3 birth_date C3 R11', // 1990-02-30 is not a date
      '4 doc_number G4 R3.3', // wrong check character
      '5 guardian_name M5 R9', // a 10-year-old without the guardian's five elements
      '5 guardian_doc_type N5 R9',
      '5 guardian_doc_number O5 R9',
      '5 guardian_nationality P5 R9',
      '5 guardian_contact Q5 R9',
      '6 channel I6 R6', // unknown channel
      '8 doc_number G8 R7.1', // the same person twice
      '9 doc_number G9 R7.1',
    ]);
    expect(r.rejected[0]!.zh).toContain('1990-02-30');
    expect(r.rejected[7]!.zh).toContain('抖音');
    expect(r.rejected[8]!.zh).toContain('第 8、9 行');
    expect(issue).toHaveBeenCalledTimes(1);
    const apps = issue.mock.calls[0]![0];
    expect(apps.map((a) => a.name)).toEqual(['张三', '李四', '张小花']);
    expect(r).toMatchObject({ issued: 3, issuedRows: [2, 7, 10] });
    expect(apps.every((a) => a.mode === 'batch')).toBe(true);
  });

  it('R11: a quoted field keeps its comma, line break and doubled quotes; cells are read as typed', () => {
    const { rows } = parseBatchFile(FILE, { readPhoto });
    const li = rows.find((r) => r.row === 7)!.application!;
    expect(li.address).toBe('广州市天河区体育西路1号, 3楼\n"收发室"');
    expect(li).toMatchObject({ sex: 'female', channel: 'bank-outlet', idImagesUploaded: true, photo: PHOTO });
    expect(rows.find((r) => r.row === 2)!.application).toMatchObject({ docType: 'id', channel: '省卡系统' });
    // Spreadsheet reformatting: 1992/5/5, nation 1 for 01, 中国 for CHN.
    expect(rows.find((r) => r.row === 9)!.application).toMatchObject({
      birthDate: '1992-05-05',
      nation: '01',
      nationality: 'CHN',
    });
    expect(rows.find((r) => r.row === 10)!.application!.guardian).toEqual({
      name: '张三',
      docType: 'id',
      docNumber: ZHANG,
      nationality: 'CHN',
      contact: '13800138000',
    });
  });

  it('R11: BOM and CRLF are handled: the same file with LF and no BOM gives the same answer', () => {
    const lf = [HEADER, ...ROWS].join('\n').replaceAll('\r\n', '\n');
    const a = importBatch(FILE, options().opts);
    const b = importBatch(lf, options().opts);
    expect(b.rejected.map(at)).toEqual(a.rejected.map(at));
    expect(b.issuedRows).toEqual(a.issuedRows);
    // The BOM is not part of the first header.
    expect(parseBatchFile(FILE, { readPhoto }).columns[0]).toEqual({
      key: 'name',
      header: 'name',
      letter: 'A',
    });
  });

  it('R11: Chinese and bilingual headers are accepted; problems name the header as written', () => {
    const header =
      '姓名*,性别,出生日期(YYYY-MM-DD),民族,国籍/nationality,证件类型,证件号码,手机号码,身份证影像,相片';
    const text = [header, `张三,男,1990-03-07,01,CHN,居民身份证,${ZHANG},13800138000,否,zhang.jpg`].join(
      '\n',
    );
    const r = importBatch(text, options().opts);
    expect(r.rejected).toEqual([
      expect.objectContaining({
        row: 2,
        column: '身份证影像',
        cell: 'I2',
        rule: 'R9',
        field: 'idImagesUploaded',
      }),
    ]);
  });

  it('R9: a column the file lacks is named in both languages', () => {
    const text = [
      'name,sex,birth_date,nation,nationality,doc_type,doc_number,phone,id_images,photo',
      `孙小红,女,2015-01-10,01,CHN,居民身份证,${TEN},13800138003,是,sun.jpg`,
    ].join('\n');
    const r = importBatch(text, options().opts);
    expect(r.rejected.map((p) => p.column)).toEqual([
      '监护人姓名/guardian_name',
      '监护人证件类型/guardian_doc_type',
      '监护人证件号码/guardian_doc_number',
      '监护人国籍/guardian_nationality',
      '监护人联系方式/guardian_contact',
    ]);
    expect(r.rejected[0]!.cell).toBeUndefined();
  });

  it('R9: half a guardian is refused on the empty cells', () => {
    const row = `张小花,女,2016-08-20,01,CHN,居民身份证,${CHILD},13800138008,,是,hua.jpg,,张三,居民身份证,,CHN,`;
    const r = importBatch([HEADER, row].join('\n'), options().opts);
    expect(r.rejected.map(at)).toEqual(['2 guardian_doc_number O2 R9', '2 guardian_contact Q2 R9']);
  });

  it('R12: a Hong Kong applicant in the batch needs the photo receipt number', () => {
    const header =
      'name,sex,birth_date,nation,nationality,doc_type,doc_number,phone,id_images,photo_receipt_number,resident_status_flag';
    const row = (receipt: string) =>
      `陈大文,男,1990-03-07,01,香港,港澳通行证,H12345678,+852 61234567,是,${receipt},否`;
    const without = importBatch([header, row('')].join('\n'), options().opts);
    // Neither a photo nor a receipt number to fetch one by.
    expect(without.rejected.map(at)).toEqual(['2 相片/photo  R8', '2 photo_receipt_number J2 R12']);
    const { opts, issue } = options();
    expect(importBatch([header, row('GD2025000123')].join('\n'), opts).issued).toBe(1);
    expect(issue.mock.calls[0]![0][0]).toMatchObject({
      nationality: 'HKG',
      docType: 'hk-macau-permit',
      photo: null,
    });
  });

  it('R5.2: an applicant with another bank’s card in the same city is refused on the document column', () => {
    const cards = (ssn: string): ExistingCard[] =>
      ssn === ZHANG ? [{ bank: 'other', region: 'same-city' }] : [];
    const { opts, issue } = options({ existingCardsFor: cards });
    const r = importBatch(FILE, opts);
    expect(r.rejected.filter((p) => p.row === 2).map(at)).toEqual([
      '2 doc_number G2 R5.2',
      '2 doc_number G2 R7.4',
    ]);
    expect(issue.mock.calls[0]![0].map((a) => a.name)).toEqual(['李四', '张小花']);
  });

  it('R5.2: warnings on issued rows are passed back', () => {
    const cards = (ssn: string): ExistingCard[] =>
      ssn === LI ? [{ bank: 'this', region: 'other-province' }] : [];
    const r = importBatch(FILE, options({ existingCardsFor: cards }).opts);
    expect(r.issuedRows).toContain(7);
    expect(r.warnings.map(at)).toEqual(['7 doc_number G7 R5.2', '7 doc_number G7 R7.4']);
  });

  it('R7.1: the same person twice is refused even when one of the rows has another error', () => {
    const rows = [
      `王五,男,1992-05-05,01,CHN,居民身份证,${WANG},13800138006,,是,wang.jpg,,${NO_GUARDIAN}`,
      `王五,男,1992-05-05,01,CHN,居民身份证,${WANG},13800138006,抖音,是,wang.jpg,,${NO_GUARDIAN}`,
    ];
    const { opts, issue } = options();
    const r = importBatch([HEADER, ...rows].join('\n'), opts);
    expect(r.rejected.map(at)).toEqual(['2 doc_number G2 R7.1', '3 channel I3 R6', '3 doc_number G3 R7.1']);
    expect(issue).not.toHaveBeenCalled();
  });

  it('R8: photo file names are resolved against the photo folder, without paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sscard-batch-'));
    try {
      writeFileSync(join(dir, 'zhang.jpg'), PHOTO);
      const row = (photo: string) =>
        `张三,男,1990-03-07,01,CHN,居民身份证,${ZHANG},13800138000,,是,${photo},,${NO_GUARDIAN}`;
      const parse = (photo: string, opts: ParseOptions = { photoDir: dir }) =>
        parseBatchFile([HEADER, row(photo)].join('\n'), opts).rows[0]!;
      expect(parse('zhang.jpg').application!.photo).toEqual(PHOTO);
      expect(parse('li.jpg').problems.map(at)).toEqual(['2 photo K2 R8']);
      expect(parse('../zhang.jpg').problems[0]!.zh).toContain('不能含路径');
      expect(parse('zhang.jpg', {}).problems[0]!.en).toContain('no photo folder');
      // No photo for an adult: R8 from validation.
      const r = importBatch([HEADER, row('')].join('\n'), options().opts);
      expect(r.rejected).toEqual([
        expect.objectContaining({
          row: 2,
          cell: 'K2',
          rule: 'R8',
          field: 'photo',
          en: expect.stringContaining('required'),
        }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('R11: a malformed CSV (unterminated quote) is refused as a whole with its line', () => {
    const text = [HEADER, ROWS[0], `"李四,女,1985-11-20`, ROWS[2]].join('\r\n');
    const { opts, issue } = options();
    const r = importBatch(text, opts);
    expect(r.fileProblems).toEqual([expect.objectContaining({ line: 3 })]);
    expect(r.fileProblems[0]!.en).toContain('never closed');
    expect(r).toMatchObject({ issued: 0, rejected: [] });
    expect(issue).not.toHaveBeenCalled();
  });

  it('R11: stray quotes are refused with their line, counting lines inside quoted fields', () => {
    expect(parseCsv('a,b\n"x\ny"z,1\n')).toMatchObject({ ok: false, line: 3 });
    expect(parseCsv('a,b\nx,"1"\nab"c,2\n')).toMatchObject({ ok: false, line: 3 });
  });

  it('R11: an empty file, a BOM alone, or a header with no applicants is a file problem', () => {
    for (const text of ['', BOM, '\r\n\r\n', ',,,\n']) {
      const r = importBatch(text, options().opts);
      expect(r.fileProblems).toEqual([{ line: null, zh: '文件为空', en: 'The file is empty' }]);
    }
    for (const text of [HEADER, `${BOM}${HEADER}\r\n`, `${HEADER}\n\n,,,,,,,,,,,,,,,,\n`]) {
      const r = importBatch(text, options().opts);
      expect(r.fileProblems[0]!.zh).toBe('文件只有表头，没有申请人数据');
    }
  });

  it('R11: unknown, repeated or missing columns are refused before any row', () => {
    const r = parseBatchFile('name,sex,sex,colour\n张三,男,男,red\n', {});
    expect(r.rows).toEqual([]);
    const text = r.fileProblems.map((p) => p.en).join('\n');
    expect(text).toContain("'sex' repeats column B");
    expect(text).toContain("'colour' is not a column");
    expect(text).toContain("'doc_number' (证件号码) is missing");
  });

  it('R11: a row with the wrong number of fields, or a GBK-saved file, is named', () => {
    const r = importBatch([HEADER, `张三,男,1990-03-07,01,CHN`].join('\n'), options().opts);
    expect(r.rejected.map(at)).toEqual(['2   R11']);
    const gbk = importBatch(`${HEADER}\n\uFFFD\uFFFD,男\n`, options().opts);
    expect(gbk.fileProblems).toEqual([
      expect.objectContaining({ line: 2, en: expect.stringContaining('UTF-8') }),
    ]);
  });

  it('R11: blank lines are skipped but still counted as spreadsheet rows', () => {
    const r = importBatch([HEADER, ROWS[0], '', ROWS[2]].join('\n'), options().opts);
    expect(r.rejected.map(at)).toEqual(['4 doc_number G4 R3.3']);
    expect(r.issuedRows).toEqual([2]);
  });

  it('R11: issue failing (the caller’s transaction rolls back) propagates', () => {
    const { opts } = options({
      issue: () => {
        throw new Error('disk full');
      },
    });
    expect(() => importBatch(FILE, opts)).toThrow('disk full');
  });

  it('R11: parseCsv follows RFC 4180', () => {
    expect(parseCsv('a,"b,c","d""e"\r\n,"",\r\n"x\r\ny",z')).toEqual({
      ok: true,
      records: [
        { fields: ['a', 'b,c', 'd"e'], line: 1 },
        { fields: ['', '', ''], line: 2 },
        { fields: ['x\ny', 'z'], line: 3 },
      ],
    });
    expect(parseCsv('a\rb\n')).toEqual({
      ok: true,
      records: [
        { fields: ['a'], line: 1 },
        { fields: ['b'], line: 2 },
      ],
    });
  });
});
