/**
 * Checks an application for a social security card (申领) before it goes into 省卡系统: what a
 * counter clerk, the batch import (batch.ts) and the CLI all need to know — may this person
 * apply, is the form complete, which account type does the card get.
 *
 * Rules, each problem naming the Application field it is about:
 * - R3.3 / R3.4 / R12: the SSN comes from the document (ssnFromDocument); a given `ssn` must
 *   equal it. Where the document number is in the citizen ID format (a mainland ID, or a
 *   Hong Kong/Macau/Taiwan residence permit, which uses the same format), the birth date and sex
 *   on the form must match the ones inside the number.
 * - R9 (the outlet's form): name, sex, birth date, nation code, phone; the ID images must be
 *   uploaded although the form does not mark them required; under 16 the guardian's five elements
 *   (name, document type, document number, nationality, contact) are mandatory, and a guardian's
 *   mainland ID is checked like the applicant's. The name must be writable on the card: GBK, at
 *   most 30 bytes in tag 09 plus the 20-byte extension 4E (gen 3 is what gets issued, R2.1).
 * - R8: the photo (checkPhoto) for the applicant's age; a child under 7 may have none. A
 *   non-mainland applicant's photo may come through the photo receipt number instead (R12).
 * - R12: non-mainland applicants (nationality other than CHN, or a permit or passport) need the
 *   photo receipt number (相片回执号) and the resident status flag (居民身份标识), apply through
 *   省卡系统 at the bank, and get 个人结算类型 特殊一类账户; everyone else 普通一类账户.
 * - R6: the channel is one of the handbook's; instant and batch issuance are done at the bank
 *   (省卡系统), so they need a bank-side channel.
 * - R5 / R7: checkEligibility. `cannot` and `cannot-until-cleanup` are problems (the cleanup
 *   reason says what to do first); `warn` is a warning and the application may go ahead.
 *
 * `verdict` is the eligibility verdict alone (may this person apply here at all); `ok` is whether
 * the application can be submitted as it stands (no problems of any kind).
 *
 * Pure: no I/O, no clock — `today` comes from the caller (Beijing business date).
 */
import type { Application, Channel, IssuanceMode } from './types.ts';
import type { DocType } from '../rules/ssn-from-document.ts';
import { ssnFromDocument } from '../rules/ssn-from-document.ts';
import {
  checkEligibility,
  type Branch,
  type EligibilityReason,
  type ExistingCard,
  type Verdict,
} from '../rules/eligibility.ts';
import { checkPhoto } from '../rules/photo.ts';
import { isValidDate, mainlandIdParts } from '../rules/ssn.ts';
import { RESIDENCE_PERMIT_AREA } from '../rules/ssn-from-document.ts';
import { isGbkEncodable } from '../card/codec.ts';
import { splitName } from '../card/layout.ts';
import { isValidBusinessDate } from '../time.ts';

export type AccountType = '普通一类账户' | '特殊一类账户';

export interface ApplicationIssue {
  /** The Application field, dotted for the guardian (`guardian.contact`); see ContextField. */
  field: string;
  /** The rule from domain-rules.md: 'R9', 'R8', 'R3.3', 'R12', 'R6', 'R5.2', … */
  rule: string;
  zh: string;
  en: string;
  /** A finer rule id where the check has one, e.g. 'R8.size' for a photo problem. */
  detail?: string;
}

/**
 * Fields that are not in the Application but in the context: `existingCards` (R5.2/R7 reasons
 * about a card the person already holds) and `branch` (the branch does not offer the business).
 */
export type ContextField = 'existingCards' | 'branch';

export interface ApplicationContext {
  /** The business date, YYYY-MM-DD (Beijing time), for the applicant's age. */
  today: string;
  /** The person's cards as the card management system shows them (R5.2, R7). */
  existingCards: readonly ExistingCard[];
  /** The branch taking the application; left out, one that offers the card business. */
  branch?: Branch;
}

export interface ApplicationCheck {
  ok: boolean;
  /** The SSN from the document, or null when the document is refused. */
  ssn: string | null;
  /** R5/R7 eligibility alone. */
  verdict: Verdict;
  problems: ApplicationIssue[];
  warnings: ApplicationIssue[];
  /** Informational lines: a child under 7 without a photo, a card that no longer counts, … */
  notes: ApplicationIssue[];
  /** 个人结算类型 (R12). */
  accountType: AccountType;
  /** Whole years at `today`, or null when the birth date is not usable. */
  ageYears: number | null;
}

/** R6: the application channels, as the handbook lists them. */
export const CHANNELS: Readonly<Record<Channel, { zh: string; en: string; online: boolean }>> = {
  广东人社APP: { zh: '广东人社APP', en: 'Guangdong HRSS app', online: true },
  粤省事: { zh: '粤省事小程序', en: 'Yueshengshi mini program', online: true },
  广东政务服务网: { zh: '广东政务服务网', en: 'Guangdong government services website', online: true },
  穗好办APP: { zh: '穗好办APP', en: 'Suihaoban app', online: true },
  'bank-mini-program': { zh: '银行微信小程序', en: "the bank's WeChat mini program", online: true },
  'bank-digital-space': { zh: '银行数字空间', en: "the bank's digital space", online: true },
  省卡系统: { zh: '省卡系统（银行端）', en: 'the provincial card system (bank side)', online: false },
  粤智助: { zh: '粤智助', en: 'Yuezhizhu kiosk', online: false },
  智易通: { zh: '智易通社保卡申请', en: 'Zhiyitong card application', online: false },
  'bank-outlet': { zh: '银行网点', en: 'bank outlet', online: false },
};

/** The channels worked by bank staff in 省卡系统: instant and batch issuance (R9), non-mainland applicants (R12). */
export const BANK_SIDE_CHANNELS: readonly Channel[] = ['省卡系统', 'bank-outlet'];

export const DOC_TYPES: Readonly<Record<DocType, { zh: string; en: string }>> = {
  id: { zh: '居民身份证', en: 'citizen ID card' },
  'hk-macau-permit': { zh: '港澳居民来往内地通行证', en: 'Hong Kong/Macau permit' },
  'residence-permit': { zh: '港澳台居民居住证', en: 'residence permit' },
  passport: { zh: '护照', en: 'passport' },
};

export const ISSUANCE_MODES: Readonly<Record<IssuanceMode, { zh: string; en: string }>> = {
  normal: { zh: '普通制卡', en: 'normal issuance' },
  instant: { zh: '即时制卡', en: 'instant issuance' },
  batch: { zh: '批量制卡', en: 'batch issuance' },
};

/** R9: under this age the guardian's five elements are mandatory. */
export const GUARDIAN_REQUIRED_UNDER = 16;
/** Card name fields (card-reference.md): tag 09 is 30 bytes, the gen 2/3 extension 4E 20 more. */
export const NAME_MAX_GBK_BYTES = 50;
const NAME_EXTENSION_BYTES = 20;

const has = <K extends string>(table: Readonly<Record<K, unknown>>, key: unknown): key is K =>
  typeof key === 'string' && Object.hasOwn(table, key);

const blank = (s: unknown): boolean => typeof s !== 'string' || s.trim() === '';

/** Loose: a mobile, landline or Hong Kong/Macau number with optional +, spaces and hyphens. */
const PHONE = /^\+?[0-9][0-9 -]{4,22}[0-9]$/;

/**
 * Age in whole years (周岁) on `today`: the birthday counts from its own date; someone born on
 * 29 February turns a year older on 1 March in common years.
 */
export function ageInYears(birthDate: string, today: string): number {
  const age = Number(today.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return today.slice(5) < birthDate.slice(5) ? age - 1 : age;
}

/** R12: anyone not a mainland resident applying with a citizen ID. */
export function isNonMainland(app: Pick<Application, 'nationality' | 'docType'>): boolean {
  return app.nationality !== 'CHN' || app.docType !== 'id';
}

const isChineseNationality = (n: string): boolean => n === 'CHN' || Object.hasOwn(RESIDENCE_PERMIT_AREA, n);

export function validateApplication(app: Application, ctx: ApplicationContext): ApplicationCheck {
  if (!isValidBusinessDate(ctx.today)) throw new RangeError(`today must be YYYY-MM-DD, not '${ctx.today}'`);
  const problems: ApplicationIssue[] = [];
  const warnings: ApplicationIssue[] = [];
  const notes: ApplicationIssue[] = [];
  const add = (field: string, rule: string, zh: string, en: string, detail?: string) =>
    problems.push(detail === undefined ? { field, rule, zh, en } : { field, rule, zh, en, detail });

  const nonMainland = isNonMainland(app);
  const nationalityWellFormed = typeof app.nationality === 'string' && /^[A-Z]{3}$/.test(app.nationality);

  // R3.3 / R3.4 / R12: the SSN from the document.
  let ssn: string | null = null;
  const fromDoc = ssnFromDocument({
    country: String(app.nationality),
    docType: app.docType,
    doc: String(app.docNumber ?? ''),
  });
  if (fromDoc.ok) {
    ssn = fromDoc.ssn;
    if (fromDoc.note) warnings.push({ field: 'ssn', rule: 'R3.4', ...fromDoc.note });
  } else {
    const field = !nationalityWellFormed
      ? 'nationality'
      : !has(DOC_TYPES, app.docType)
        ? 'docType'
        : 'docNumber';
    add(field, fromDoc.reason.rule, fromDoc.reason.zh, fromDoc.reason.en);
  }
  if (ssn !== null && !blank(app.ssn) && app.ssn!.trim().toUpperCase() !== ssn) {
    add(
      'ssn',
      nonMainland ? 'R3.4' : 'R3.3',
      `社会保障号码“${app.ssn}”与证件生成的 ${ssn} 不一致`,
      `The SSN '${app.ssn}' does not match ${ssn}, the one the document gives`,
    );
  }

  // R9: the applicant's own fields.
  checkName(app.name, add);
  if (app.sex !== 'male' && app.sex !== 'female') {
    add('sex', 'R9', '性别须为男或女', "Sex must be 'male' or 'female'");
  }
  let ageYears: number | null = null;
  if (typeof app.birthDate !== 'string' || !isValidDate(app.birthDate)) {
    add(
      'birthDate',
      'R9',
      `出生日期“${String(app.birthDate)}”不是有效日期（YYYY-MM-DD）`,
      `The birth date '${String(app.birthDate)}' is not a date (YYYY-MM-DD)`,
    );
  } else if (app.birthDate > ctx.today) {
    add(
      'birthDate',
      'R9',
      `出生日期 ${app.birthDate} 晚于今天 ${ctx.today}`,
      `The birth date ${app.birthDate} is after today, ${ctx.today}`,
    );
  } else {
    ageYears = ageInYears(app.birthDate, ctx.today);
  }
  // The citizen ID format carries the birth date and sex (mainland IDs and residence permits).
  if (ssn !== null && (app.docType === 'id' || app.docType === 'residence-permit')) {
    const inId = mainlandIdParts(ssn);
    const rule = app.docType === 'id' ? 'R3.3' : 'R3.4';
    const docZh = DOC_TYPES[app.docType].zh;
    if (isValidDate(String(app.birthDate)) && inId.birthDate !== app.birthDate) {
      add(
        'birthDate',
        rule,
        `出生日期 ${app.birthDate} 与${docZh}号码中的 ${inId.birthDate} 不一致`,
        `The birth date ${app.birthDate} does not match ${inId.birthDate} in the ${DOC_TYPES[app.docType].en} number`,
      );
    }
    if ((app.sex === 'male' || app.sex === 'female') && inId.sex !== app.sex) {
      add(
        'sex',
        rule,
        `性别与${docZh}号码不一致：号码第 17 位表示${inId.sex === 'male' ? '男' : '女'}性`,
        `The sex does not match the ${DOC_TYPES[app.docType].en} number: its 17th digit says ${inId.sex}`,
      );
    }
  }
  if (typeof app.nation !== 'string' || !/^[0-9]{2}$/.test(app.nation)) {
    add(
      'nation',
      'R9',
      `民族代码须为 2 位数字（如汉族 01），“${String(app.nation)}”不符合`,
      `The nation code must be 2 digits (e.g. 01 for Han), not '${String(app.nation)}'`,
    );
  }
  checkPhone('phone', app.phone, '手机号码', 'phone number', add);
  if (app.birthplace !== undefined && !/^[0-9]{6}$/.test(app.birthplace)) {
    add(
      'birthplace',
      'R9',
      `出生地须为 6 位行政区划代码，“${app.birthplace}”不符合`,
      `The birthplace must be a 6-digit area code, not '${app.birthplace}'`,
    );
  }
  if (app.idImagesUploaded !== true) {
    add(
      'idImagesUploaded',
      'R9',
      '须上传证件（身份证）正反面影像文件：表单虽未标红*，但为必传项',
      'Upload the front and back images of the ID document: required although the form does not mark it',
    );
  }

  // R9: under 16, the guardian's five elements.
  if (ageYears !== null && ageYears < GUARDIAN_REQUIRED_UNDER) {
    checkGuardian(app, ssn, add);
  }

  // R8: the photo.
  const receiptGiven = !blank(app.photoReceiptNumber);
  if ((app.photo === null || app.photo === undefined) && nonMainland && receiptGiven) {
    notes.push({
      field: 'photo',
      rule: 'R12',
      zh: `相片按相片回执号 ${app.photoReceiptNumber!.trim()} 在省卡系统中调取`,
      en: `The photo is taken from 省卡系统 by photo receipt number ${app.photoReceiptNumber!.trim()}`,
    });
  } else {
    const photo = checkPhoto(app.photo ?? null, ageYears === null ? {} : { ageYears });
    for (const p of photo.problems) add('photo', 'R8', p.zh, p.en, p.rule);
    for (const n of photo.notes) notes.push({ field: 'photo', rule: 'R8', ...n });
  }

  // R12: non-mainland applicants.
  if (nonMainland) {
    if (!receiptGiven) {
      add(
        'photoReceiptNumber',
        'R12',
        '非内地居民申领须提供相片回执号',
        'A non-mainland applicant must give the photo receipt number (相片回执号)',
      );
    }
    if (typeof app.residentStatusFlag !== 'boolean') {
      add(
        'residentStatusFlag',
        'R12',
        '非内地居民须选择居民身份标识',
        'A non-mainland applicant needs the resident status flag (居民身份标识)',
      );
    }
  }

  // R6: the channel; R9/R12: who may use which.
  if (!has(CHANNELS, app.channel)) {
    add(
      'channel',
      'R6',
      `未知的申请渠道“${String(app.channel)}”，应为：${Object.values(CHANNELS)
        .map((c) => c.zh)
        .join('、')}`,
      `Unknown channel '${String(app.channel)}'; one of: ${Object.keys(CHANNELS).join(', ')}`,
    );
  } else {
    const where = CHANNELS[app.channel];
    if (!has(ISSUANCE_MODES, app.mode)) {
      add(
        'mode',
        'R9',
        `制卡方式须为普通制卡、即时制卡或批量制卡，而非“${String(app.mode)}”`,
        `The issuance mode must be normal, instant or batch, not '${String(app.mode)}'`,
      );
    } else if (app.mode !== 'normal' && !BANK_SIDE_CHANNELS.includes(app.channel)) {
      const mode = ISSUANCE_MODES[app.mode];
      add(
        'channel',
        'R9',
        `${mode.zh}在银行端省卡系统中办理，不能通过${where.zh}申请`,
        `${mode.en} is done by the bank in 省卡系统, not through ${where.en}`,
      );
    }
    if (nonMainland && !BANK_SIDE_CHANNELS.includes(app.channel)) {
      add(
        'channel',
        'R12',
        `非内地居民须在银行端省卡系统申领，不能通过${where.zh}申请`,
        `Non-mainland residents apply through the bank in 省卡系统, not through ${where.en}`,
      );
    }
  }

  // R5 / R7: eligibility.
  const chinese = isChineseNationality(String(app.nationality));
  const eligibility = checkEligibility(
    {
      nationality: String(app.nationality),
      livesWorksOrInsuredInGuangdong: app.livesWorksOrInsuredInGuangdong === true,
      foreigner: !chinese,
      ...(app.employedOrInsuredInGuangdong === undefined
        ? {}
        : { employedOrInsuredInGuangdong: app.employedOrInsuredInGuangdong }),
    },
    ctx.existingCards,
    ctx.branch ?? { city: '', cardBusinessOnline: true },
  );
  const fieldOf = (r: EligibilityReason): string => {
    if (r.rule === 'R6') return 'branch' satisfies ContextField;
    if (r.rule === 'R5.1') {
      if (!nationalityWellFormed) return 'nationality';
      return chinese ? 'livesWorksOrInsuredInGuangdong' : 'employedOrInsuredInGuangdong';
    }
    return 'existingCards' satisfies ContextField;
  };
  for (const r of eligibility.reasons) {
    const issue: ApplicationIssue = { field: fieldOf(r), rule: r.rule, zh: r.zh, en: r.en };
    if (r.verdict === 'cannot' || r.verdict === 'cannot-until-cleanup') {
      // A malformed nationality is already reported with the document.
      if (!(r.rule === 'R5.1' && !nationalityWellFormed)) problems.push(issue);
    } else if (r.verdict === 'warn') warnings.push(issue);
    else if (r.rule !== 'R5.1') notes.push(issue);
  }

  return {
    ok: problems.length === 0,
    ssn,
    verdict: eligibility.verdict,
    problems,
    warnings,
    notes,
    accountType: nonMainland ? '特殊一类账户' : '普通一类账户',
    ageYears,
  };
}

type Add = (field: string, rule: string, zh: string, en: string, detail?: string) => void;

function checkName(name: unknown, add: Add): void {
  if (blank(name)) {
    add('name', 'R9', '姓名为必填项', 'The name is required');
    return;
  }
  const text = name as string;
  if (text !== text.trim() || /\p{Cc}/u.test(text)) {
    add(
      'name',
      'R9',
      '姓名首尾不能有空格，中间不能有换行等控制字符',
      'The name cannot start or end with spaces or contain line breaks or other control characters',
    );
    return;
  }
  if (!isGbkEncodable(text)) {
    const bad = [...new Set([...text].filter((ch) => !isGbkEncodable(ch)))].join('');
    add(
      'name',
      'R9',
      `姓名中的“${bad}”不在 GBK 字符集中，无法写入社保卡，请按生僻字处理规定录入`,
      `'${bad}' in the name is not in GBK and cannot be written to the card; follow the rule for rare characters`,
    );
    return;
  }
  const { extension } = splitName(text);
  if (extension.length > NAME_EXTENSION_BYTES) {
    add(
      'name',
      'R9',
      `姓名过长：社保卡最多容纳 ${NAME_MAX_GBK_BYTES} 字节（GBK，约 25 个汉字）`,
      `The name is too long: the card holds at most ${NAME_MAX_GBK_BYTES} bytes in GBK (about 25 Chinese characters)`,
    );
  }
}

function checkPhone(field: string, phone: unknown, zh: string, en: string, add: Add): void {
  if (blank(phone)) {
    add(field, 'R9', `${zh}为必填项`, `The ${en} is required`);
  } else if (!PHONE.test((phone as string).trim())) {
    add(field, 'R9', `${zh}“${String(phone)}”格式不正确`, `'${String(phone)}' is not a ${en}`);
  }
}

const GUARDIAN_ELEMENTS = [
  ['name', '姓名', 'name'],
  ['docType', '证件种类', 'document type'],
  ['docNumber', '证件号码', 'document number'],
  ['nationality', '国籍', 'nationality'],
  ['contact', '联系方式', 'contact'],
] as const;

function checkGuardian(app: Application, applicantSsn: string | null, add: Add): void {
  const g = app.guardian;
  for (const [key, zh, en] of GUARDIAN_ELEMENTS) {
    if (blank(g?.[key])) {
      add(
        `guardian.${key}`,
        'R9',
        `申领人未满 ${GUARDIAN_REQUIRED_UNDER} 周岁，须填写监护人${zh}（监护人五要素缺一不可，否则无法开户）`,
        `The applicant is under ${GUARDIAN_REQUIRED_UNDER}: the guardian's ${en} is required (all five guardian elements, or the account cannot be opened)`,
      );
    }
  }
  if (!g) return;
  if (!blank(g.name) && (g.name !== g.name.trim() || /\p{Cc}/u.test(g.name))) {
    add(
      'guardian.name',
      'R9',
      '监护人姓名首尾不能有空格，中间不能有换行等控制字符',
      "The guardian's name cannot start or end with spaces or contain line breaks or other control characters",
    );
  }
  if (!blank(g.docType) && !has(DOC_TYPES, g.docType)) {
    add(
      'guardian.docType',
      'R9',
      `未知的监护人证件种类“${String(g.docType)}”`,
      `Unknown guardian document type '${String(g.docType)}'`,
    );
  }
  if (!blank(g.nationality) && !/^[A-Z]{3}$/.test(g.nationality)) {
    add(
      'guardian.nationality',
      'R9',
      `监护人国籍应为 3 位大写字母代码（如 CHN），“${g.nationality}”不符合`,
      `The guardian's nationality must be a 3-capital-letter code (e.g. CHN), not '${g.nationality}'`,
    );
  }
  if (!blank(g.contact))
    checkPhone('guardian.contact', g.contact, '监护人联系方式', "guardian's contact number", add);
  if (g.docType === 'id' && !blank(g.docNumber)) {
    const r = ssnFromDocument({ country: g.nationality, docType: 'id', doc: g.docNumber });
    if (!r.ok) add('guardian.docNumber', r.reason.rule, `监护人${r.reason.zh}`, `Guardian: ${r.reason.en}`);
    else if (applicantSsn !== null && r.ssn === applicantSsn) {
      add(
        'guardian.docNumber',
        'R9',
        '监护人证件号码与申领人相同',
        "The guardian's document number is the applicant's own",
      );
    }
  }
}
