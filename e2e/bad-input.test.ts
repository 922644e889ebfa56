import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-for-test.ts';
import { createCore, toFailure, type Core } from '../core/api/create-core.ts';
import type { ArgsOf } from '../core/api/contract.ts';
import { loadProfile, ProfileError } from '../core/card/profile.ts';
import { loadScenario, formatIssue } from '../core/scenario/load.ts';
import { importBatch } from '../core/bank/batch.ts';
import { checkPhoto } from '../core/rules/photo.ts';
import { openPosSystem } from '../core/pos/pos-system.ts';
import { runPayment } from '../core/pos/run-payment.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { cardNumberCheckChar } from '../core/rules/card-number.ts';
import type { VirtualReader } from '../device/virtual-reader.ts';

/*
 * Bad input, one table: every entry point a user has (the sscard CLI, the typed Api, the
 * loaders of card profiles, scenarios, batch files and photos) given broken, hostile or absurd
 * input. Each row says what comes back (exit code, Api error code, refusal rule) and which
 * field the message must name; and each proves nothing was written: a digest of every table's
 * rows in the ledger before and after, and no file left behind (no partial trace or report).
 * No message may echo a PIN given in the input.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SQL = "'; DROP TABLE cards;--";

interface Outcome {
  /** CLI exit code, Api error code, or what the loader returned. */
  code: number | string;
  message: string;
}

interface Ctx {
  dir: string;
  /** A ledger with the bundled gen 3 card imported and one payment made. */
  db: string;
  core: Core;
  paymentId: string;
  file(name: string, content: string | Uint8Array): string;
}

interface Row {
  /** Group: what kind of input. */
  input: string;
  name: string;
  entry: 'cli' | 'api' | 'loader';
  run(c: Ctx): Promise<Outcome> | Outcome;
  code: number | string;
  /** The message must name the field (and where it is). */
  field: RegExp;
  /** A PIN in the input that the message must not echo. */
  secret?: string;
  /**
   * Valid but hostile input (SQL metacharacters in a name): handled literally. The check runs
   * instead of "nothing written".
   */
  literally?: (c: Ctx, conn: Database.Database) => void;
}

// ---- inputs ---------------------------------------------------------------------------------

const PROFILE = JSON.parse(readFileSync(join(ROOT, 'fixtures/cards/gen3-active.json'), 'utf8')) as Record<
  string,
  unknown
>;

/** Raw profile JSON, any field of it set to anything (that is the point): typed loosely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RawProfile = Record<string, any>;

function profile(change: (p: RawProfile) => void): string {
  const p = structuredClone(PROFILE) as RawProfile;
  delete p.$schema;
  change(p);
  return JSON.stringify(p, null, 2);
}

const APPLICATION = JSON.parse(
  readFileSync(join(ROOT, 'fixtures/applications/adult-mainland.json'), 'utf8'),
) as Record<string, unknown>;
const PHOTO = readFileSync(join(ROOT, 'fixtures/applications/photo-358x441.jpg'));

function application(c: Ctx, change: Record<string, unknown>, photo: Uint8Array = PHOTO): string {
  const photoFile = c.file('applicant.jpg', photo);
  return c.file('application.json', JSON.stringify({ ...APPLICATION, photoFile, ...change }));
}

function form(change: Record<string, unknown>): ArgsOf<'counterApply'> {
  const { photoFile: _p, ...rest } = APPLICATION;
  return { ...(rest as ArgsOf<'counterApply'>), photoJpegBase64: PHOTO.toString('base64'), ...change };
}

/** A JPEG frame header only: SOI, SOF0 with the given size, EOI (nothing to decode). */
function jpegDeclaring(width: number, height: number): Uint8Array {
  return Uint8Array.from([
    0xff,
    0xd8,
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x03,
    0x01,
    0x22,
    0x00,
    0x02,
    0x11,
    0x01,
    0x03,
    0x11,
    0x01,
    0xff,
    0xd9,
  ]);
}
const PNG = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);
const GIF = new TextEncoder().encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;');
const CORRUPT_JPEG = Uint8Array.from([
  0xff,
  0xd8,
  0xff,
  0xe0,
  0x00,
  0x10,
  ...new Array<number>(40).fill(0x5a),
]);

const BATCH_HEADER = '姓名,性别,出生日期,民族,国籍,证件类型,证件号码,手机,身份证影像,相片\n';
const batchRow = (name: string, photo = 'applicant.jpg') =>
  `${BATCH_HEADER}${name},男,1992-03-15,01,CHN,身份证,440106199203154314,13800138000,是,${photo}\n`;

function batch(c: Ctx, text: string | Uint8Array, photo: Uint8Array = PHOTO): string {
  c.file('applicant.jpg', photo);
  return c.file('batch.csv', text);
}

const scenario = (steps: string, header = 'card: gen3-active') =>
  `name: a broken scenario\n${header}\nsteps:\n${steps}`;

// ---- entry points ---------------------------------------------------------------------------

async function sscard(...argv: string[]): Promise<Outcome> {
  const r = await cli(...argv);
  return { code: r.code, message: `${r.out}\n${r.err}` };
}

async function api(c: Ctx, method: string, args: unknown): Promise<Outcome> {
  try {
    const r = await c.core.call(method, args);
    const o = r as { ok?: boolean; rule?: string; message?: { code: string } };
    // Refusals are answers, not exceptions: their rule (or the till's message code) is the code.
    return {
      code: o.ok === false ? `refused ${o.rule}` : (o.message?.code ?? 'ok'),
      message: JSON.stringify(r),
    };
  } catch (e) {
    const f = toFailure(e);
    return { code: f.code, message: JSON.stringify(f) };
  }
}

function loaded(fn: () => { code: string; message: string }): Outcome {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProfileError) return { code: 'ProfileError', message: e.message };
    return { code: `threw ${(e as Error).name}`, message: String(e) };
  }
}

// ---- the table ------------------------------------------------------------------------------

const ROWS: Row[] = [
  // Card profile fixtures (sscard --card <file>, and the loader).
  ...(
    [
      [
        'bad JSON',
        '{\n  "id": "x",\n  "pin": "258014"\n  "generation": 3\n}',
        /line 4, column \d+: not valid JSON/,
      ],
      ['generation as text', profile((p) => (p.generation = '3')), /: generation: must be 1, 2 or 3/],
      ['unknown generation 4', profile((p) => (p.generation = 4)), /: generation: must be 1, 2 or 3/],
      [
        'card number check character',
        profile((p) => (p.card.number = 'C44010047')),
        /: card\.number: check character/,
      ],
      [
        'SSN check character',
        profile((p) => (p.holder.ssn = '440111198511301512')),
        /: holder\.ssn: check character/,
      ],
      [
        'holder name with an emoji (not GBK)',
        profile((p) => (p.holder.name = '陈😀')),
        /: holder\.name: .*GBK/,
      ],
      [
        'holder name with a CJK ext-B character',
        profile((p) => (p.holder.name = '陈𠀀')),
        /: holder\.name: .*GBK/,
      ],
      [
        'holder name with a NUL',
        profile((p) => (p.holder.name = '陈\u0000明')),
        /: holder\.name: must not contain control characters/,
      ],
      [
        'not JSON at all (its bytes never echoed)',
        'root:x:0:0:root:/root:/bin/bash\n',
        /card\.json: line 1, column 1: not valid JSON \(expected a value/,
      ],
      ['id with SQL metacharacters', profile((p) => (p.id = `x${SQL}`)), /: id: must be lowercase/],
      [
        'balance over 2^53 fen',
        profile((p) => (p.accounts.reserveFen = 2 ** 53 + 2)),
        /: accounts\.reserveFen: .*too large/,
      ],
      [
        'negative balance',
        profile((p) => (p.accounts.medicalCurrentFen = -1)),
        /: accounts\.medicalCurrentFen: must not be negative/,
      ],
      [
        'fractional fen',
        profile((p) => (p.accounts.medicalPriorFen = 0.5)),
        /: accounts\.medicalPriorFen: must be a whole number of fen/,
      ],
      ['PIN not six digits', profile((p) => (p.pin = '2580149')), /: pin: must be six digits/],
    ] as const
  ).flatMap(([name, text, field]): Row[] => [
    {
      input: 'card profile',
      name,
      entry: 'cli',
      run: (c) => sscard('read', '--card', c.file('card.json', text), '--db', c.db),
      code: 1,
      field,
      secret: '258014',
    },
    {
      input: 'card profile',
      name,
      entry: 'loader',
      run: (c) => loaded(() => (loadProfile(c.file('card.json', text)), { code: 'loaded', message: '' })),
      code: 'ProfileError',
      field,
      secret: '258014',
    },
  ]),
  {
    input: 'card profile',
    name: 'holder name with SQL metacharacters: a valid GBK name, stored as written',
    entry: 'cli',
    run: (c) =>
      sscard(
        'read',
        '--card',
        c.file(
          'card.json',
          profile((p) => {
            p.id = 'sql-name';
            p.holder.name = SQL;
            p.card.number = `C4401900${cardNumberCheckChar('C4401900')}`;
          }),
        ),
        '--db',
        c.db,
      ),
    code: 0,
    field: /'; DROP TABLE cards;--/,
    literally: (_c, conn) => {
      expect(conn.prepare('SELECT holder_name FROM cards WHERE holder_name = ?').get(SQL)).toEqual({
        holder_name: SQL,
      });
    },
  },

  // Scenario files (sscard run, and the loader): file:line:column field: problem.
  ...(
    [
      [
        'YAML syntax error',
        scenario('  - insert\n  - amount: "1.00\n'),
        /scenario\.yaml:6:1: YAML: Missing closing "quote/,
      ],
      [
        'unknown step',
        scenario('  - insert\n  - amout: "1.00"\n'),
        /scenario\.yaml:5:5: steps\[1\]\.amout: unknown step 'amout' \(did you mean 'amount'\?\)/,
      ],
      [
        'amount with three decimals',
        scenario('  - insert\n  - amount: "1.234"\n'),
        /scenario\.yaml:5:13: steps\[1\]\.amount: must be yuan with at most two decimals/,
      ],
      [
        'amount negative',
        scenario('  - insert\n  - amount: "-1"\n'),
        /scenario\.yaml:5:13: steps\[1\]\.amount: must be yuan/,
      ],
      [
        'amount over 2^53 fen',
        scenario('  - insert\n  - amount: "90071992547409.93"\n'),
        /scenario\.yaml:5:13: steps\[1\]\.amount: must be yuan/,
      ],
      [
        'refund as a bare float',
        scenario('  - insert\n  - refund: 12.5\n'),
        /scenario\.yaml:5:13: steps\[1\]\.refund: must be yuan as text in quotes/,
      ],
      [
        'PIN in the wrong shape',
        scenario('  - insert\n  - pin: "258014x"\n'),
        /scenario\.yaml:5:10: steps\[1\]\.pin: must be the PIN as 1 to 12 digits/,
      ],
      [
        'counter PIN as a bare number',
        scenario('  - counter: { action: change-pin, old: 258014, new: "917350" }\n'),
        /scenario\.yaml:4:\d+: steps\[0\]\.counter\.old: must be the old PIN as six digits in quotes/,
      ],
      ['unknown card', scenario('  - insert\n', `card: x${SQL}`), /scenario\.yaml:2:7: card: /],
      [
        'YAML alias bomb',
        scenario(
          '  - insert\n',
          [
            'card: gen3-active',
            'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
            ...Array.from(
              { length: 8 },
              (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`,
            ),
          ].join('\n'),
        ),
        /scenario\.yaml:4:\d+: YAML: its aliases \(\*name\) expand too far/,
      ],
      [
        'card: a file that is not a card file',
        scenario('  - insert\n', 'card: /etc/passwd'),
        /scenario\.yaml:2:7: card: card file \/etc\/passwd: a card profile file must end in \.json/,
      ],
      [
        "card: a .json outside the scenario's folder",
        scenario('  - insert\n', 'card: ../../../../../../../../etc/x.json'),
        /scenario\.yaml:2:7: card: card file .*x\.json is outside the scenario's folder/,
      ],
      [
        'inline card with a bad SSN',
        scenario(
          '  - insert\n',
          `card: ${profile((p) => (p.holder.ssn = '440111198511301512')).replace(/\n\s*/g, ' ')}`,
        ),
        /scenario\.yaml:2:\d+: card(\.holder\.ssn)?: .*holder\.ssn.*check character|scenario\.yaml:2:\d+: card\.holder\.ssn: check character/,
      ],
    ] as const
  ).flatMap(([name, text, field]): Row[] => [
    {
      input: 'scenario file',
      name,
      entry: 'cli',
      run: (c) => sscard('run', c.file('scenario.yaml', text), '--trace', join(c.dir, 'traces')),
      code: 1,
      field,
      secret: '258014',
    },
    {
      input: 'scenario file',
      name,
      entry: 'loader',
      run: (c) =>
        loaded(() => {
          const r = loadScenario(c.file('scenario.yaml', text));
          return r.ok
            ? { code: 'loaded', message: '' }
            : { code: 'invalid', message: r.issues.map(formatIssue).join('\n') };
        }),
      code: 'invalid',
      field,
      secret: '258014',
    },
  ]),

  // Batch files for the counter (docs/batch-format.md): exit 2, nothing issued.
  ...(
    [
      ['empty file', '', /The file is empty/],
      ['unclosed quote', `${BATCH_HEADER}"张三,男\n`, /line 2: .*quoted field is never closed/],
      ['unknown column', '姓名,性别,鞋码\n张三,男,42\n', /鞋码/],
      [
        'GBK-encoded file',
        Buffer.from([...Buffer.from('xingming,sex\n'), 0xd5, 0xc5, 0xc8, 0xfd, 0x2c, 0x31, 0x0a]),
        /UTF-8|GBK/,
      ],
      ['name with an emoji', batchRow('张😀'), /row 2, 姓名: .*GBK/],
      ['name with a CJK ext-B character', batchRow('张𠀀'), /row 2, 姓名: .*GBK/],
      ['photo column with a path', batchRow('张三', '../applicant.jpg'), /row 2, 相片: .*without a path/],
    ] as const
  ).flatMap(([name, text, field]): Row[] => [
    {
      input: 'batch file',
      name,
      entry: 'cli',
      run: (c) => sscard('counter', 'batch-import', batch(c, text), '--db', c.db),
      code: 2,
      field,
    },
    {
      input: 'batch file',
      name,
      entry: 'loader',
      run: (c) => {
        const f = batch(c, text);
        let issued = 0;
        const b = importBatch(readFileSync(f, 'utf8'), {
          photoDir: c.dir,
          today: '2026-03-01',
          existingCardsFor: () => [],
          issue: (apps) => void (issued += apps.length),
        });
        const problems = [
          ...b.fileProblems.map((p) => `${p.line ? `line ${p.line}: ` : ''}${p.en}`),
          ...b.rejected.map((p) => `row ${p.row}, ${p.column}: ${p.en}`),
        ];
        return {
          code: issued ? 'issued' : problems.length ? 'rejected' : 'nothing',
          message: problems.join('\n'),
        };
      },
      code: 'rejected',
      field,
    },
  ]),
  {
    input: 'batch file',
    name: 'photo that is a PNG named .jpg',
    entry: 'cli',
    run: (c) => sscard('counter', 'batch-import', batch(c, batchRow('张三'), PNG), '--db', c.db),
    code: 2,
    field: /row 2, 相片: .*JPG\/JPEG \(this file is PNG\)/,
  },
  {
    input: 'batch file',
    name: "name with SQL metacharacters ('; DROP TABLE …--): issued under that name, never executed",
    entry: 'cli',
    run: (c) => sscard('counter', 'batch-import', batch(c, batchRow(SQL)), '--db', c.db),
    code: 0,
    field: /批量制卡 issued 1 \(rows 2\)/,
    literally: (_c, conn) => {
      expect(conn.prepare('SELECT holder_name FROM cards WHERE holder_name = ?').all(SQL)).toHaveLength(1);
      expect(conn.prepare('SELECT name FROM bank_applications WHERE name = ?').all(SQL)).toHaveLength(1);
    },
  },

  // Photos: the counter's check (CLI, Api, the rule itself) and an application that carries one.
  ...(
    [
      ['corrupt JPEG', CORRUPT_JPEG, 'R8.readable', 'The photo file is corrupt'],
      [
        'huge declared dimensions (65535×65535)',
        jpegDeclaring(65535, 65535),
        'R8.size',
        'must be 358×441 pixels \\(this one is 65535×65535\\)',
      ],
      [
        'truncated JPEG',
        PHOTO.subarray(0, 2000),
        'R8.readable',
        'The photo file is incomplete \\(truncated\\)',
      ],
      ['PNG named .jpg', PNG, 'R8.format', 'must be JPG/JPEG \\(this file is PNG\\)'],
      ['GIF named .jpg', GIF, 'R8.format', 'must be JPG/JPEG \\(this file is GIF\\)'],
      [
        'text named .jpg',
        new TextEncoder().encode('not a photo\n'),
        'R8.format',
        'must be JPG/JPEG \\(this file is not an image format we know\\)',
      ],
      ['empty file', new Uint8Array(0), 'R8.required', 'A photo is required'],
    ] as const
  ).flatMap(([name, bytes, rule, en]): Row[] => [
    {
      input: 'photo',
      name,
      entry: 'cli',
      run: (c) => sscard('counter', 'check-photo', c.file('photo.jpg', bytes)),
      code: 2,
      field: new RegExp(`✘ ${rule.replace('.', '\\.')} .* ${en}`),
    },
    {
      input: 'photo',
      name,
      entry: 'loader',
      run: () => {
        const r = checkPhoto(bytes);
        return {
          code: r.ok ? 'ok' : 'refused',
          message: r.problems.map((p) => `${p.rule} ${p.en}`).join('\n'),
        };
      },
      code: 'refused',
      field: new RegExp(`^${rule.replace('.', '\\.')} .*${en}`),
    },
    {
      input: 'photo',
      name: `${name}, in an application`,
      entry: 'cli',
      run: async (c) => sscard('counter', 'apply', '--application', application(c, {}, bytes), '--db', c.db),
      code: 2,
      // The application names the field (photo) and the rule group (R8).
      field: new RegExp(`✘ R8\\s+photo: .* ${en}`),
    },
  ]),
  {
    input: 'photo',
    name: 'not base64 (Api)',
    entry: 'api',
    run: (c) => api(c, 'counterCheckPhoto', { photoJpegBase64: 'data:image/jpeg;base64,/9j/' }),
    code: 'BAD_ARGUMENTS',
    field: /photoJpegBase64: base64/,
  },
  {
    input: 'photo',
    name: 'corrupt JPEG in an application (Api)',
    entry: 'api',
    run: (c) =>
      api(c, 'counterApply', form({ photoJpegBase64: Buffer.from(CORRUPT_JPEG).toString('base64') })),
    code: 'refused R8',
    field: /"field":"photo".*The photo file is corrupt/,
  },

  // Names not encodable in GBK, at the counter.
  {
    input: 'name not in GBK',
    name: 'emoji (Api)',
    entry: 'api',
    run: (c) => api(c, 'counterApply', form({ name: '赵😀' })),
    code: 'refused R9',
    field: /"field":"name".*not in GBK/,
  },
  {
    input: 'name not in GBK',
    name: 'CJK ext-B (CLI)',
    entry: 'cli',
    run: (c) => sscard('counter', 'apply', '--application', application(c, { name: '赵𠀀' }), '--db', c.db),
    code: 2,
    field: /name: .*not in GBK/,
  },

  // SQL metacharacters in ids and names: literal text, never SQL.
  {
    input: 'SQL metacharacters',
    name: 'card id (sscard pay --card)',
    entry: 'cli',
    run: (c) => sscard('pay', '--card', SQL, '--amount', '1.00', '--pin', '258014', '--db', c.db),
    code: 1,
    field: /named ''; DROP TABLE cards;--'/,
    secret: '258014',
  },
  {
    input: 'SQL metacharacters',
    name: 'card id (sscard counter progress --card-id)',
    entry: 'cli',
    run: (c) => sscard('counter', 'progress', '--card-id', SQL, '--db', c.db),
    code: 1,
    field: /no card '; DROP TABLE cards;--/,
  },
  ...(
    [
      ['balances', { cardId: SQL }, 'NOT_FOUND', /no card '; DROP TABLE cards;--/],
      ['payments', { cardId: SQL }, 'NOT_FOUND', /no card '; DROP TABLE cards;--/],
      ['insertCard', { cardId: SQL }, 'NOT_FOUND', /no card '; DROP TABLE cards;--/],
      ['counterReportLoss', { cardId: SQL }, 'NOT_FOUND', /no card '; DROP TABLE cards;--/],
      ['payment', { paymentId: `x${SQL}` }, 'NOT_FOUND', /no transaction x'; DROP TABLE cards;--/],
      ['refund', { paymentId: `x${SQL}`, amountFen: 1 }, 'CONFLICT', /no payment x'; DROP TABLE cards;--/],
    ] as const
  ).map(([method, args, code, field]): Row => ({
    input: 'SQL metacharacters',
    name: `${method} ${Object.keys(args)[0]} (Api)`,
    entry: 'api',
    run: (c) => api(c, method, args),
    code,
    field,
  })),
  {
    input: 'SQL metacharacters',
    name: 'applicant name and address (Api): accepted, stored as written',
    entry: 'api',
    run: (c) => api(c, 'counterApply', form({ name: `Zhao${SQL}`, address: `广州市${SQL}` })),
    code: 'ok',
    field: /"ok":true/,
    literally: (_c, conn) => {
      expect(
        conn.prepare('SELECT name FROM bank_applications WHERE name = ?').all(`Zhao${SQL}`),
      ).toHaveLength(1);
      const row = conn
        .prepare('SELECT count(*) AS n FROM bank_applications WHERE application_json LIKE ?')
        .get(`%广州市${SQL}%`) as { n: number };
      expect(row.n).toBe(1);
      expect(conn.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'cards'").get()).toEqual({
        n: 1,
      });
    },
  },
  {
    input: 'SQL metacharacters',
    name: 'merchant name (openPosSystem): printed on the receipt and kept as written',
    entry: 'loader',
    run: async (c) => {
      const pos = openPosSystem({ dbPath: c.db, merchantName: `药房${SQL}` });
      try {
        const t = pos.terminal;
        t.start();
        (pos.reader as VirtualReader).insert(pos.register(resolveCard('gen3-active').profile));
        const r = await runPayment(t, { amountFen: 100, method: 'medical', pin: '258014' });
        (pos.reader as VirtualReader).remove();
        await t.settled(5000);
        return { code: r.approved ? 'approved' : 'declined', message: r.outcome?.receiptText ?? '' };
      } finally {
        pos.close();
      }
    },
    code: 'approved',
    field: /商户名称\s+药房'; DROP TABLE cards;--/,
    literally: (_c, conn) => {
      expect(conn.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'cards'").get()).toEqual({
        n: 1,
      });
      const p = conn
        .prepare('SELECT receipt_text FROM terminal_payments WHERE receipt_text LIKE ?')
        .get(`%药房'; DROP TABLE cards;--%`);
      expect(p).toBeDefined();
    },
  },

  // Absurd amounts: the CLI, the till through the Api, refunds.
  ...(
    [
      ['0', /--amount must be more than 0/],
      ['-1', /'--amount'/],
      ['0.001 (fractional fen)', /--amount must be yuan with at most two decimals/],
      ['NaN', /--amount must be yuan/],
      ['twelve', /--amount must be yuan/],
      ['1e5', /--amount must be yuan/],
      ['90071992547409.93 (over 2^53 fen)', /--amount must be yuan/],
      ['10000000 (over the till limit)', /--amount must be at most 9999999\.99 yuan/],
    ] as const
  ).map(([amount, field]): Row => ({
    input: 'absurd amount',
    name: `sscard pay --amount ${amount}`,
    entry: 'cli',
    run: (c) =>
      sscard(
        'pay',
        '--card',
        'gen3-active',
        '--amount',
        amount.split(' ')[0]!,
        '--pin',
        '258014',
        '--db',
        c.db,
      ),
    code: 64,
    field,
    secret: '258014',
  })),
  {
    input: 'absurd amount',
    name: 'sscard pay over the reserve balance: declined, nothing booked',
    entry: 'cli',
    run: (c) =>
      sscard(
        'pay',
        '--card',
        'gen3-active',
        '--amount',
        '5000',
        '--method',
        'reserve',
        '--pin',
        '369258',
        '--db',
        c.db,
      ),
    code: 2,
    field: /Insufficient funds: reserve account of card C44010048 has 2000\.00 yuan, 5000\.00 yuan needed/,
    secret: '369258',
  },
  ...(
    [
      [0, /amountFen: Too small/],
      [-1, /amountFen: Too small/],
      [1.5, /amountFen: Invalid input: expected int/],
      [2 ** 53, /amountFen: Too big/],
      [2 ** 53 + 2, /amountFen: Too big/],
      [1_000_000_000, /amountFen: Too big/],
      [Number.NaN, /amountFen: .*NaN/],
      [Number.POSITIVE_INFINITY, /amountFen: .*Infinity/],
      ['1250', /amountFen: Invalid input: expected number, received string/],
    ] as const
  ).flatMap(([amountFen, field]): Row[] => [
    {
      input: 'absurd amount',
      name: `enterAmount amountFen ${String(amountFen)} (Api)`,
      entry: 'api',
      run: (c) => api(c, 'enterAmount', { amountFen, method: 'medical' }),
      code: 'BAD_ARGUMENTS',
      field,
    },
    {
      input: 'absurd amount',
      name: `refund amountFen ${String(amountFen)} (Api)`,
      entry: 'api',
      run: (c) => api(c, 'refund', { paymentId: c.paymentId, amountFen }),
      code: amountFen === 1_000_000_000 ? 'CONFLICT' : 'BAD_ARGUMENTS',
      field: amountFen === 1_000_000_000 ? /refund of 1000000000 fen exceeds the 100 fen left/ : field,
    },
  ]),
  {
    input: 'absurd amount',
    name: 'refund more than was paid (Api)',
    entry: 'api',
    run: (c) => api(c, 'refund', { paymentId: c.paymentId, amountFen: 101 }),
    code: 'CONFLICT',
    field: /refund of 101 fen exceeds the 100 fen left of payment T0001-/,
  },
  {
    input: 'absurd amount',
    name: 'over the reserve balance at the till (Api): declined, nothing booked',
    entry: 'api',
    run: async (c) => {
      await c.core.call('insertCard', { cardId: 'gen3-active' });
      await c.core.call('enterAmount', { amountFen: 500_000, method: 'reserve' });
      const r = await api(c, 'enterPin', { pin: '369258' });
      await c.core.call('removeCard', {});
      return r;
    },
    code: 'INSUFFICIENT_FUNDS',
    field: /reserve account of card C44010048 has 2000\.00 yuan, 5000\.00 yuan needed/,
    secret: '369258',
  },

  // PINs in the wrong shape: refused without echoing them.
  {
    input: 'PIN shape',
    name: 'enterPin with seven digits (Api)',
    entry: 'api',
    run: async (c) => {
      await c.core.call('insertCard', { cardId: 'gen3-active' });
      await c.core.call('enterAmount', { amountFen: 100, method: 'medical' });
      const r = await api(c, 'enterPin', { pin: '2580149' });
      await c.core.call('removeCard', {});
      return r;
    },
    code: 'BAD_ARGUMENTS',
    field: /pin: the PIN pad sends six digits/,
    secret: '258014',
  },
  {
    input: 'PIN shape',
    name: 'counterChangePin newPin with a letter (Api)',
    entry: 'api',
    run: (c) => api(c, 'counterChangePin', { cardId: 'gen3-active', oldPin: '258014', newPin: '91735x' }),
    code: 'BAD_ARGUMENTS',
    field: /newPin: a PIN is six digits/,
    secret: '258014',
  },
  {
    input: 'PIN shape',
    name: 'sscard counter change-pin --new with a letter',
    entry: 'cli',
    run: (c) =>
      sscard(
        'counter',
        'change-pin',
        '--card',
        'gen3-active',
        '--db',
        c.db,
        '--old',
        '258014',
        '--new',
        '91735x',
      ),
    code: 64,
    field: /--new must be six digits/,
    secret: '258014',
  },
  {
    input: 'PIN shape',
    name: 'sscard pay --pin with a letter',
    entry: 'cli',
    run: (c) => sscard('pay', '--card', 'gen3-active', '--amount', '1.00', '--pin', '258014x', '--db', c.db),
    code: 64,
    field: /--pin must be 4 to 12 digits/,
    secret: '258014',
  },
];

// ---- nothing written ------------------------------------------------------------------------

/** Every table's rows, as a digest per table (the schema included). */
function ledgerDigest(db: string): Record<string, string> {
  const conn = new Database(db, { readonly: true });
  try {
    const out: Record<string, string> = {};
    const tables = conn
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index', 'trigger') ORDER BY name",
      )
      .all() as { name: string; sql: string | null }[];
    for (const t of tables) {
      const rows = t.sql?.startsWith('CREATE TABLE') ? conn.prepare(`SELECT * FROM "${t.name}"`).all() : [];
      out[t.name] = createHash('sha256')
        .update(`${t.sql}\n${JSON.stringify(rows)}`)
        .digest('hex')
        .slice(0, 16);
    }
    return out;
  } finally {
    conn.close();
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory())
      out.push(`${relative(dir, p)}/`, ...listFiles(p).map((f) => join(name, f)));
    else out.push(name);
  }
  return out.sort();
}

// ---- the test -------------------------------------------------------------------------------

describe('bad input: one table of every entry point × broken, hostile and absurd input', () => {
  let root: string;
  let template: string;
  let apiDb: string;
  let core: Core;
  let paymentId: string;
  let n = 0;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sscard-bad-input-'));
    template = join(root, 'template.db');
    const paid = await cli(
      'pay',
      '--card',
      'gen3-active',
      '--amount',
      '1.00',
      '--pin',
      '258014',
      '--db',
      template,
      '--json',
    );
    expect(paid.code).toBe(0);
    paymentId = (JSON.parse(paid.out) as { paymentId: string }).paymentId;
    apiDb = join(root, 'api.db');
    copyFileSync(template, apiDb);
    core = await createCore({ dbPath: apiDb, hostTimeoutMs: 1500 });
  });

  afterAll(async () => {
    await core?.close();
  });

  it.each(ROWS.map((r) => [`${r.input} → ${r.entry}: ${r.name}`, r] as const))('%s', async (_title, row) => {
    const dir = join(root, `row-${++n}`);
    mkdirSync(dir);
    const db = row.entry === 'api' ? apiDb : join(dir, 'ledger.db');
    if (row.entry !== 'api') copyFileSync(template, db);
    const inputs = new Set<string>();
    const c: Ctx = {
      dir,
      db,
      core,
      paymentId,
      file(name, content) {
        const f = join(dir, name);
        writeFileSync(f, content);
        inputs.add(name);
        return f;
      },
    };
    // What is in the folder apart from the inputs the row wrote and the ledger's -wal/-shm.
    const outputs = () => listFiles(dir).filter((f) => !inputs.has(f) && !/ledger\.db-(wal|shm)$/.test(f));
    const before = ledgerDigest(db);
    const filesBefore = outputs();

    const out = await row.run(c);

    expect({ code: out.code, message: out.message }).toMatchObject({ code: row.code });
    // Messages are Chinese then English on the next line: matched as one line.
    expect(out.message.replace(/\s*\n\s*/g, ' ')).toMatch(row.field);
    expect(out.message).not.toMatch(/unexpected error|INTERNAL|at .*\.ts:\d+/);
    if (row.secret) expect(out.message).not.toContain(row.secret);
    if (row.literally) {
      const conn = new Database(db, { readonly: true });
      try {
        row.literally(c, conn);
      } finally {
        conn.close();
      }
    } else {
      expect(ledgerDigest(db)).toEqual(before);
      // No file left behind (no partial trace, report or export): the folder is as it was.
      expect(outputs()).toEqual(filesBefore);
    }
  });
});
