import type { CheckContext } from '../context.ts';
import type { ConformanceCheck } from './check-model.ts';
import { unblockCommand, corruptMac, verifyRight, expectCounter, VIRTUAL_KEYS } from './pin-support.ts';

/** iUnblockPIN: PIN UNBLOCK with the bank counter's key, virtual cards only (§5). */

export const UNBLOCK_PIN_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'UNB-01',
    group: 'iUnblockPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '解锁 PIN：无随机数 6985，MAC 错误 6988，计数器不变',
    en: 'PIN UNBLOCK (84 24) without a fresh challenge: 6985; with a wrong MAC: 6988; counter unchanged',
    ref: '§5 (S4)',
    expect: '6985, 6988',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN', await ctx.verify(ctx.wrongPin()), s.limit === null ? null : s.limit - 1);
      const cmd = await unblockCommand(ctx);
      await ctx.selectSsse();
      await ctx.expect('PIN UNBLOCK without a challenge', cmd, 0x6985);
      await ctx.expect('PIN UNBLOCK with a wrong MAC', corruptMac(await unblockCommand(ctx)), 0x6988);
      await expectCounter(ctx, 'after the refused unblocks', s.limit === null ? null : s.limit - 1);
      await verifyRight(ctx, s);
    },
  },
  {
    id: 'UNB-02',
    group: 'iUnblockPIN',
    kind: 'pin',
    virtualOnly: VIRTUAL_KEYS,
    zh: '柜面密钥解锁：计数器复位，PIN 不变',
    en: 'PIN UNBLOCK with the counter’s key resets the counter and keeps the PIN',
    ref: '§5 (S4)',
    expect: '63C(n-1), 9000, counter n, 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN', await ctx.verify(ctx.wrongPin()), s.limit === null ? null : s.limit - 1);
      await ctx.expect('PIN UNBLOCK', await unblockCommand(ctx), 0x9000);
      await expectCounter(ctx, 'after UNBLOCK', s.limit);
      await verifyRight(ctx, s, 'VERIFY the unchanged PIN');
    },
  },
];
