import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { cli } from './run-for-test.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'sscard-counter-'));

describe('sscard counter change-pin and unblock', () => {
  it('R1.4: refuses 123456 as the new PIN; a changed PIN is the one sscard pay then sees', async () => {
    const db = join(dir(), 'ledger.db');
    const same = await cli(
      'counter',
      'change-pin',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--old',
      '123456',
      '--new',
      '123456',
    );
    expect(same.code).toBe(2);
    expect(same.out).toContain('不能改为初始密码');
    const changed = await cli(
      'counter',
      'change-pin',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--old',
      '123456',
      '--new',
      '864209',
    );
    expect(changed.code).toBe(0);
    const paid = await cli(
      'pay',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--amount',
      '12.50',
      '--pin',
      '864209',
    );
    expect(paid.code).toBe(0);
    const old = await cli(
      'pay',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--amount',
      '1',
      '--pin',
      '123456',
    );
    expect(old.code).toBe(2);
  });
  it('a wrong old PIN counts a try and says how many are left', async () => {
    const db = join(dir(), 'ledger.db');
    const r = await cli(
      'counter',
      'change-pin',
      '--card',
      'gen3-active',
      '--db',
      db,
      '--old',
      '000000',
      '--new',
      '864209',
      '--json',
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'WRONG_OLD_PIN', triesLeft: 2 });
  });
  it('unblock resets a blocked PIN with the counter key; the PIN itself is unchanged', async () => {
    const db = join(dir(), 'ledger.db');
    expect(
      (await cli('pay', '--card', 'gen3-pin-blocked', '--db', db, '--amount', '1', '--pin', '731904')).code,
    ).toBe(2);
    expect((await cli('counter', 'unblock', '--card', 'gen3-pin-blocked', '--db', db)).code).toBe(0);
    expect(
      (await cli('pay', '--card', 'gen3-pin-blocked', '--db', db, '--amount', '1', '--pin', '731904')).code,
    ).toBe(0);
  });
});

describe('sscard counter ssn', () => {
  it('R3.4: H12345678 (Hong Kong permit) gives HKG012345678, M12345678 gives MAC012345678', async () => {
    expect(
      (await cli('counter', 'ssn', '--country', 'HKG', '--doc-type', 'hk-macau-permit', '--doc', 'H12345678'))
        .out,
    ).toBe('HKG012345678');
    expect(
      (await cli('counter', 'ssn', '--country', 'MAC', '--doc-type', 'hk-macau-permit', '--doc', 'M12345678'))
        .out,
    ).toBe('MAC012345678');
  });
  it('R3.3: a mainland ID is its own SSN when its check character is right; otherwise the reason, exit 2', async () => {
    const ok = await cli(
      'counter',
      'ssn',
      '--country',
      'CHN',
      '--doc-type',
      'id',
      '--doc',
      '11010519491231002X',
    );
    expect([ok.code, ok.out]).toEqual([0, '11010519491231002X']);
    const bad = await cli(
      'counter',
      'ssn',
      '--country',
      'CHN',
      '--doc-type',
      'id',
      '--doc',
      '110105194912310021',
    );
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('R3.3');
  });
  it('an unknown --doc-type is a usage error', async () => {
    expect((await cli('counter', 'ssn', '--country', 'CHN', '--doc-type', 'visa', '--doc', 'X')).code).toBe(
      64,
    );
  });
});

describe('sscard counter check-photo', () => {
  function photo(width: number, height: number, background: number): string {
    const data = Buffer.alloc(width * height * 4, background);
    for (let y = Math.floor(height * 0.3); y < height * 0.6; y++) {
      for (let x = Math.floor(width * 0.35); x < width * 0.65; x++) {
        const i = (y * width + x) * 4;
        data[i] = 224;
        data[i + 1] = 172;
        data[i + 2] = 140;
      }
    }
    const file = join(dir(), `p-${width}x${height}.jpg`);
    writeFileSync(file, jpeg.encode({ width, height, data }, 90).data);
    return file;
  }
  it('R8: prints pass for a good photo (exit 0) and each broken rule otherwise (exit 2)', async () => {
    const ok = await cli('counter', 'check-photo', photo(358, 441, 250));
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('pass');
    const bad = await cli('counter', 'check-photo', photo(300, 400, 250));
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('R8.size');
    const dark = await cli('counter', 'check-photo', photo(358, 441, 30), '--json');
    expect(JSON.parse(dark.out).problems.map((p: { rule: string }) => p.rule)).toContain('R8.background');
  });
  it('a missing file is bad input (exit 1); a bad --age is a usage error (exit 64)', async () => {
    expect((await cli('counter', 'check-photo', '/no/such/photo.jpg')).code).toBe(1);
    expect((await cli('counter', 'check-photo', photo(358, 441, 250), '--age', 'seven')).code).toBe(64);
  });
});
