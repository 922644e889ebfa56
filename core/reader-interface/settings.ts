import { z } from 'zod';

/**
 * The choices the reference leaves open, as settings (docs/reader-interface.md, "Choices and
 * settings"). Every one has the default described there.
 */
export const readerInterfaceSettingsSchema = z
  .object({
    /**
     * What iReadCardBas does on a gen 3 card when the terminal's PSAM holds no RKSSSE key:
     * 'empty-fields' answers 0 with SSN, card number and name empty (as the real readers
     * public code quotes); 'psam-code' answers -2203 so that the caller switches to the HSM path.
     */
    gen3PlainRead: z.enum(['empty-fields', 'psam-code']).default('empty-fields'),
    /**
     * Whether the terminal's PSAM holds the RKSSSE key of SSCard Lab's cards (a card-management
     * PSAM): then iReadCardBas opens EF06 of gen 3 cards itself and the HSM path answers -2204.
     * Never used on a card that is not one of ours: the test key would count as a failed
     * authentication on a real card.
     */
    psamHoldsRksse: z.boolean().default(false),
    /** Whether a PSAM sits in the reader at all; without one the functions that need it answer -2201. */
    psamPresent: z.boolean().default(true),
    /** Whether iReadCardBas ends with 终端机编号|终端设备号| (the reference's 11 fields) or stops after 卡有效期|. */
    basTerminalFields: z.boolean().default(true),
    /** The PSAM's terminal number (终端机编号), 12 digits. */
    psamTerminalNumber: z
      .string()
      .regex(/^[0-9]{12}$/)
      .default('440100000001'),
    /** The reader's serial number (终端设备号). */
    readerSerial: z
      .string()
      .regex(/^[0-9A-Za-z-]{1,32}$/)
      .default('SSCLAB-0001'),
    /** PINs the pad accepts: exactly this many digits (the card's PIN is 6). */
    pinLength: z.number().int().min(4).max(12).default(6),
    /** How pPayInfo's amount is written: yuan with two decimals ("12.50") or whole fen ("1250"). */
    amountUnit: z.enum(['yuan', 'fen']).default('yuan'),
    /** How many of the card's latest debits iReadDebitRecord returns, newest first. */
    debitRecordCount: z.number().int().min(1).max(50).default(1),
  })
  .strict();

export type ReaderInterfaceSettings = z.output<typeof readerInterfaceSettingsSchema>;
export type ReaderInterfaceSettingsInput = z.input<typeof readerInterfaceSettingsSchema>;

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Checks settings, naming every field that is wrong. */
export function parseSettings(input: unknown = {}): ReaderInterfaceSettings {
  const r = readerInterfaceSettingsSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; ');
  throw new SettingsError(`reader interface settings: ${why}`);
}
