import type { ArgsOf, ResultOf } from '../../../core/api/contract.ts';

/**
 * 申领: the form's fields, choices and examples, apart from the component that draws them so
 * the form stays readable (R3, R5–R12).
 */

export const CHANNELS: { id: string; zh: string; en: string }[] = [
  { id: 'bank-outlet', zh: '银行网点', en: 'bank outlet' },
  { id: '省卡系统', zh: '省卡系统（银行端）', en: 'provincial card system (bank side)' },
  { id: '广东人社APP', zh: '广东人社APP', en: 'Guangdong HRSS app' },
  { id: '粤省事', zh: '粤省事小程序', en: 'Yueshengshi mini program' },
  { id: '广东政务服务网', zh: '广东政务服务网', en: 'Guangdong government services website' },
  { id: '穗好办APP', zh: '穗好办APP', en: 'Suihaoban app' },
  { id: 'bank-mini-program', zh: '银行微信小程序', en: "bank's WeChat mini program" },
  { id: 'bank-digital-space', zh: '银行数字空间', en: "bank's digital space" },
  { id: '粤智助', zh: '粤智助', en: 'Yuezhizhu kiosk' },
  { id: '智易通', zh: '智易通社保卡申请', en: 'Zhiyitong card application' },
];

export const DOC_TYPES: { id: string; zh: string; en: string }[] = [
  { id: 'id', zh: '居民身份证', en: 'citizen ID card' },
  { id: 'hk-macau-permit', zh: '港澳居民来往内地通行证', en: 'Hong Kong/Macau permit' },
  { id: 'residence-permit', zh: '港澳台居民居住证', en: 'residence permit' },
  { id: 'passport', zh: '护照', en: 'passport' },
];

export interface ApplyForm {
  name: string;
  sex: string;
  birthDate: string;
  nation: string;
  nationality: string;
  docType: string;
  docNumber: string;
  phone: string;
  address: string;
  birthplace: string;
  idImagesUploaded: boolean;
  livesWorksOrInsuredInGuangdong: boolean;
  employedOrInsuredInGuangdong: boolean;
  photoReceiptNumber: string;
  residentStatusFlag: '' | 'yes' | 'no';
  channel: string;
  mode: 'normal' | 'instant';
  gName: string;
  gDocType: string;
  gDocNumber: string;
  gNationality: string;
  gContact: string;
}

export const EMPTY_FORM: ApplyForm = {
  name: '',
  sex: 'male',
  birthDate: '',
  nation: '01',
  nationality: 'CHN',
  docType: 'id',
  docNumber: '',
  phone: '',
  address: '',
  birthplace: '',
  idImagesUploaded: false,
  livesWorksOrInsuredInGuangdong: true,
  employedOrInsuredInGuangdong: false,
  photoReceiptNumber: '',
  residentStatusFlag: '',
  channel: 'bank-outlet',
  mode: 'normal',
  gName: '',
  gDocType: 'id',
  gDocNumber: '',
  gNationality: 'CHN',
  gContact: '',
};

/** The example applicant of fixtures/applications/adult-mainland.json (the photo is uploaded). */
export const SAMPLE_FORM: ApplyForm = {
  ...EMPTY_FORM,
  name: '赵敏',
  sex: 'male',
  birthDate: '1992-03-15',
  docNumber: '440106199203154314',
  phone: '13800138000',
  address: '广州市越秀区',
  birthplace: '440106',
  idImagesUploaded: true,
};

export function fileToBase64(file: File): Promise<{ base64: string; dataUrl: string }> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error('cannot read the file'));
    reader.onload = () => {
      const dataUrl = String(reader.result);
      resolve({ base64: dataUrl.slice(dataUrl.indexOf(',') + 1), dataUrl });
    };
    reader.readAsDataURL(file);
  });
}

/** A rule's message about one field, as counterApply answers it. */
export type ApplicationIssue = Extract<ResultOf<'counterApply'>, { ok: false }>['problems'][number];

/** The fields the form shows: a problem about any other field is listed in the result box. */
export const FIELDS_SHOWN = new Set([
  'name',
  'sex',
  'birthDate',
  'nation',
  'nationality',
  'docType',
  'docNumber',
  'ssn',
  'phone',
  'address',
  'birthplace',
  'idImagesUploaded',
  'photo',
  'photoReceiptNumber',
  'residentStatusFlag',
  'livesWorksOrInsuredInGuangdong',
  'employedOrInsuredInGuangdong',
  'channel',
  'mode',
  'guardian.name',
  'guardian.docType',
  'guardian.docNumber',
  'guardian.nationality',
  'guardian.contact',
]);

/** The form as counterApply takes it: country codes normalised, everything else left to the rules. */
export function applicationArgs(f: ApplyForm, photo: { base64: string } | null): ArgsOf<'counterApply'> {
  return {
    name: f.name,
    sex: f.sex,
    birthDate: f.birthDate,
    nation: f.nation,
    nationality: f.nationality.trim().toUpperCase(),
    docType: f.docType,
    docNumber: f.docNumber,
    phone: f.phone,
    address: f.address,
    birthplace: f.birthplace,
    idImagesUploaded: f.idImagesUploaded,
    livesWorksOrInsuredInGuangdong: f.livesWorksOrInsuredInGuangdong,
    ...(f.nationality.trim().toUpperCase() !== 'CHN'
      ? { employedOrInsuredInGuangdong: f.employedOrInsuredInGuangdong }
      : {}),
    photoReceiptNumber: f.photoReceiptNumber,
    ...(f.residentStatusFlag ? { residentStatusFlag: f.residentStatusFlag === 'yes' } : {}),
    channel: f.channel,
    mode: f.mode,
    ...(photo ? { photoJpegBase64: photo.base64 } : {}),
    guardian: {
      name: f.gName,
      docType: f.gDocType,
      docNumber: f.gDocNumber,
      nationality: f.gNationality.trim().toUpperCase(),
      contact: f.gContact,
    },
  };
}
