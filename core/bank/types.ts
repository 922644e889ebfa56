import type { DocType } from '../rules/ssn-from-document.ts';

/**
 * An application for a social security card at the bank counter (申领), as the counter's
 * forms, the batch file and the CLI fill it in. Validated by core/bank/application.ts.
 */
export type Channel =
  // R6 online
  | '广东人社APP'
  | '粤省事'
  | '广东政务服务网'
  | '穗好办APP'
  | 'bank-mini-program'
  | 'bank-digital-space'
  // R6 offline
  | '省卡系统'
  | '粤智助'
  | '智易通'
  | 'bank-outlet';

export type IssuanceMode = 'normal' | 'instant' | 'batch';

export interface Guardian {
  name: string;
  docType: DocType;
  docNumber: string;
  nationality: string;
  contact: string;
}

export interface Application {
  /** Applicant */
  name: string;
  sex: 'male' | 'female';
  birthDate: string; // YYYY-MM-DD
  nation: string; // 2-digit code
  nationality: string; // ISO 3166 alpha-3 (CHN, HKG, MAC, TWN, USA…)
  docType: DocType;
  docNumber: string;
  /** Filled in by the counter from the document (R3.3/R3.4); validated against it if given. */
  ssn?: string;
  phone: string;
  address?: string;
  birthplace?: string; // 6-digit area code
  /** R9: ID card front and back images uploaded (required even though the form does not mark them). */
  idImagesUploaded: boolean;
  /** R8: the photo (JPEG bytes), or null when a child under 7 has none. */
  photo: Uint8Array | null;
  /** R9: under 16 the guardian's five elements are mandatory. */
  guardian?: Guardian;
  /** R12: non-mainland applicants. */
  photoReceiptNumber?: string;
  residentStatusFlag?: boolean;
  /** R5.1 */
  livesWorksOrInsuredInGuangdong: boolean;
  employedOrInsuredInGuangdong?: boolean;
  /** R6: where the application came in. */
  channel: Channel;
  mode: IssuanceMode;
}
