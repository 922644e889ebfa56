import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
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

describe('the counter end to end: apply, issue, activate, pay, lose, replace, close', () => {
  it('R10.1 + R1.4 + R13 + R2.1 + R14 through the CLI on one ledger file', async () => {
    const db = join(dir(), 'ledger.db');
    const applied = await cli(
      'counter',
      'apply',
      '--application',
      'fixtures/applications/adult-mainland.json',
      '--db',
      db,
      '--json',
    );
    expect(applied.code).toBe(0);
    const cardId = JSON.parse(applied.out).cardId as string;
    const c = ['--db', db, '--card-id', cardId];
    expect(
      (await cli('counter', 'advance', ...c, '--event', 'PRODUCTION_FAILED', '--reason', '芯片写入失败'))
        .code,
    ).toBe(0);
    expect((await cli('counter', 'progress', ...c)).out).toContain('芯片写入失败');
    for (const event of ['RESUBMIT', 'CITY_BRANCH_RECEIVED', 'OUTLET_RECEIVED']) {
      expect((await cli('counter', 'advance', ...c, '--event', event)).code).toBe(0);
    }
    expect(
      (await cli('pay', '--card', cardId, '--db', db, '--amount', '1', '--pin', '123456')).out,
    ).toContain('尚未启用');
    const initial = await cli('counter', 'activate', ...c, '--new-pin', '123456', '--password', '112233');
    expect([initial.code, initial.out.includes('123456')]).toEqual([2, true]);
    expect((await cli('counter', 'activate', ...c, '--new-pin', '556677', '--password', '112233')).code).toBe(
      0,
    );
    expect((await cli('pay', '--card', cardId, '--db', db, '--amount', '1', '--pin', '556677')).code).toBe(0);
    expect((await cli('counter', 'report-loss', ...c, '--cross-region')).code).toBe(0);
    expect(
      (await cli('pay', '--card', cardId, '--db', db, '--amount', '1', '--pin', '556677')).out,
    ).toContain('挂失');
    const replaced = JSON.parse((await cli('counter', 'replace', ...c, '--reason', 'lost', '--json')).out);
    expect(replaced.ok).toBe(true);
    const fresh = ['--db', db, '--card-id', replaced.newCardId as string];
    const history = await cli('counter', 'history', ...c);
    expect(history.out).toContain('挂失');
    // The replacement is an instant gen 3 card: printed, checked, activated, then closed (R14).
    expect((await cli('counter', 'print-instant', ...fresh)).code).toBe(0);
    expect((await cli('counter', 'verify', ...fresh)).code).toBe(0);
    expect(
      (await cli('counter', 'activate', ...fresh, '--new-pin', '778899', '--password', '112233')).code,
    ).toBe(0);
    const closed = await cli('counter', 'close', ...fresh);
    expect(closed.out).toContain('✔');
    expect(closed.code).toBe(0);
  });

  it('a counter-issued card blocked at the till is unblocked and its PIN changed at the counter by card number', async () => {
    const db = join(dir(), 'ledger.db');
    const cardId = JSON.parse(
      (
        await cli(
          'counter',
          'apply',
          '--application',
          'fixtures/applications/adult-mainland.json',
          '--mode',
          'instant',
          '--db',
          db,
          '--json',
        )
      ).out,
    ).cardId as string;
    const c = ['--db', db, '--card-id', cardId];
    await cli('counter', 'print-instant', ...c);
    await cli('counter', 'verify', ...c);
    expect((await cli('counter', 'activate', ...c, '--new-pin', '556677', '--password', '112233')).code).toBe(
      0,
    );
    for (let i = 0; i < 3; i++)
      await cli('pay', '--card', cardId, '--db', db, '--amount', '1', '--pin', '000000');
    expect(
      (await cli('pay', '--card', cardId, '--db', db, '--amount', '1', '--pin', '556677')).out,
    ).toContain('锁定');
    expect((await cli('counter', 'unblock', '--card', cardId, '--db', db)).code).toBe(0);
    expect(
      (await cli('counter', 'change-pin', '--card', cardId, '--db', db, '--old', '556677', '--new', '778899'))
        .code,
    ).toBe(0);
    expect((await cli('pay', '--card', cardId, '--db', db, '--amount', '1', '--pin', '778899')).code).toBe(0);
    expect(
      (await cli('counter', 'change-pin', '--card', cardId, '--db', db, '--old', '778899', '--new', '12a456'))
        .code,
    ).toBe(64);
    expect((await cli('counter', 'progress', '--db', db, '--card-id', 'NOPE00000')).code).toBe(1);
  });

  it('R9: an under-7 instant application without photo passes; R10.2: the 制卡中 fault is recovered by 制卡补登', async () => {
    const db = join(dir(), 'ledger.db');
    const applied = await cli(
      'counter',
      'apply',
      '--application',
      'fixtures/applications/child-under-7.json',
      '--mode',
      'instant',
      '--db',
      db,
      '--json',
    );
    expect(applied.code).toBe(0);
    const c = ['--db', db, '--card-id', JSON.parse(applied.out).cardId as string];
    expect((await cli('counter', 'print-instant', ...c, '--pending')).code).toBe(0);
    expect((await cli('counter', 'progress', ...c)).out).toContain('制卡中');
    expect((await cli('counter', 'make-up', ...c)).code).toBe(0);
    expect((await cli('counter', 'verify', ...c)).code).toBe(0);
  });

  it('R11: a batch file issues its good rows and names the row and column of each bad one', async () => {
    const db = join(dir(), 'ledger.db');
    const folder = dir();
    const file = join(folder, 'batch.csv');
    copyFileSync('fixtures/applications/photo-358x441.jpg', join(folder, 'photo.jpg'));
    writeFileSync(
      file,
      [
        '姓名,性别,出生日期,民族,国籍,证件类型,证件号码,手机,身份证影像,相片',
        '赵敏,男,1992-03-15,01,CHN,id,440106199203154314,13800138000,是,photo.jpg',
        '钱多多,女,1992-02-30,01,CHN,id,440106199203154322,13800138001,是,photo.jpg',
      ].join('\r\n'),
    );
    const r = await cli('counter', 'batch-import', file, '--db', db, '--json');
    const j = JSON.parse(r.out);
    expect(r.code).toBe(2);
    expect(j.issued).toBe(1);
    expect(j.rejected[0]).toMatchObject({ row: 3 });
    expect(j.rejected.map((x: { column: string }) => x.column).join(' ')).toMatch(/出生日期/);
  });
});

describe('sscard counter numbers', () => {
  it('R3.2: parses the handbook’s CN44180024111322258919110000010 and makes it back from its parts', async () => {
    const parsed = JSON.parse(
      (await cli('counter', 'batch-number', 'CN44180024111322258919110000010', '--json')).out,
    );
    expect(parsed.parts).toEqual({
      institution: '441800',
      date: '2024-11-13',
      bankCardCode: '22258919',
      cardType: '8919',
      vendor: '11',
      sequence: 10,
    });
    const made = await cli(
      'counter',
      'batch-number',
      '--institution',
      '441800',
      '--date',
      '2024-11-13',
      '--bank-card-code',
      '22258919',
      '--vendor',
      '11',
      '--sequence',
      '10',
    );
    expect(made.out).toBe('CN44180024111322258919110000010');
    expect((await cli('counter', 'batch-number', 'CN4418002411132225891911000001')).code).toBe(2);
  });
  it('R3.1: bank card numbers 622262371… carry a Luhn digit; the on-card card number its check character', async () => {
    expect((await cli('counter', 'bank-card', '--serial', '00000001')).out).toBe('622262371000000017');
    expect((await cli('counter', 'bank-card', '622262371000000018')).code).toBe(2);
    expect((await cli('counter', 'card-number', 'D5800967')).out).toBe('D58009678');
    expect((await cli('counter', 'card-number', 'D58009679')).code).toBe(2);
  });
});

describe('sscard counter merge', () => {
  it('R7.1: cards of two different people are never merged (exit 2, the rule named)', async () => {
    const db = join(dir(), 'ledger.db');
    await cli('read', '--card', 'gen2', '--db', db);
    await cli('read', '--card', 'gen3-active', '--db', db);
    const r = await cli(
      'counter',
      'merge',
      '--db',
      db,
      '--kept',
      'C44010048',
      '--merged',
      'B44010024',
      '--merged-region',
      'other-city-in-province',
      '--merged-bank',
      'other',
      '--at-issuing-locality',
    );
    expect(r.code).toBe(2);
    expect(r.out).toContain('R7.1');
  });
});
