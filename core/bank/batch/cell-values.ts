/**
 * The words a batch file's cells may hold: today's spreadsheets and habits write yes/no, sex,
 * document types, nationalities, channels and dates in many ways, and each is accepted here.
 */
import type { Channel } from '../types.ts';
import type { DocType } from '../../rules/ssn-from-document.ts';
import { isValidDate } from '../../rules/ssn.ts';
import { CHANNELS, DOC_TYPES } from '../application.ts';

export const YES = new Set(['是', '有', '已上传', 'yes', 'y', 'true', '1']);
export const NO = new Set(['否', '无', '未上传', 'no', 'n', 'false', '0']);

export const SEX: ReadonlyMap<string, 'male' | 'female'> = new Map([
  ['男', 'male'],
  ['male', 'male'],
  ['m', 'male'],
  ['1', 'male'],
  ['女', 'female'],
  ['female', 'female'],
  ['f', 'female'],
  ['2', 'female'],
]);

export const DOC_TYPE_ALIASES: ReadonlyMap<string, DocType> = (() => {
  const m = new Map<string, DocType>();
  for (const [key, names] of Object.entries(DOC_TYPES) as [DocType, { zh: string; en: string }][]) {
    m.set(key, key);
    m.set(names.zh, key);
    m.set(names.en.toLowerCase(), key);
  }
  m.set('身份证', 'id');
  m.set('港澳通行证', 'hk-macau-permit');
  m.set('居住证', 'residence-permit');
  return m;
})();

export const NATIONALITY_ALIASES: ReadonlyMap<string, string> = new Map([
  ['中国', 'CHN'],
  ['中国内地', 'CHN'],
  ['香港', 'HKG'],
  ['中国香港', 'HKG'],
  ['澳门', 'MAC'],
  ['中国澳门', 'MAC'],
  ['台湾', 'TWN'],
  ['中国台湾', 'TWN'],
]);

export const CHANNEL_ALIASES: ReadonlyMap<string, Channel> = (() => {
  const m = new Map<string, Channel>();
  for (const [key, c] of Object.entries(CHANNELS) as [Channel, { zh: string }][]) {
    m.set(key.toLowerCase(), key);
    m.set(c.zh.toLowerCase(), key);
  }
  m.set('省卡系统(银行端)', '省卡系统');
  m.set('xx银行微信小程序', 'bank-mini-program');
  m.set('银行小程序', 'bank-mini-program');
  m.set('xx银行数字空间', 'bank-digital-space');
  m.set('粤智助（行内）', '粤智助');
  m.set('智易通（行内）', '智易通');
  m.set('银行网点（行内）', 'bank-outlet');
  return m;
})();

/** Today's spreadsheets reformat dates: accept 2014-03-05, 2014/3/5, 2014.3.5, 20140305, 2014年3月5日. */
export function parseDate(text: string): string | null {
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const iso = `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`;
  return isValidDate(iso) ? iso : null;
}
