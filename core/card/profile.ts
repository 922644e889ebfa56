import { readFileSync, statSync } from 'node:fs';
import { jsonSyntaxProblem } from './json-error.ts';
import { z } from 'zod';
import { checkCardNumber } from '../rules/card-number.ts';
import { checkPan } from '../rules/luhn.ts';
import { checkMainlandId, checkNonMainlandSsn, isValidDate, mainlandIdParts } from '../rules/ssn.ts';
import { gbkEncode, EncodingError } from './codec.ts';

/**
 * The card profile (fixture) format: one JSON file per virtual card. Documented in
 * docs/card-profiles.md; the JSON Schema in fixtures/card-profile.schema.json is generated
 * from this definition.
 */

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine(isValidDate, 'is not a calendar date');

const digits = (min: number, max: number, what: string) =>
  z.string().regex(new RegExp(`^[0-9]{${min},${max}}$`), `must be ${what}`);

/** Uppercase hex of whole bytes, as recordings store what the card answered. */
const hexBytes = z.string().regex(/^(?:[0-9A-F]{2})*$/, 'must be uppercase hex, whole bytes');

const fen = z
  .number()
  .int('must be a whole number of fen (1 yuan = 100 fen)')
  .min(0, 'must not be negative')
  .max(Number.MAX_SAFE_INTEGER, 'is too large');

const profileObject = z
  .object({
    $schema: z.string().optional(),
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes')
      .describe('Stable identifier of the card in the wallet'),
    label: z.string().min(1).describe('Short description shown in the wallet (Chinese)'),
    labelEn: z.string().optional().describe('Short description in English'),
    generation: z
      .union([z.literal(1), z.literal(2), z.literal(3)], { error: 'must be 1, 2 or 3 (a number, not text)' })
      .describe('Card generation: 1 social security only, 2 adds medical + financial, 3 adds the card PIN'),
    status: z
      .enum(['active', 'not-activated', 'loss-reported', 'closed'])
      .default('active')
      .describe('Status in the card management system (not stored on the chip)'),
    protocol: z.enum(['T=0', 'T=1']).default('T=0').describe('Transmission protocol announced in the ATR'),
    algorithm: z
      .enum(['3des', 'sm4'])
      .default('3des')
      .describe('Algorithm of the SSSE application keys, announced in the FCI (9F0C)'),
    card: z.object({
      number: z.string().describe('9-character card number (EF05 tag 07) with its check character'),
      type: z.string().length(1, 'must be one character').default('3').describe('Card type (EF05 tag 02)'),
      issuer: digits(1, 24, '1 to 24 digits').describe('Initialising institution number (EF05 tag 04)'),
      areaCode: digits(6, 6, 'a 6-digit area code').describe(
        'Area code at the start of the card identification code',
      ),
      chipSerial: z
        .string()
        .regex(/^[0-9A-F]{16}$/, 'must be 16 uppercase hex digits')
        .describe('Chip serial: last 8 bytes of the ATR, key diversification data'),
      issueDate: isoDate.describe('Issue date (EF05 tag 05)'),
      expiryDate: isoDate.describe('Expiry date (EF05 tag 06)'),
      photo: z.boolean().default(true).describe('Whether the card face carries a photo'),
    }),
    holder: z.object({
      name: z
        .string()
        .min(1, 'must not be empty')
        .describe('Name, stored in GBK (tag 09, and 4E beyond 30 bytes)'),
      sex: z.enum(['male', 'female']),
      nation: digits(2, 2, 'a 2-digit nation code (01 Han …, 97 other, 98 foreign origin)'),
      birthplace: digits(6, 6, 'a 6-digit area code'),
      birthDate: isoDate,
      ssn: z.string().describe('Social security number (R3.3/R3.4)'),
      nationality: z
        .string()
        .regex(/^[A-Z]{3}$/, 'must be an ISO 3166 alpha-3 code such as CHN, HKG, MAC, USA')
        .default('CHN'),
    }),
    pin: digits(6, 6, 'six digits').describe('PIN of the social security application, in clear (test card)'),
    pinRetryLimit: z.number().int().min(1).max(15).default(3).describe('Tries before the PIN blocks'),
    pinTriesLeft: z.number().int().min(0).max(15).optional().describe('Tries left now; 0 = blocked'),
    pinInitial: z
      .boolean()
      .optional()
      .describe('Whether the PIN is still the initial one; defaults to pin == 123456'),
    refuseInitialPin: z
      .boolean()
      .optional()
      .describe('Card answers VERIFY of the unchanged initial PIN with 6985; default true on gen 3'),
    transactionPassword: digits(6, 6, 'six digits')
      .optional()
      .describe('Gen 2/3: the one bank transaction password of the reserve and medical accounts'),
    financial: z
      .object({
        pan: z.string().describe('Bank card number (tag 5A), Luhn-valid'),
        expiry: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'),
      })
      .optional()
      .describe('Gen 2/3: the UnionPay debit application A000000333010101'),
    accounts: z
      .object({
        reserveFen: fen.optional().describe('Reserve/financial account (备用金) balance in fen'),
        medicalCurrentFen: fen
          .nullable()
          .optional()
          .describe('95000 医保当年; null/absent until first funding'),
        medicalPriorFen: fen
          .nullable()
          .optional()
          .describe('95001 医保上年; null/absent until the first carry-over'),
      })
      .default({}),
    recorded: z
      .object({
        tool: z.string().min(1).describe('What made the recording ("sscard record")'),
        at: z.string().min(1).describe('When the card was read (ISO 8601)'),
        reader: z.string().optional().describe('The reader the card was read in'),
        atr: hexBytes.describe('The ATR as read'),
        ssseFci: hexBytes.nullable().describe('FCI of SELECT SSSE as read; null when none came back'),
        ef05: z
          .array(hexBytes.nullable())
          .describe('EF05 records 1–7 as read (tag ‖ length ‖ value); null where unreadable'),
        read: z.array(z.string()).describe('Profile fields whose values were read from the card'),
        placeholders: z
          .array(z.string())
          .describe('Profile fields holding placeholder values, not the card’s (PINs always)'),
        notRead: z
          .array(z.object({ item: z.string(), reason: z.string() }).strict())
          .describe('What could not be read without keys or a PIN, and why'),
      })
      .strict()
      .optional()
      .describe(
        'Set by `sscard record`: what was read from a real card and which fields are placeholders (see docs/conformance.md, Record and replay)',
      ),
  })
  .strict();

/** Control characters (C0, DEL, C1): never in a name or a label. */
const CONTROL = /\p{Cc}/u;
const CONTROL_PROBLEM = 'must not contain control characters (NUL, line breaks, tabs…)';

export const cardProfileSchema = profileObject.superRefine((p, ctx) => {
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  const cn = checkCardNumber(p.card.number);
  if (cn) add(['card', 'number'], cn);
  if (p.card.expiryDate <= p.card.issueDate) add(['card', 'expiryDate'], 'must be after card.issueDate');
  if (p.holder.birthDate > p.card.issueDate) add(['holder', 'birthDate'], 'must not be after card.issueDate');

  const ssn = p.holder.ssn;
  if (p.holder.nationality === 'CHN' || /^[0-9]/.test(ssn)) {
    const err = checkMainlandId(ssn);
    if (err) add(['holder', 'ssn'], err);
    else {
      const parts = mainlandIdParts(ssn);
      if (parts.birthDate !== p.holder.birthDate) {
        add(['holder', 'birthDate'], `does not match the birth date in holder.ssn (${parts.birthDate})`);
      }
      if (parts.sex !== p.holder.sex) add(['holder', 'sex'], `does not match holder.ssn (${parts.sex})`);
    }
  } else {
    const err = checkNonMainlandSsn(ssn);
    if (err) add(['holder', 'ssn'], err);
    else if (!ssn.startsWith(p.holder.nationality)) {
      add(['holder', 'ssn'], `must start with holder.nationality ${p.holder.nationality} (R3.4)`);
    }
  }

  // A control character (NUL, a line break, a tab…) is never part of a name: it would cut the
  // name short in C reader programs, split receipt and report lines, and is no GBK text a
  // card's tag 09 may hold.
  for (const [path, text] of [
    [['holder', 'name'], p.holder.name],
    [['label'], p.label],
    [['labelEn'], p.labelEn ?? ''],
  ] as const) {
    if (CONTROL.test(text)) add([...path], CONTROL_PROBLEM);
  }
  // The name's length in GBK means nothing once it has a control character (reported above).
  if (!CONTROL.test(p.holder.name)) {
    try {
      const bytes = gbkEncode(p.holder.name);
      const max = p.generation === 1 ? 30 : 50;
      if (bytes.length > max) {
        add(
          ['holder', 'name'],
          `is ${bytes.length} bytes in GBK; a gen ${p.generation} card holds at most ${max}`,
        );
      }
    } catch (e) {
      add(['holder', 'name'], e instanceof EncodingError ? e.message : String(e));
    }
  }

  if (p.pinTriesLeft !== undefined && p.pinTriesLeft > p.pinRetryLimit) {
    add(['pinTriesLeft'], `must not exceed pinRetryLimit (${p.pinRetryLimit})`);
  }

  if (p.generation === 1) {
    if (p.financial) add(['financial'], 'a gen 1 card has no financial application (R1.1)');
    if (p.transactionPassword) add(['transactionPassword'], 'a gen 1 card has no financial account (R1.1)');
    if (p.accounts.reserveFen !== undefined)
      add(['accounts', 'reserveFen'], 'a gen 1 card has no reserve account');
  } else {
    if (!p.financial) add(['financial'], `a gen ${p.generation} card needs its financial application (R1.2)`);
    else {
      const pe = checkPan(p.financial.pan);
      if (pe) add(['financial', 'pan'], pe);
    }
    if (!p.transactionPassword) {
      add(['transactionPassword'], `a gen ${p.generation} card needs the bank transaction password (R1.2)`);
    }
  }
});

export type CardProfileInput = z.input<typeof cardProfileSchema>;
export type CardProfile = z.output<typeof cardProfileSchema>;

export class ProfileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly { path: string; message: string }[],
  ) {
    super(problems.map((p) => `${source}: ${p.path ? p.path + ': ' : ''}${p.message}`).join('\n'));
    this.name = 'ProfileError';
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Validates parsed JSON; throws ProfileError naming each bad field by its path. */
export function parseProfile(value: unknown, source = 'card profile'): CardProfile {
  const r = cardProfileSchema.safeParse(value);
  if (r.success) return r.data;
  throw new ProfileError(
    source,
    r.error.issues.map((i) => ({ path: pathText(i.path), message: i.message })),
  );
}

/** A UTF-8 byte order mark at the start (Windows editors write one): not part of the JSON. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseProfileJson(text: string, source = 'card profile'): CardProfile {
  let value: unknown;
  const json = stripBom(text);
  try {
    value = JSON.parse(json);
  } catch {
    throw new ProfileError(source, [{ path: '', message: jsonSyntaxProblem(json) }]);
  }
  return parseProfile(value, source);
}

/** A card profile file is small (the bundled ones are under 1 KiB); a larger one is refused unread. */
export const MAX_PROFILE_BYTES = 64 * 1024;

export function loadProfile(file: string): CardProfile {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_PROFILE_BYTES) {
      throw new ProfileError(file, [
        {
          path: '',
          message: `file too large (${size} bytes; a card profile is at most ${MAX_PROFILE_BYTES})`,
        },
      ]);
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ProfileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ProfileError(file, [
      { path: '', message: code === 'ENOENT' ? 'file not found' : `cannot read (${code})` },
    ]);
  }
  return parseProfileJson(text, file);
}

/** Whether the card's PIN is the initial 123456 (R1.4), honouring an explicit setting. */
export function profilePinInitial(p: CardProfile): boolean {
  return p.pinInitial ?? p.pin === '123456';
}

export function profileRefusesInitialPin(p: CardProfile): boolean {
  return p.refuseInitialPin ?? p.generation === 3;
}

/** JSON Schema of the profile format, for editors and other tools. */
export function profileJsonSchema(): unknown {
  return z.toJSONSchema(profileObject, { io: 'input' });
}
