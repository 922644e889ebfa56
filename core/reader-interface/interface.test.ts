import { afterEach, describe, expect, it } from 'vitest';
import { openLab, type Lab } from '../../test/harness/reader-interface/session.ts';
import { RC, describeCode } from './codes.ts';
import { READER_FUNCTIONS, READER_FUNCTION_PARAMS } from './functions.ts';
import { createReaderInterface } from './interface.ts';
import { parseSettings, SettingsError } from './settings.ts';
import { seededRandom } from '../random.ts';

/** The dispatcher: malformed requests answer -13/-14 and never throw; one call at a time. */
let lab: Lab | null = null;
afterEach(() => {
  lab?.pos.close();
  lab = null;
});
const open = (...a: Parameters<typeof openLab>) => (lab = openLab(...a));

describe('call()', () => {
  it('answers an unknown function with -13, naming it', async () => {
    const { ri } = open('gen1');
    for (const name of ['iFormatCard', 'toString', '__proto__', 'iReadCardBas_HSM_Step3'])
      expect(await ri.call({ function: name, iType: 1 })).toMatchObject({
        functionName: name,
        code: RC.UNSUPPORTED,
        pOutInfo: '',
      });
  });

  it('answers malformed requests with -14 and a reason, never throwing', async () => {
    const { ri } = open('gen1');
    const bad: unknown[] = [
      null,
      undefined,
      42,
      'iReadCardBas',
      [],
      {},
      { function: 7 },
      { function: 'iReadCardBas' },
      { function: 'iReadCardBas', iType: 5 },
      { function: 'iReadCardBas', iType: 1.5 },
      { function: 'iReadCardBas', iType: 'one' },
      { function: 'iReadCardBas', iType: null },
      { function: 'iReadCard', iType: 1, iAuthType: 0, pCardInfo: 3, pFileAddr: 'EF05|01|' },
      { function: 'iReadCard', iType: 1, iAuthType: 7, pCardInfo: 'a|b|c|d|', pFileAddr: 'EF05|01|' },
      { function: 'iReadCardBas_HSM_Step2', pKey: 'zz' },
      { function: 'iDoDebit', iType: 1, pCardInfo: 'x'.repeat(5000), pPayInfo: '1.00|1|' },
    ];
    for (const request of bad) {
      const r = await ri.call(request);
      expect(r.code, JSON.stringify(request)).toBe(RC.BAD_PARAMETER);
      expect(r.pOutInfo).toBe('');
      expect(r.detail).toBeTruthy();
    }
  });

  it('answers 2,000 random requests with a code, never throwing, never hanging', async () => {
    const { ri, pad } = open('gen3-active', { pinTimeoutMs: 10 });
    const rnd = seededRandom(15);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const values: unknown[] = [
      0,
      1,
      3,
      -1,
      2 ** 40,
      1.5,
      '1',
      '',
      '|',
      'EF05|01|',
      '12.50|1|',
      'x'.repeat(300),
      null,
      [],
      {},
      true,
    ];
    const names = [...READER_FUNCTIONS, 'iNope', '', 'constructor'];
    const params = ['iType', 'iAuthType', 'pCardInfo', 'pFileAddr', 'pPayInfo', 'pKey', 'junk'];
    for (let i = 0; i < 2000; i++) {
      if (rnd() < 0.05) pad.enter(pick(['CANCEL', '258014', '1']));
      const request: Record<string, unknown> = { function: pick(names) };
      for (const p of params) if (rnd() < 0.6) request[p] = pick(values);
      const r = await ri.call(request);
      expect(Number.isInteger(r.code), JSON.stringify(request)).toBe(true);
      expect(typeof r.pOutInfo).toBe('string');
      if (r.code !== 0) expect(r.code).toBeLessThan(0);
    }
  }, 60_000);

  it('takes iType as a digit string too, as some front ends send it', async () => {
    expect((await open('gen2').ri.call({ function: 'iReadCardBas', iType: '3' })).code).toBe(0);
  });

  it('runs concurrent calls one at a time, each answered in full', async () => {
    const { ri } = open('gen2');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ri.call({ function: i % 2 ? 'iGetCardType' : 'iReadCardBas', iType: 1 }),
      ),
    );
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(
      new Set(results.filter((r) => r.functionName === 'iReadCardBas').map((r) => r.pOutInfo)).size,
    ).toBe(1);
  });

  it('a card pulled between Step 1 and Step 2 answers -2', async () => {
    const l = open('gen3-active');
    const s1 = await l.ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
    const a = l.ri.cardManagement.authenticate(s1.pOutInfo) as { pKey: string };
    l.reader.remove();
    expect((await l.ri.call({ function: 'iReadCardBas_HSM_Step2', pKey: a.pKey })).code).toBe(RC.NO_CARD);
  });
});

describe('the function table', () => {
  it('lists every function with its C parameter names, each one implemented', async () => {
    expect(READER_FUNCTIONS).toHaveLength(18);
    expect(READER_FUNCTION_PARAMS.iReadCard).toEqual(['iType', 'iAuthType', 'pCardInfo', 'pFileAddr']);
    expect(READER_FUNCTION_PARAMS.iDoDebit).toEqual(['iType', 'pCardInfo', 'pPayInfo']);
    expect(READER_FUNCTION_PARAMS.iGetReaderInfo).toEqual([]);
    const { ri } = open('gen1', { noTill: true });
    for (const name of READER_FUNCTIONS)
      expect((await ri.call({ function: name })).code, name).not.toBe(RC.UNSUPPORTED);
  });

  it('describes codes, status words included', () => {
    expect(describeCode(-52).zh).toBe('PIN锁定');
    expect(describeCode(-0x6a82).en).toContain('6A82');
  });
});

describe('settings', () => {
  it('rejects a wrong setting by name', () => {
    expect(() => parseSettings({ pinLength: 3 })).toThrow(SettingsError);
    expect(() => parseSettings({ gen3PlainRead: 'nope' })).toThrow(/gen3PlainRead/);
    expect(() => parseSettings({ typo: true })).toThrow(SettingsError);
    const l = open('gen1');
    expect(() => createReaderInterface({ reader: l.reader, settings: { psamTerminalNumber: '12' } })).toThrow(
      /psamTerminalNumber/,
    );
  });
});
