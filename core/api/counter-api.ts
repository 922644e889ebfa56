import { z } from 'zod';
import { changePin, onVirtualCard, unblockPin, type PinServiceResult } from '../bank/pin-services.ts';
import { validateApplication, type ApplicationIssue } from '../bank/application.ts';
import type { AdvanceEvent, CounterResult } from '../bank/counter.ts';
import type { Application, Channel } from '../bank/types.ts';
import { checkPhoto } from '../rules/photo.ts';
import { ssnFromDocument } from '../rules/ssn-from-document.ts';
import { CounterPinKey } from '../card/psam.ts';
import { businessDate } from '../time.ts';
import { reloadPin } from '../terminal/card-commands.ts';
import type { CardReader } from '../../device/reader.ts';
import { method, type MethodContext } from './define.ts';
import { readerView } from './wallet-api.ts';
import type { Workspace } from './workspace.ts';

const cardId = z.string().min(1).max(64);
const pin = z.string().regex(/^[0-9]{6}$/, { message: 'a PIN is six digits' });
const password = z.string().regex(/^[0-9]{6}$/, { message: 'a financial password is six digits' });
const text = (max: number) => z.string().max(max);
/** A JPEG as base64 (no data: prefix); a 358×441 ID photo is tens of kilobytes. */
const jpegBase64 = z
  .string()
  .min(1)
  .max(3_000_000)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'base64 (A–Z, a–z, 0–9, +, /, =) without a data: prefix' });
const docType = z.enum(['id', 'hk-macau-permit', 'residence-permit', 'passport']);

/** A refusal as every counter method returns it: the rule and the reason in both languages. */
export interface CounterApiRefusal {
  ok: false;
  rule: string;
  zh: string;
  en: string;
}

/**
 * The holder brings the card to the counter: a card still in the till's reader is taken out
 * first (one card cannot sit in two readers), and the counter works on the same chip memory.
 */
async function atCounter<T>(ctx: MethodContext, id: string, fn: Parameters<typeof onVirtualCard<T>>[1]) {
  const ws = ctx.ws();
  const card = ws.card(id);
  if (ws.insertedCardId === id) ctx.readerService.assertReaderFree();
  const tookFromTill = takeFromTill(ctx, id);
  // The counter's exchanges show in the same APDU trace as the till's (PIN data masked).
  const result = await onVirtualCard(card, fn, { trace: ws.trace });
  return { ...result, tookFromTill };
}

/** Pulls the card out of the till's reader if it is there; says whether it was. */
function takeFromTill(ctx: MethodContext, id: string): boolean {
  const ws = ctx.ws();
  if (ws.insertedCardId !== id) return false;
  ws.remove();
  ctx.emit({ type: 'reader', reader: readerView(ws) });
  return true;
}

/** The rule each PIN service outcome enforces (R1.4 the initial PIN; R1.3 the card's own PIN). */
const PIN_RULES: Record<Exclude<PinServiceResult, { ok: true }>['code'], string> = {
  INITIAL_PIN_AS_NEW: 'R1.4',
  BAD_PIN: 'R1.4',
  WRONG_OLD_PIN: 'R1.3',
  PIN_BLOCKED: 'R1.3',
  CARD_ERROR: 'card',
};

function withRule<T extends { tookFromTill: boolean }>(r: PinServiceResult & T) {
  return r.ok ? r : { ...r, rule: PIN_RULES[r.code] };
}

/**
 * The card number the counter's books know the card by, for a wallet id (a bundled card's
 * id, or the number of a card issued here). A bundled card the ledger has not seen yet is
 * imported first, so its lifecycle can start at `active`.
 */
function cardNumber(ws: Workspace, id: string): string {
  const number = ws.profile(id).card.number;
  if (!ws.pos.store.ledger.getCard(number)) ws.card(id);
  return number;
}

/** A counter result, with the wallet id the screens use for the card. */
function tagged<T>(id: string, r: CounterResult<T>) {
  return r.ok ? { ...r, walletId: id } : r;
}

/**
 * RELOAD PIN on the card object the till shares, after activation wrote the PIN through the
 * counter's own card object: the till's copy of the chip memory must not keep the old PIN
 * (its next write would put it back in the books).
 */
async function reloadSharedPin(reader: CardReader, newPin: string): Promise<boolean> {
  return (await reloadPin(reader, new CounterPinKey(), newPin)).ok;
}

const guardian = z
  .object({
    name: text(100),
    docType: text(32),
    docNumber: text(64),
    nationality: text(8),
    contact: text(32),
  })
  .strict();

/** The application form (申领表): shapes only; the rules themselves are validateApplication's. */
const applicationForm = z
  .object({
    name: text(100),
    sex: text(16),
    birthDate: text(32),
    nation: text(8),
    nationality: text(8),
    docType: text(32),
    docNumber: text(64),
    ssn: text(32).optional(),
    phone: text(32),
    address: text(200).optional(),
    birthplace: text(16).optional(),
    idImagesUploaded: z.boolean(),
    /** The applicant's photo (R8), JPEG as base64; left out for a child under 7 without one. */
    photoJpegBase64: jpegBase64.optional(),
    guardian: guardian.optional(),
    photoReceiptNumber: text(64).optional(),
    residentStatusFlag: z.boolean().optional(),
    livesWorksOrInsuredInGuangdong: z.boolean(),
    employedOrInsuredInGuangdong: z.boolean().optional(),
    channel: text(32).default('bank-outlet'),
    mode: z.enum(['normal', 'instant']).default('normal'),
  })
  .strict();

type ApplicationForm = z.output<typeof applicationForm>;

/** Optional text left blank on a form is not given at all. */
function given(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

function toApplication(f: ApplicationForm): Application {
  const { photoJpegBase64, ssn, address, birthplace, photoReceiptNumber, guardian: g, ...rest } = f;
  const guardianGiven = g && Object.values(g).some((v) => v.trim() !== '');
  return {
    ...rest,
    sex: rest.sex as Application['sex'],
    docType: rest.docType as Application['docType'],
    channel: rest.channel as Channel,
    photo: photoJpegBase64 ? new Uint8Array(Buffer.from(photoJpegBase64, 'base64')) : null,
    ...(given(ssn) ? { ssn: ssn!.trim() } : {}),
    ...(given(address) ? { address: address! } : {}),
    ...(given(birthplace) ? { birthplace: birthplace!.trim() } : {}),
    ...(given(photoReceiptNumber) ? { photoReceiptNumber: photoReceiptNumber! } : {}),
    ...(guardianGiven ? { guardian: g as Application['guardian'] } : {}),
  };
}

function issueWords(problems: ApplicationIssue[]): CounterApiRefusal {
  const first = problems[0]!;
  return {
    ok: false,
    rule: first.rule,
    zh: `申领资料有 ${problems.length} 处问题，未受理：${first.zh}`,
    en: `The application has ${problems.length} problem(s) and was not accepted: ${first.en}`,
  };
}

/** The bank counter (银行网点): PIN services on the card, and the card's lifecycle. */
export const counterMethods = {
  /** 修改密码: old PIN and new PIN; the new one cannot be the initial 123456 (R1.4). */
  counterChangePin: method(
    z.object({ cardId, oldPin: pin, newPin: pin }).strict(),
    async (ctx, { cardId: id, oldPin, newPin }) =>
      withRule(await atCounter(ctx, id, (r) => changePin(r, oldPin, newPin))),
    { mutates: true },
  ),

  /** 密码解锁: resets the try counter with the counter's key; the PIN itself is unchanged. */
  counterUnblock: method(
    z.object({ cardId }).strict(),
    async (ctx, { cardId: id }) => withRule(await atCounter(ctx, id, (r) => unblockPin(r))),
    { mutates: true },
  ),

  /**
   * 申领: checks the application (R3, R5–R12: every problem with its field and rule) and, if it
   * passes, accepts it: the card exists (gen 3, initial PIN, not activated) and the receipt is
   * printed. Nothing is written when a check fails.
   */
  counterApply: method(
    applicationForm,
    (ctx, form) => {
      const ws = ctx.ws();
      const app = toApplication(form);
      const fromDoc = ssnFromDocument({
        country: String(app.nationality).trim().toUpperCase(),
        docType: app.docType,
        doc: String(app.docNumber),
      });
      const ssnForCards = app.ssn ?? (fromDoc.ok ? fromDoc.ssn : '');
      const check = validateApplication(app, {
        today: businessDate(ws.pos.clock()),
        existingCards: ssnForCards ? ws.counter.cardsAgainstApplication(ssnForCards) : [],
      });
      const about = {
        ssn: check.ssn,
        accountType: check.accountType,
        ageYears: check.ageYears,
        warnings: check.warnings,
        notes: check.notes,
      };
      if (!check.ok) return { ...issueWords(check.problems), problems: check.problems, ...about };
      const r = ws.counter.apply({ ...app, ssn: check.ssn! }, form.mode);
      if (!r.ok) return { ...r, problems: [] as ApplicationIssue[], ...about };
      return { ...r, walletId: r.cardId, ...about };
    },
    { mutates: true },
  ),

  /** R10.1 step 5: where the card is, with a failed production's reason. */
  counterProgress: method(z.object({ cardId }).strict(), (ctx, { cardId: id }) => {
    const ws = ctx.ws();
    return tagged(id, ws.counter.progress(cardNumber(ws, id)));
  }),

  /**
   * Production and issuance events (R10.1 steps 5–6, R10.2): the vendor's, the city branch's
   * and the outlet's, 制卡补登 and the card state check.
   */
  counterAdvance: method(
    z
      .object({
        cardId,
        event: z.enum([
          'PRODUCTION_FAILED',
          'RESUBMIT',
          'CITY_BRANCH_RECEIVED',
          'OUTLET_RECEIVED',
          'PRODUCTION_DONE',
          'PRINTED_BUT_PENDING',
          'MAKE_UP_REGISTRATION',
          'VERIFY_NORMAL_STATE',
        ]),
        /** PRODUCTION_FAILED: the vendor's reason. */
        reason: z.string().min(1).max(200).optional(),
        /** VERIFY_NORMAL_STATE: what the check found (default: what the books say). */
        normal: z.boolean().optional(),
      })
      .strict(),
    (ctx, { cardId: id, event, reason, normal }) => {
      const ws = ctx.ws();
      const number = cardNumber(ws, id);
      const c = ws.counter;
      if (event === 'MAKE_UP_REGISTRATION') return tagged(id, c.makeUpRegistration(number));
      if (event === 'VERIFY_NORMAL_STATE')
        return tagged(id, c.verifyNormalState(number, normal === undefined ? {} : { normal }));
      const ev: AdvanceEvent =
        event === 'PRODUCTION_FAILED' ? { type: event, reason: reason ?? '制卡失败' } : event;
      return tagged(id, c.advance(number, ev));
    },
    { mutates: true },
  ),

  /** Instant issuance (R10.2): the printer finished; `pending` — the system still says 制卡中. */
  counterPrintInstant: method(
    z.object({ cardId, pending: z.boolean().default(false) }).strict(),
    (ctx, { cardId: id, pending }) => {
      const ws = ctx.ws();
      return tagged(id, ws.counter.printInstant(cardNumber(ws, id), pending ? 'pending' : 'registered'));
    },
    { mutates: true },
  ),

  /**
   * 领卡启用 (R10.1 step 7, R1.4, R13): the new card PIN (never 123456) written to the chip with
   * the counter's key and the financial password set in the bank's books. Neither is echoed.
   */
  counterActivate: method(
    z
      .object({
        cardId,
        newPin: pin,
        financialPassword: password,
        cardBank: z.enum(['this', 'other']).default('this'),
        cardBranch: z.string().min(1).max(32).optional(),
      })
      .strict(),
    async (ctx, { cardId: id, newPin, financialPassword, cardBank, cardBranch }) => {
      const ws = ctx.ws();
      const number = cardNumber(ws, id);
      const tookFromTill = takeFromTill(ctx, id);
      const r = await ws.counter.activate(number, {
        newPin,
        financialPassword,
        cardBank,
        ...(cardBranch ? { cardBranch } : {}),
      });
      if (r.ok && r.pinSet) {
        const shared = ws.card(id);
        const books = ws.pos.store.ledger.getSecurity(number);
        if (books && shared.state.pinHash.hash !== books.pinHash.hash)
          await onVirtualCard(shared, (reader) => reloadSharedPin(reader, newPin));
      }
      return { ...tagged(id, r), tookFromTill };
    },
    { mutates: true },
  ),

  /** 挂失 (R13: also at another branch): the card is then refused at every POS. */
  counterReportLoss: method(
    z.object({ cardId, crossRegion: z.boolean().default(false) }).strict(),
    (ctx, { cardId: id, crossRegion }) => {
      const ws = ctx.ws();
      return tagged(id, ws.counter.reportLoss(cardNumber(ws, id), { crossRegion }));
    },
    { mutates: true },
  ),

  /** 解挂 (R13): the card is active again. */
  counterReleaseLoss: method(
    z.object({ cardId, crossRegion: z.boolean().default(false) }).strict(),
    (ctx, { cardId: id, crossRegion }) => {
      const ws = ctx.ws();
      return tagged(id, ws.counter.releaseLoss(cardNumber(ws, id), { crossRegion }));
    },
    { mutates: true },
  ),

  /**
   * 补换卡 (R2.1, R13): a new gen 3 card with the initial PIN; the old card's balances move
   * over and it is closed. The old card is handed in: taken out of the till's reader if there.
   */
  counterReplace: method(
    z
      .object({
        cardId,
        reason: z.enum(['lost', 'damaged', 'expired', 'photo']),
        crossRegion: z.boolean().default(false),
        mode: z.enum(['normal', 'instant']).default('instant'),
      })
      .strict(),
    (ctx, { cardId: id, reason, crossRegion, mode }) => {
      const ws = ctx.ws();
      const number = cardNumber(ws, id);
      const r = ws.counter.replace(number, reason, { crossRegion, mode });
      const tookFromTill = r.ok ? takeFromTill(ctx, id) : false;
      return { ...tagged(id, r), tookFromTill };
    },
    { mutates: true },
  ),

  /** 销卡销户 (R14, R13): medical accounts first, then the reserve; the bank takes the card back. */
  counterClose: method(
    z
      .object({
        cardId,
        medicalAccountClosedAtInsuranceOffice: z.boolean().default(false),
        crossRegion: z.boolean().default(false),
      })
      .strict(),
    (ctx, { cardId: id, medicalAccountClosedAtInsuranceOffice, crossRegion }) => {
      const ws = ctx.ws();
      const number = cardNumber(ws, id);
      const r = ws.counter.close(number, { medicalAccountClosedAtInsuranceOffice, crossRegion });
      const tookFromTill = r.ok ? takeFromTill(ctx, id) : false;
      return { ...tagged(id, r), tookFromTill };
    },
    { mutates: true },
  ),

  /** Every step of the card, accepted or refused, oldest first, in both languages. */
  counterHistory: method(z.object({ cardId }).strict(), (ctx, { cardId: id }) => {
    const ws = ctx.ws();
    return tagged(id, ws.counter.history(cardNumber(ws, id)));
  }),

  /** The social security number 省卡系统 makes from the applicant's document (R3.3, R3.4). */
  counterSsnFromDocument: method(
    z.object({ country: z.string().min(1).max(8), docType, doc: z.string().min(1).max(64) }).strict(),
    (_ctx, { country, docType: type, doc }) => {
      const r = ssnFromDocument({ country: country.trim().toUpperCase(), docType: type, doc });
      return r.ok
        ? { ok: true as const, ssn: r.ssn, note: r.note ?? null }
        : { ok: false as const, rule: r.reason.rule, zh: r.reason.zh, en: r.reason.en };
    },
  ),

  /** 照片审核 (R8): JPEG, 358×441, colour, white background; each broken rule listed. */
  counterCheckPhoto: method(
    z
      .object({
        photoJpegBase64: jpegBase64,
        ageYears: z.number().int().min(0).max(150).optional(),
      })
      .strict(),
    (_ctx, { photoJpegBase64, ageYears }) =>
      checkPhoto(
        new Uint8Array(Buffer.from(photoJpegBase64, 'base64')),
        ageYears === undefined ? {} : { ageYears },
      ),
  ),
};
