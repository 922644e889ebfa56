import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseYuan } from './pos-commands.ts';
import { cli } from './run-for-test.ts';

const BIN = fileURLToPath(new URL('../bin/sscard.mjs', import.meta.url));

const db = () => join(mkdtempSync(join(tmpdir(), 'sscard-pay-')), 'ledger.db');

describe('sscard pay', () => {
  it('approves a gen 3 payment: exit 0, the outcome and the Chinese receipt', async () => {
    const r = await cli('pay', '--card', 'gen3-active', '--amount', '12.50', '--pin', '258014', '--db', db());
    expect(r.code).toBe(0);
    expect(r.out).toContain('✔ 交易成功');
    expect(r.out).toContain('医保结算单');
    expect(r.out).toContain('¥12.50');
  });
  it('--json gives the outcome as data', async () => {
    const r = await cli(
      'pay',
      '--card',
      'gen3-active',
      '--amount',
      '12.50',
      '--pin',
      '258014',
      '--db',
      db(),
      '--json',
    );
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({
      approved: true,
      result: 'paid',
      amountFen: 1250,
      method: 'medical',
      mode: 'online',
      generation: 3,
    });
    expect(j.split).toEqual({ medicalCurrentFen: 1250, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 });
    expect(j.receipt).toContain(j.paymentId);
  });
  it('R1.4: the initial PIN is refused: exit 2 with 初始密码不能交易', async () => {
    const r = await cli(
      'pay',
      '--card',
      'gen3-initial-pin',
      '--amount',
      '12.50',
      '--pin',
      '123456',
      '--db',
      db(),
    );
    expect(r.code).toBe(2);
    expect(r.out).toContain('初始密码不能交易');
  });
  it('a wrong PIN: exit 2 with the tries left', async () => {
    const r = await cli('pay', '--card', 'gen3-active', '--amount', '1', '--pin', '000000', '--db', db());
    expect(r.code).toBe(2);
    expect(r.out).toContain('密码错误，还可尝试 2 次');
  });
  it('R1.2 and R1.3 with --host down: gen 2 declined (exit 2), gen 3 approved offline (exit 0)', async () => {
    const file = db();
    const gen2 = await cli(
      'pay',
      '--card',
      'gen2',
      '--amount',
      '5',
      '--pin',
      '246810',
      '--host',
      'down',
      '--db',
      file,
    );
    expect(gen2.code).toBe(2);
    expect(gen2.out).toContain('主机不可达');
    const gen3 = await cli(
      'pay',
      '--card',
      'gen3-active',
      '--amount',
      '5',
      '--pin',
      '258014',
      '--host',
      'down',
      '--db',
      file,
      '--json',
    );
    expect(gen3.code).toBe(0);
    expect(JSON.parse(gen3.out)).toMatchObject({ approved: true, mode: 'offline' });
  });
  it('R1.1: a gen 1 card is declined (exit 2)', async () => {
    const r = await cli('pay', '--card', 'gen1', '--amount', '5', '--pin', '802317', '--db', db());
    expect(r.code).toBe(2);
    expect(r.out).toContain('一代社保卡');
  });
  it('an unknown card says what was looked for (exit 1)', async () => {
    const r = await cli('pay', '--card', 'no-such-card', '--amount', '1', '--pin', '111111', '--db', db());
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "no bundled card, profile file, card in the ledger or PC/SC reader named 'no-such-card'",
    );
    expect(
      (await cli('pay', '--card', './missing.json', '--amount', '1', '--pin', '111111', '--db', db())).err,
    ).toContain('file not found');
  });
  it('bad amounts are clear usage errors', async () => {
    expect(() => parseYuan('12.505')).toThrow(/at most two decimals/);
    expect(() => parseYuan('-1')).toThrow(/--amount/);
    expect(() => parseYuan('0')).toThrow(/more than 0/);
    expect(parseYuan('12.5')).toBe(1250);
    expect(parseYuan('0.01')).toBe(1);
    const r = await cli('pay', '--card', 'gen3-active', '--amount', 'abc', '--pin', '258014', '--db', db());
    expect(r.code).toBe(64);
    expect(r.err).toContain('--amount must be yuan');
  });
});

describe('sscard sync, reconcile and settle', () => {
  it('an offline payment: reconcile disagrees (exit 2) until sync; sync is safe to repeat; settle totals the day', async () => {
    const file = db();
    expect(
      (
        await cli(
          'pay',
          '--card',
          'gen3-active',
          '--amount',
          '20.00',
          '--pin',
          '258014',
          '--host',
          'down',
          '--db',
          file,
        )
      ).code,
    ).toBe(0);
    expect(
      (await cli('pay', '--card', 'gen3-hong-kong', '--amount', '3.50', '--pin', '375168', '--db', file))
        .code,
    ).toBe(0);
    const before = await cli('reconcile', '--db', file);
    expect(before.code).toBe(2);
    expect(before.out).toContain('not-yet-forwarded');
    const sync1 = await cli('sync', '--db', file, '--json');
    const sync2 = await cli('sync', '--db', file, '--json');
    expect([JSON.parse(sync1.out).sent, JSON.parse(sync2.out).sent]).toEqual([1, 0]);
    expect(sync2.code).toBe(0);
    const after = await cli('reconcile', '--db', file);
    expect(after.code).toBe(0);
    expect(after.out).toContain('agree');
    const settle = await cli('settle', '--db', file, '--json');
    expect(settle.code).toBe(0);
    const s = JSON.parse(settle.out);
    expect(s.pendingForward).toBe(0); // synced before closing
    expect(s.payments).toBe(2);
    expect(s.totalFen).toBe(2350);
    expect(s.byMethod.medical).toBe(2350);
  });
  it('settle rejects a bad date', async () => {
    const r = await cli('settle', '--db', db(), '--date', '2026-02-30');
    expect(r.code).toBe(64);
  });
});

describe('the installed command', () => {
  it('sscard pay runs as its own process with the documented exit codes', () => {
    const file = db();
    const ok = spawnSync(
      process.execPath,
      [BIN, 'pay', '--card', 'gen3-active', '--amount', '1.00', '--pin', '258014', '--db', file],
      { encoding: 'utf8' },
    );
    expect(ok.status).toBe(0);
    const refused = spawnSync(
      process.execPath,
      [BIN, 'pay', '--card', 'gen3-initial-pin', '--amount', '1.00', '--pin', '123456', '--db', file],
      { encoding: 'utf8' },
    );
    expect(refused.status).toBe(2);
    const out = execFileSync(process.execPath, [BIN, 'settle', '--db', file, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ payments: 1, totalFen: 100 });
  });
});
