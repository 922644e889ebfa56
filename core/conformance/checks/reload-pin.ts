import type { CheckContext } from '../context.ts';
import type { ConformanceCheck } from './check-model.ts';
import { reloadCommand, corruptMac, verifyRight, expectCounter, VIRTUAL_KEYS } from './pin-support.ts';

/** iReloadPIN: RELOAD PIN with the bank counter's key, virtual cards only (§5). */

export const RELOAD_PIN_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'RLD-01',
    group: 'iReloadPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '重装 PIN：无随机数 6985，MAC 错误 6988，PIN 不变',
    en: 'RELOAD PIN (84 5E) without a fresh challenge: 6985; with a wrong MAC: 6988; PIN unchanged',
    ref: '§5 (S3, S5, S13)',
    expect: '6985, 6988, counter unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const cmd = await reloadCommand(ctx, pin);
      await ctx.selectSsse(); // selecting the DF drops the challenge
      await ctx.expect('RELOAD PIN without a challenge', cmd, 0x6985);
      await ctx.expect('RELOAD PIN with a wrong MAC', corruptMac(await reloadCommand(ctx, pin)), 0x6988);
      await expectCounter(ctx, 'after the refused reloads', s.limit);
      await verifyRight(ctx, s, 'VERIFY with the unchanged PIN');
    },
  },
  {
    id: 'RLD-02',
    group: 'iReloadPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '柜面密钥重装 PIN 成功，计数器复位',
    en: 'RELOAD PIN with the counter’s key (same PIN) succeeds and resets the counter',
    ref: '§5 (S3, S5, S13)',
    expect: '63C(n-1), 9000, counter n, 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN', await ctx.verify(ctx.wrongPin()), s.limit === null ? null : s.limit - 1);
      await ctx.expect('RELOAD PIN', await reloadCommand(ctx, pin), 0x9000);
      await expectCounter(ctx, 'after RELOAD', s.limit);
      await verifyRight(ctx, s, 'VERIFY the reloaded PIN');
    },
  },
];
