import type { CheckContext } from '../context.ts';
import type { ConformanceCheck } from './check-model.ts';
import { changeCommand, tempPin, verifyRight, expectCounter } from './pin-support.ts';

/** iChangePIN: CHANGE PIN with the old PIN, always set back to the card's own (§5). */

export const CHANGE_PIN_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'CHG-01',
    group: 'iChangePIN',
    kind: 'pin',
    zh: '原 PIN 错误时修改失败，返回 63Cx 并计次',
    en: 'CHANGE PIN (80 5E 01 00, old ‖ FF ‖ new) with a wrong old PIN: 63Cx, counted',
    ref: '§5 (S4, S5)',
    expect: '63C(n-1), PIN unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const r = await ctx.send(changeCommand(ctx.wrongPin(), tempPin(pin)));
      if (r.sw === 0x9000) {
        await ctx.send(changeCommand(tempPin(pin), pin));
        ctx.fail('CHANGE PIN with a wrong old PIN answered 9000 (changed back)');
      }
      ctx.expectTries('CHANGE PIN with a wrong old PIN', r.sw, s.limit === null ? null : s.limit - 1);
      await verifyRight(ctx, s, 'VERIFY with the unchanged PIN');
    },
  },
  {
    id: 'CHG-02',
    group: 'iChangePIN',
    kind: 'pin',
    zh: '不能改为初始密码 123456（6A80）',
    en: 'CHANGE PIN to the initial PIN 123456 is refused (6A80, interface spec -36), no try counted',
    ref: '§5 (interface spec -36)',
    expect: '6A80, counter and PIN unchanged',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart(false);
      const pin = ctx.requirePin();
      await ctx.selectSsse();
      const r = await ctx.send(changeCommand(pin, '123456'));
      if (r.sw === 0x9000 && pin !== '123456') {
        await ctx.send(changeCommand('123456', pin));
        ctx.fail('CHANGE PIN to 123456 answered 9000 (changed back)');
      }
      ctx.expectSw('CHANGE PIN to 123456', r.sw, 0x6a80);
      await expectCounter(ctx, 'after 6A80', s.limit);
      await verifyRight(ctx, s, 'VERIFY with the unchanged PIN');
    },
  },
  {
    id: 'CHG-03',
    group: 'iChangePIN',
    kind: 'pin',
    zh: '修改 PIN 成功，新 PIN 生效，再改回原 PIN',
    en: 'CHANGE PIN old → new succeeds and the new PIN verifies; changed back, the old PIN verifies again',
    ref: '§5 (S4, S5)',
    expect: '9000, 9000, 9000, 9000',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      if (pin === '123456')
        ctx.skip('the initial PIN 123456 cannot be set again by CHANGE PIN, so it would stay changed');
      if (!/^\d{6}$/.test(pin)) ctx.skip('the PIN is not six digits: CHANGE PIN could not set it back');
      const s = await ctx.pinStart(false);
      const temp = tempPin(pin);
      await ctx.selectSsse();
      await ctx.expect('CHANGE PIN old → new', changeCommand(pin, temp), 0x9000);
      let restored = false;
      try {
        ctx.expectSw('VERIFY the new PIN', await ctx.verify(temp), 0x9000);
        await ctx.expect('CHANGE PIN new → old', changeCommand(temp, pin), 0x9000);
        restored = true;
        await verifyRight(ctx, s, 'VERIFY the old PIN again');
      } finally {
        if (!restored) {
          const back = await ctx.send(changeCommand(temp, pin));
          if (back.sw !== 0x9000) {
            ctx.shared.pinStop = `the PIN could not be changed back: it may now be ${temp}`;
            ctx.fail(ctx.shared.pinStop);
          }
        }
      }
    },
  },
];
