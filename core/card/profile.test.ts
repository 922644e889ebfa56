import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWallet, resolveCard, BUNDLED_CARDS_DIR } from './wallet.ts';
import {
  parseProfile,
  parseProfileJson,
  loadProfile,
  ProfileError,
  profileJsonSchema,
  type CardProfileInput,
} from './profile.ts';
import { checkCardNumber } from '../rules/card-number.ts';
import { checkSsn } from '../rules/ssn.ts';
import { checkPan } from '../rules/luhn.ts';

const wallet = loadWallet();
const base = (): CardProfileInput => structuredClone(resolveCard('gen3-active').profile) as CardProfileInput;

function problems(value: unknown): string[] {
  try {
    parseProfile(value, 'x.json');
  } catch (e) {
    if (e instanceof ProfileError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('the bundled wallet', () => {
  it('every fixture validates against the schema', () => {
    expect(wallet.length).toBeGreaterThanOrEqual(10);
    for (const w of wallet) expect(w.profile.id + '.json').toBe(w.file.split('/').at(-1));
  });
  it('every fixture has valid check characters: card number, SSN, PAN (R3.1, R3.3, R3.4)', () => {
    for (const { profile: p } of wallet) {
      expect(checkCardNumber(p.card.number), p.id).toBeNull();
      expect(checkSsn(p.holder.ssn), p.id).toBeNull();
      if (p.financial) expect(checkPan(p.financial.pan), p.id).toBeNull();
    }
  });
  it('covers gen 1, gen 2, gen 3 initial/activated/blocked, expired, loss-reported, child without photo, HK, foreigner', () => {
    const today = '2026-11-26';
    const has = (f: (p: (typeof wallet)[number]['profile']) => boolean) => wallet.some((w) => f(w.profile));
    expect(has((p) => p.generation === 1)).toBe(true);
    expect(has((p) => p.generation === 2)).toBe(true);
    expect(has((p) => p.generation === 3 && p.pin === '123456')).toBe(true);
    expect(has((p) => p.generation === 3 && p.pin !== '123456' && p.pinTriesLeft !== 0)).toBe(true);
    expect(has((p) => p.generation === 3 && p.pinTriesLeft === 0)).toBe(true);
    expect(has((p) => p.card.expiryDate < today)).toBe(true);
    expect(has((p) => p.status === 'loss-reported')).toBe(true);
    expect(has((p) => !p.card.photo && p.holder.birthDate > '2019-11-26')).toBe(true);
    expect(has((p) => p.holder.ssn.startsWith('HKG0'))).toBe(true);
    expect(has((p) => p.holder.nationality !== 'CHN' && p.holder.nationality !== 'HKG')).toBe(true);
  });
  it('the published JSON Schema file is the one generated from the code', () => {
    const file = JSON.parse(readFileSync(join(BUNDLED_CARDS_DIR, '..', 'card-profile.schema.json'), 'utf8'));
    expect(file).toEqual(profileJsonSchema());
  });
});

describe('profile validation names the bad field', () => {
  it('requires a generation of 1, 2 or 3', () => {
    const p = base() as Record<string, unknown>;
    delete p.generation;
    expect(problems(p).some((m) => m.startsWith('generation:'))).toBe(true);
    expect(problems({ ...base(), generation: 4 }).some((m) => m.startsWith('generation:'))).toBe(true);
  });
  it('R3.3: a wrong ID check character is reported at holder.ssn', () => {
    const p = base();
    p.holder.ssn = p.holder.ssn.slice(0, 17) + (p.holder.ssn.endsWith('1') ? '2' : '1');
    expect(problems(p)).toContainEqual(expect.stringMatching(/^holder\.ssn: check character should be/));
  });
  it('the 9-character card number check character is checked', () => {
    const p = base();
    p.card.number = 'C44010040';
    expect(problems(p)).toContainEqual(expect.stringMatching(/^card\.number: check character/));
  });
  it('R3.1: the PAN must pass Luhn', () => {
    const p = base();
    const pan = p.financial!.pan;
    p.financial!.pan = pan.slice(0, -1) + String((Number(pan.at(-1)) + 1) % 10);
    expect(problems(p)).toContainEqual(expect.stringMatching(/^financial\.pan: Luhn/));
  });
  it('the birth date and sex must agree with a mainland SSN', () => {
    const p = base();
    p.holder.birthDate = '1985-11-29';
    p.holder.sex = 'female';
    const found = problems(p);
    expect(found).toContainEqual(expect.stringMatching(/^holder\.birthDate: does not match/));
    expect(found).toContainEqual(expect.stringMatching(/^holder\.sex: does not match/));
  });
  it('R3.4: a non-mainland SSN starts with the nationality code and 0', () => {
    const p = base();
    p.holder.nationality = 'MAC';
    p.holder.ssn = 'HKG012345678';
    expect(problems(p)).toContainEqual(
      expect.stringMatching(/^holder\.ssn: must start with holder\.nationality MAC/),
    );
  });
  it('a name not encodable in GBK, or too long for the card, is refused', () => {
    const p = base();
    p.holder.name = '王😀';
    expect(problems(p)).toContainEqual(expect.stringMatching(/^holder\.name: '😀' cannot be encoded in GBK/));
    p.holder.name = 'A'.repeat(51);
    expect(problems(p)).toContainEqual(expect.stringMatching(/^holder\.name: is 51 bytes/));
  });
  it('a NUL or another control character in the holder name or a label is refused (issue 16)', () => {
    for (const bad of ['张\u0000三', '张三\u0000', '张\n三', '\u001b[31m张三', '张\u0085三']) {
      const p = base();
      p.holder.name = bad;
      expect(problems(p), JSON.stringify(bad)).toEqual([
        'holder.name: must not contain control characters (NUL, line breaks, tabs…)',
      ]);
    }
    const p = base();
    p.label = '三代卡\u0000';
    expect(problems(p)).toEqual(['label: must not contain control characters (NUL, line breaks, tabs…)']);
    // Through the file reader too: the JSON escape \u0000 is a NUL all the same.
    const json = JSON.stringify({ ...base(), holder: { ...base().holder, name: '张\u0000三' } });
    expect(() => parseProfileJson(json, 'nul.json')).toThrow(
      'nul.json: holder.name: must not contain control characters (NUL, line breaks, tabs…)',
    );
  });
  it('a profile file with a UTF-8 byte order mark is read as without one (issue 16)', () => {
    const text = readFileSync(join(BUNDLED_CARDS_DIR, 'gen2.json'), 'utf8');
    expect(parseProfileJson(`\uFEFF${text}`, 'bom.json')).toEqual(parseProfileJson(text, 'bom.json'));
    const dir = mkdtempSync(join(tmpdir(), 'sscard-bom-'));
    const file = join(dir, 'bom.json');
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(loadProfile(file).generation).toBe(2);
    expect(resolveCard(file).profile.card.number).toBe(resolveCard('gen2').profile.card.number);
    // Only at the start: a BOM anywhere else is an error like any stray character.
    expect(() => parseProfileJson(`{\uFEFF}`, 'x.json')).toThrow(/x\.json: line 1, column 2: not valid JSON/);
  });
  it('R1.1: a gen 1 profile with a financial application is refused', () => {
    const p = {
      ...structuredClone(resolveCard('gen1').profile),
      financial: { pan: '6222623710000000029', expiry: '2030-01' },
    };
    expect(problems(p)).toContainEqual(expect.stringMatching(/^financial: a gen 1 card has no financial/));
  });
  it('R1.2: a gen 2 profile without its transaction password is refused', () => {
    const p = structuredClone(resolveCard('gen2').profile) as Record<string, unknown>;
    delete p.transactionPassword;
    expect(problems(p)).toContainEqual(expect.stringMatching(/^transactionPassword:/));
  });
  it('money is integer fen; dates are calendar dates; unknown fields are refused', () => {
    const p = base() as Record<string, unknown> & CardProfileInput;
    p.accounts = { reserveFen: 12.5 };
    p.card.expiryDate = '2033-02-30';
    (p as Record<string, unknown>).pinn = '1';
    const found = problems(p);
    expect(found).toContainEqual(
      expect.stringMatching(/^accounts\.reserveFen: must be a whole number of fen/),
    );
    expect(found).toContainEqual(expect.stringMatching(/^card\.expiryDate: is not a calendar date/));
    expect(found).toContainEqual(expect.stringMatching(/pinn/));
  });
  it('malformed JSON reports line and column', () => {
    expect(() => parseProfileJson('{\n  "generation": 3,\n  oops\n}', 'bad.json')).toThrow(
      /bad\.json: line 3, column 3/,
    );
  });
  it('an unknown card argument is a clear error', () => {
    expect(() => resolveCard('no-such-card')).toThrow(/no such card file, and no bundled card/);
  });
});
