/**
 * 领卡启用 (R10.1 step 7, R1.4, R13): handing the card over. The PIN is written to the chip
 * before the books are committed — a card is not part of a database transaction — so if the
 * books then failed the card would carry the new PIN while the lifecycle still says 'atOutlet',
 * and activating again would simply set it again. Another bank's card gets its PIN only where
 * the branch's 省卡系统 allows it (`canSetOtherBankPin`).
 */
import { hashSecret } from '../../card/pin.ts';
import type { Bilingual, LifecycleEvent } from '../../../state-machines/card-lifecycle.machine.ts';
import { onVirtualCard } from '../pin-services.ts';
import { reloadPin } from '../../terminal/card-commands.ts';
import { progressFields, unknownCard, type CounterContext } from './context.ts';
import { profileOf } from './queries.ts';
import type { ActivateInput, ActivateOk, CounterResult } from './types.ts';

/**
 * Hands the card over: the new PIN (not 123456, R1.4) written to the chip with the counter's
 * key, the financial password set in the bank's books, the card active.
 */
export async function activate(
  ctx: CounterContext,
  cardId: string,
  input: ActivateInput,
): Promise<CounterResult<ActivateOk>> {
  const lifecycles = ctx.lifecycles;
  const row = lifecycles.lifecycleRow(cardId);
  if (!row) return unknownCard(cardId);
  const fp = input.financialPassword;
  if (fp !== '' && !/^[0-9]{6}$/.test(fp)) {
    return lifecycles.refuseOutside(row, 'ACTIVATE', {
      rule: 'R1.2',
      zh: '金融密码（交易密码）须为6位数字',
      en: 'the financial (transaction) password must be 6 digits',
    });
  }
  const event: LifecycleEvent = {
    type: 'ACTIVATE',
    financialPasswordSet: fp !== '',
    newPin: input.newPin === '' ? null : input.newPin,
  };
  const outcome = lifecycles.run(row, event);
  if (outcome.kind !== 'moved') return lifecycles.commitRefusal(row, event, outcome);

  const cardBank = input.cardBank ?? 'this';
  const cardBranch = input.cardBranch ?? row.branch_id;
  const crossBranch = cardBank !== 'this' || cardBranch !== ctx.branch.id;
  const pinSettable = cardBank === 'this' || ctx.branch.canSetOtherBankPin;
  let note: Bilingual | null = null;
  if (cardBank === 'other') {
    note = pinSettable
      ? {
          zh: '他行社保卡：已在本网点办理金融账户激活；本地省卡系统支持，已设置社保密码（PIN码）',
          en: "another bank's card: financial account activated here; the local 省卡系统 set the card PIN",
        }
      : {
          zh: '他行社保卡：已在本网点办理金融账户激活；本网点省卡系统不能设置他行卡的社保密码（PIN码），卡片仍为初始密码123456（POS机不能交易），请到开户网点设置',
          en: "another bank's card: financial account activated here; this outlet's 省卡系统 cannot set another bank's card PIN, so the card keeps the initial PIN 123456 (refused at a POS): set it at the issuing outlet",
        };
  } else if (cardBranch !== ctx.branch.id) {
    note = {
      zh: `本行异地分行（${cardBranch}）的社保卡：已在本网点办理激活`,
      en: `this bank's card from another branch (${cardBranch}), activated here`,
    };
  }

  if (pinSettable) {
    const profile = profileOf(ctx, cardId);
    if (!profile) return unknownCard(cardId);
    const written = await onVirtualCard(ctx.store.open(profile), (reader) =>
      reloadPin(reader, ctx.pinKey, input.newPin),
    );
    if (!written.ok) {
      return lifecycles.refuseOutside(row, 'ACTIVATE', {
        rule: 'R1.4',
        zh: `写入社保密码失败：${written.zh}`,
        en: `could not set the card PIN: ${written.en}`,
      });
    }
  }
  const passwordHash = hashSecret(fp);
  ctx.tx(() => {
    ctx.ledger.setBankPassword(cardId, passwordHash);
    ctx.ledger.setCardStatus(cardId, 'active');
    ctx.db
      .prepare(`UPDATE bank_applications SET status = 'completed', updated_at = ? WHERE card_id = ?`)
      .run(ctx.now(), cardId);
    lifecycles.commit(row, event, outcome, note);
  });
  return { ok: true, ...progressFields(cardId, outcome.snapshot), pinSet: pinSettable, crossBranch, note };
}
