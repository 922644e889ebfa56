/**
 * The counter's printed receipts (申领回执, 补换卡回执): their lines, their footers and the one
 * layout they share, so the wording a holder takes home is in one place.
 */
import { localDateTime } from '../../time.ts';
import type { CardProfile } from '../../card/profile.ts';
import { MODE_LABELS, REASON_LABELS } from './labels.ts';
import type { ReplaceReason } from '../../../state-machines/card-lifecycle.machine.ts';
import type { Branch, CardProgress } from './types.ts';

/** A receipt shows the SSN with its middle starred out. */
export function maskSsn(ssn: string): string {
  return ssn.length > 10 ? `${ssn.slice(0, 6)}${'*'.repeat(ssn.length - 10)}${ssn.slice(-4)}` : ssn;
}

function receipt(
  branch: Readonly<Branch>,
  r: { title: string; lines: [string, string][]; at: Date; footer: string },
): string {
  const width = Math.max(...r.lines.map(([k]) => k.length));
  return [
    r.title,
    '-'.repeat(32),
    ...r.lines.map(([k, v]) => `${k}${'　'.repeat(width - k.length)}：${v}`),
    `受理网点${'　'.repeat(Math.max(0, width - 4))}：${branch.city} ${branch.id}`,
    `受理时间${'　'.repeat(Math.max(0, width - 4))}：${localDateTime(r.at)}`,
    '-'.repeat(32),
    r.footer,
  ].join('\n');
}

/** 申领回执 (R10.1 step 4). */
export function applicationReceipt(
  branch: Readonly<Branch>,
  r: {
    applicationId: string;
    name: string;
    ssn: string;
    cardId: string;
    profile: CardProfile;
    mode: 'normal' | 'instant';
    accountType: 'class-1' | 'special-class-1';
    channel: string;
    progress: CardProgress;
    at: Date;
  },
): string {
  return receipt(branch, {
    title: '社会保障卡申领回执',
    lines: [
      ['申请编号', r.applicationId],
      ['姓名', r.name],
      ['社会保障号码', maskSsn(r.ssn)],
      ['卡号', r.cardId],
      ['银行卡号', r.profile.financial?.pan ?? ''],
      ['制卡方式', MODE_LABELS[r.mode].zh],
      ['个人结算类型', r.accountType === 'class-1' ? '一类账户' : '特殊一类账户'],
      ['申请渠道', r.channel],
      ['当前状态', r.progress.zh],
    ],
    at: r.at,
    footer:
      r.mode === 'normal'
        ? '卡片制成并到达网点后，请本人持身份证件到本网点领卡启用（设置金融密码和社保密码）。'
        : '即时制卡：请在网点等候领卡，领卡时设置金融密码和社保密码（初始密码123456不能在POS机使用）。',
  });
}

/** 补换卡回执 (R2.1). */
export function replacementReceipt(
  branch: Readonly<Branch>,
  r: {
    oldCardId: string;
    newCardId: string;
    profile: CardProfile;
    reason: ReplaceReason;
    mode: 'normal' | 'instant';
    progress: CardProgress;
    at: Date;
  },
): string {
  return receipt(branch, {
    title: '社会保障卡补换卡回执',
    lines: [
      ['原卡号', r.oldCardId],
      ['新卡号', r.newCardId],
      ['银行卡号', r.profile.financial?.pan ?? ''],
      ['姓名', r.profile.holder.name],
      ['社会保障号码', maskSsn(r.profile.holder.ssn)],
      ['补换原因', REASON_LABELS[r.reason].zh],
      ['新卡', '三代社保卡'],
      ['制卡方式', MODE_LABELS[r.mode].zh],
      ['当前状态', r.progress.zh],
    ],
    at: r.at,
    footer: '原卡已注销，账户余额已转入新卡。领卡时须修改社保密码（初始密码123456不能在POS机使用）。',
  });
}
