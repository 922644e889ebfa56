import { swHex } from '../../card/status-words.ts';
import type { CheckContext } from '../context.ts';
import { VERIFY_STATUS } from '../../terminal/card-commands.ts';
import type { ConformanceCheck } from './check-model.ts';
import { unblockCommand, verifyRight, expectCounter } from './pin-support.ts';

/** iVerifyPIN: VERIFY, its try counter and the blocked PIN (§5). */

export const VERIFY_PIN_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'VER-01',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '正确 PIN 校验通过（三代卡初始密码返回 6985）',
    en: 'VERIFY with the right PIN (00 20 00 00 03 + BCD) succeeds; gen 3 initial PIN answers 6985',
    ref: '§5 (S4, S5, S9), R1.4',
    expect: '9000 (6985 for a gen 3 unchanged initial PIN)',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart(false);
      const tries = s.limit === null ? '' : `; counter ${s.limit} tries`;
      return (s.initial ? '6985: initial PIN refused for transactions' : '9000') + tries;
    },
  },
  {
    id: 'VER-02',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '错误 PIN 返回 63Cx，剩余次数递减',
    en: 'A wrong PIN answers 63Cx, x = tries left, one less each time; the right PIN then restores it',
    ref: '§5 (S3/S4, interface spec -51)',
    expect: '63C(n-1), 63C(n-2), then 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      const wrong = ctx.wrongPin();
      const left = ctx.expectTries(
        'first wrong PIN',
        await ctx.verify(wrong),
        s.limit === null ? null : s.limit - 1,
      );
      if (left >= 2) ctx.expectTries('second wrong PIN', await ctx.verify(wrong), left - 1);
      await verifyRight(ctx, s);
      return left >= 2 ? `63C${left}, 63C${left - 1}` : `63C${left}`;
    },
  },
  {
    id: 'VER-03',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '正确 PIN 使剩余次数复位',
    en: 'The right PIN resets the try counter',
    ref: '§5',
    expect: '63C(n-1), 9000, 63C(n-1) again',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      const wrong = ctx.wrongPin();
      const left = ctx.expectTries(
        'wrong PIN',
        await ctx.verify(wrong),
        s.limit === null ? null : s.limit - 1,
      );
      await verifyRight(ctx, s);
      await ctx.selectSsse();
      ctx.expectTries('wrong PIN after the right one', await ctx.verify(wrong), left);
      await verifyRight(ctx, s);
    },
  },
  {
    id: 'VER-04',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '无数据 VERIFY 返回剩余次数且不计次',
    en: 'VERIFY without data (00 20 00 00) reports the tries left and does not count',
    ref: 'ISO 7816-4 §11.5.6',
    expect: '63Cn twice',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart(false);
      if (s.limit === null) ctx.skip('the card does not report its counter without a PIN');
      await ctx.selectSsse();
      ctx.expectTries('VERIFY without data', (await ctx.send(VERIFY_STATUS)).sw, s.limit);
      ctx.expectTries('VERIFY without data, again', (await ctx.send(VERIFY_STATUS)).sw, s.limit);
    },
  },
  {
    id: 'VER-05',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: '三代卡未修改的初始密码 123456 返回 6985，不计次',
    en: 'Gen 3: the unchanged initial PIN 123456 answers 6985 and costs no try',
    ref: '§5 (S16, interface spec -35), R1.4',
    expect: '6985, counter unchanged',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      if (ctx.generation !== 3) ctx.skip('not applicable: refusing the initial PIN is a gen 3 rule');
      if (pin !== '123456')
        ctx.skip('the card’s PIN is not the initial 123456 (verifying 123456 would cost a try)');
      const s = await ctx.pinStart(false);
      if (!s.initial) ctx.fail('the initial PIN 123456 was accepted with 9000; expected 6985');
      await ctx.selectSsse();
      ctx.expectSw('VERIFY 123456', await ctx.verify(pin), 0x6985);
      await expectCounter(ctx, 'after 6985', s.limit);
    },
  },
  {
    id: 'VER-06',
    group: 'iVerifyPIN',
    kind: 'pin',
    zh: 'PIN 数据格式错误（非 BCD）返回 6A80',
    en: 'A malformed PIN block (a non-BCD nibble) answers 6A80 and costs no try',
    ref: '§6, card-emulator.md',
    expect: '6A80, counter unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      await ctx.selectSsse();
      ctx.expectSw('VERIFY 12 3A 56', (await ctx.send('0020000003123A56')).sw, 0x6a80);
      await expectCounter(ctx, 'after 6A80', s.limit);
    },
  },
  {
    id: 'VER-07',
    group: 'iVerifyPIN',
    kind: 'pin',
    virtualOnly: 'not tested: it would block the PIN of a real card, which only the bank counter can release',
    zh: 'PIN 锁定后返回 6983（正确 PIN 亦然），柜面解锁后恢复',
    en: 'Once the tries are used up the PIN is blocked: 6983, even for the right PIN; the counter’s unblock restores it',
    ref: '§5 (S3/S4, interface spec -52)',
    expect: '63C(n-1) … 63C0, 6983, 6983; unblock 9000; 9000',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const found = await ctx.verify(pin);
      if (found === 0x6983) return 'blocked as found: the right PIN answers 6983; left blocked';
      if ((found & 0xfff0) === 0x63c0) {
        ctx.shared.pinStop = `the PIN given is wrong (the card answered ${swHex(found)}): PIN checks stopped so that the card is not blocked`;
        ctx.fail(ctx.shared.pinStop);
      }
      const s = await ctx.pinStart();
      const limit = s.limit;
      if (limit === null) ctx.fail('the counter is unknown: VERIFY without data did not answer 63Cx');
      await ctx.selectSsse();
      const wrong = ctx.wrongPin();
      for (let left = limit - 1; left >= 0; left--) {
        ctx.expectTries(`wrong PIN (${limit - left})`, await ctx.verify(wrong), left);
      }
      ctx.expectSw('wrong PIN once blocked', await ctx.verify(wrong), 0x6983);
      ctx.expectSw('right PIN once blocked', await ctx.verify(pin), 0x6983);
      await ctx.expect('PIN UNBLOCK (bank counter key)', await unblockCommand(ctx), 0x9000);
      await verifyRight(ctx, s, 'VERIFY after unblock');
    },
  },
];
