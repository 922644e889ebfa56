import { isReaderError } from '../../../device/errors.ts';
import { toHex } from '../../card/hex.ts';
import { swHex } from '../../card/status-words.ts';
import { SELECT_SSSE, swText, type CheckContext } from '../context.ts';
import type { ConformanceCheck } from './check-model.ts';
import { EF06_RECORD_1, ef05BySfi, hex2 } from './record-support.ts';
import { changeCommand, tempPin, verifyRight, expectCounter } from './pin-support.ts';

/** Card pulls (防拔): virtual cards under this process's control. */

async function cardGone(ctx: CheckContext): Promise<boolean> {
  for (let i = 0; i < 80; i++) {
    if (!ctx.reader.cardPresent()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/**
 * Runs `action` with a pull armed, requires the reader's card-removed error and an empty
 * reader, then puts the card back and reconnects (always, so the next check has a card).
 */
async function pullDuring(
  ctx: CheckContext,
  what: string,
  match: (cmd: Uint8Array) => boolean,
  when: 'before' | 'after',
  action: () => Promise<unknown>,
): Promise<void> {
  const pull = ctx.pull;
  if (!pull) ctx.skip('needs a card this process can pull');
  pull.arm(match, when);
  let error: unknown = null;
  let answered = false;
  try {
    await action();
    answered = true;
  } catch (e) {
    error = e;
  }
  const fired = pull.fired();
  try {
    if (!fired) {
      if (error) throw error;
      ctx.fail(`${what}: the pull did not happen`);
    }
    if (answered) ctx.fail(`${what}: an answer came back although the card left during the command`);
    if (!isReaderError(error, 'CARD_REMOVED')) {
      ctx.fail(`${what}: the reader reported ${String(error)} instead of card removed`);
    }
    if (!(await cardGone(ctx))) ctx.fail(`${what}: the reader still reports a card after the pull`);
  } finally {
    if (fired) {
      await pull.reinsert();
      await ctx.reader.connect();
    }
  }
}

const ins = (i: number) => (c: Uint8Array) => c[1] === i;

export const PULL_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'PULL-01',
    group: 'pull',
    kind: 'pull',
    zh: '读记录时拔卡：读卡器报告卡已拔出，重插后数据完好',
    en: 'Card pulled during READ RECORD: the reader reports card removed; reinserted, EF05 reads the same',
    ref: '§9, docs/pcsc.md',
    expect: 'CARD_REMOVED; then EF05 identical',
    async run(ctx: CheckContext) {
      const before = (await ef05BySfi(ctx)).map(toHex);
      await ctx.selectSsse();
      await pullDuring(ctx, 'READ RECORD', ins(0xb2), 'after', () => ctx.raw('00B2072C0B'));
      const after = (await ef05BySfi(ctx)).map(toHex);
      if (after.join() !== before.join()) ctx.fail('EF05 differs after the card was reinserted');
    },
  },
  {
    id: 'PULL-02',
    group: 'pull',
    kind: 'pull',
    zh: '选择应用应答未取回时拔卡：重插后无残留应答，FCI 一致',
    en: 'Card pulled before the FCI was fetched (T=0 GET RESPONSE, T=1 SELECT): no stale answer after reinsertion',
    ref: '§1, §9',
    expect: 'CARD_REMOVED; GET RESPONSE ≠ 9000; SELECT SSSE same FCI',
    async run(ctx: CheckContext) {
      const fci = toHex(await ctx.selectSsse());
      if (ctx.facts.protocol === 'T=0') {
        const first = await ctx.raw(SELECT_SSSE);
        if (first.sw >> 8 !== 0x61) ctx.skip('the reader fetched the FCI itself (no 61xx visible)');
        await pullDuring(ctx, 'GET RESPONSE', ins(0xc0), 'before', () =>
          ctx.raw(`00C00000${hex2(first.sw & 0xff)}`),
        );
      } else {
        await pullDuring(ctx, 'SELECT SSSE', ins(0xa4), 'after', () => ctx.raw(SELECT_SSSE));
      }
      const stale = await ctx.raw('00C0000000');
      if (stale.sw === 0x9000)
        ctx.fail('GET RESPONSE after reinsertion returned data left from before the pull');
      if (toHex(await ctx.selectSsse()) !== fci) ctx.fail('the FCI differs after reinsertion');
    },
  },
  {
    id: 'PULL-03',
    group: 'pull',
    kind: 'pull',
    zh: '外部认证时拔卡：重插后认证状态清除，密钥计数器未消耗',
    en: 'Gen 3: card pulled during EXTERNAL AUTHENTICATE: after reinsertion EF06 is closed again and a new authentication works',
    ref: '§4, §9',
    expect: 'CARD_REMOVED; 6982; 9000',
    async run(ctx: CheckContext) {
      if (ctx.generation !== 3) ctx.skip('not applicable: no external authentication before EF06 on gen 1/2');
      if (!ctx.facts.simulated) ctx.skip('needs the simulator’s PSAM keys');
      await ctx.selectSsse();
      await pullDuring(ctx, 'EXTERNAL AUTHENTICATE', ins(0x82), 'after', () => ctx.externalAuthenticate());
      await ctx.selectSsse();
      await ctx.expect('READ RECORD EF06 after reinsertion', EF06_RECORD_1, 0x6982);
      await ctx.externalAuthenticate();
      await ctx.expect('READ RECORD EF06 after a new authentication', EF06_RECORD_1, 0x9000);
    },
  },
  {
    id: 'PULL-04',
    group: 'pull',
    kind: 'pull',
    needsPin: true,
    zh: '错误 PIN 送达前拔卡：计数器不变',
    en: 'Card pulled before it processed a wrong VERIFY: the try counter is unchanged',
    ref: '§5, §9',
    expect: 'CARD_REMOVED; counter n',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      if (s.limit === null) ctx.skip('the card does not report its counter without a PIN');
      await ctx.selectSsse();
      await pullDuring(ctx, 'VERIFY', ins(0x20), 'before', () => ctx.verify(ctx.wrongPin()));
      await expectCounter(ctx, 'after reinsertion', s.limit);
    },
  },
  {
    id: 'PULL-05',
    group: 'pull',
    kind: 'pull',
    needsPin: true,
    zh: '错误 PIN 处理后、应答前拔卡：计数器正确减一',
    en: 'Card pulled after it processed a wrong VERIFY, before the answer: the counter is one less, exactly',
    ref: '§5, §9, card-emulator.md (persistence)',
    expect: 'CARD_REMOVED; counter n-1; right PIN 9000',
    async run(ctx: CheckContext) {
      const s = await ctx.pinStart();
      if (s.limit === null) ctx.skip('the card does not report its counter without a PIN');
      await ctx.selectSsse();
      await pullDuring(ctx, 'VERIFY', ins(0x20), 'after', () => ctx.verify(ctx.wrongPin()));
      await expectCounter(ctx, 'after reinsertion', s.limit - 1);
      await ctx.selectSsse();
      await verifyRight(ctx, s);
    },
  },
  {
    id: 'PULL-06',
    group: 'pull',
    kind: 'pull',
    needsPin: true,
    zh: '修改 PIN 时拔卡：无半写状态，新旧 PIN 恰一个有效',
    en: 'Card pulled during CHANGE PIN: no half-written state — exactly one of old and new PIN verifies',
    ref: '§5, §9',
    expect: 'CARD_REMOVED; old or new PIN 9000',
    async run(ctx: CheckContext) {
      const pin = ctx.requirePin();
      if (pin === '123456') ctx.skip('the initial PIN 123456 cannot be set again by CHANGE PIN');
      if (!/^\d{6}$/.test(pin)) ctx.skip('the PIN is not six digits: CHANGE PIN could not set it back');
      const s = await ctx.pinStart();
      const temp = tempPin(pin);
      await ctx.selectSsse();
      await pullDuring(ctx, 'CHANGE PIN', ins(0x5e), 'after', () => ctx.send(changeCommand(pin, temp)));
      await ctx.selectSsse();
      const old = await ctx.verify(pin);
      if (old === 0x9000) return 'the change was not applied: the old PIN verifies';
      if ((old & 0xfff0) !== 0x63c0) ctx.fail(`VERIFY the old PIN: ${swText(old)}`);
      const now = await ctx.verify(temp);
      if (now !== 0x9000) {
        ctx.shared.pinStop = 'neither the old nor the new PIN verifies after the pull: PIN checks stopped';
        ctx.fail(`${ctx.shared.pinStop} (${swHex(now)})`);
      }
      await ctx.expect('CHANGE PIN back', changeCommand(temp, pin), 0x9000);
      await verifyRight(ctx, s);
      return 'the change was applied whole: the new PIN verifies (changed back)';
    },
  },
];
