import { z } from 'zod';
import { READER_FUNCTIONS, READER_FUNCTION_PARAMS } from '../reader-interface/functions.ts';
import { OUTPUT_FIELDS } from '../reader-interface/output-fields.ts';
import { readerInterfaceSettingsSchema } from '../reader-interface/settings.ts';

/**
 * The scenario format's `interface` step and `readerInterface:` header block (the runner is
 * interface-step.ts):
 *
 *   - interface:
 *       call: iVerifyPIN
 *       with: { iType: 1 }
 *       pins: ["111111"]
 *       expect: { code: -51, triesLeft: 2 }
 *
 * `with` gives the parameters by their C names (iType defaults to 1, iAuthType to 0);
 * `pCardInfo: card` passes the basic information the scenario last read (iReadCardBas or its
 * HSM Step 2); `pKey: centre` passes the card-management centre's answer to the last Step 1.
 * Without `expect` the call must succeed (code 0).
 */
const functionName = z.enum(READER_FUNCTIONS as [string, ...string[]], {
  error: `must be a function of the reader interface: ${READER_FUNCTIONS.join(', ')}`,
});

const paramValue = z.union([z.number().int(), z.string()], { error: 'must be a whole number or a text' });

export const interfaceExpectSchema = z
  .object({
    code: z.number().int().optional().describe('The return code: 0 success, else the negative code'),
    outInfo: z.string().optional().describe('pOutInfo exactly, fields each followed by |'),
    fields: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'pOutInfo fields by name (ssn, name, cardNumber …) or 1-based position ("3"): their exact text',
      ),
    outputs: z
      .record(z.string(), z.string())
      .optional()
      .describe('Other outputs: pCardType, pReaderSN, pPsamTermNo'),
    triesLeft: z.number().int().min(0).optional().describe('The PIN tries left a -51/-52 reports'),
  })
  .strict();

export const interfaceStepSchema = z
  .object({
    call: functionName,
    with: z
      .record(z.string(), paramValue)
      .default({})
      .describe('Parameters by their C names; pCardInfo: card, pKey: centre'),
    pins: z
      .array(z.string().regex(/^(?:[0-9]{1,12}|CANCEL)$/, 'must be 1 to 12 digits or CANCEL'))
      .default([])
      .describe('PIN pad entries queued before the call (one per PIN asked; CANCEL cancels)'),
    expect: interfaceExpectSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const params = READER_FUNCTION_PARAMS[s.call] ?? [];
    for (const k of Object.keys(s.with))
      if (!params.includes(k))
        ctx.addIssue({
          code: 'custom',
          path: ['with', k],
          message: `${s.call} takes ${params.length ? params.join(', ') : 'no parameters'}, not ${k}`,
        });
    for (const p of params)
      if (!(p in s.with) && p !== 'iType' && p !== 'iAuthType')
        ctx.addIssue({ code: 'custom', path: ['with'], message: `${s.call} needs ${p}` });
    const names = OUTPUT_FIELDS[s.call] ?? [];
    for (const k of Object.keys(s.expect?.fields ?? {}))
      if (!/^[1-9][0-9]*$/.test(k) && !names.includes(k))
        ctx.addIssue({
          code: 'custom',
          path: ['expect', 'fields', k],
          message: names.length
            ? `${s.call}'s fields are ${names.join(', ')} (or a position "1", "2" …)`
            : `${s.call}'s fields have no names: use their positions "1", "2" …`,
        });
  })
  .describe('Call a reader interface function and check its code and fields');

export type InterfaceStep = z.output<typeof interfaceStepSchema>;

/** The scenario header's `readerInterface:` block: the session the interface steps share. */
export const readerInterfaceHeaderSchema = z
  .object({
    settings: readerInterfaceSettingsSchema
      .optional()
      .describe('Reader interface settings (docs/reader-interface.md)'),
    counterKey: z
      .boolean()
      .default(false)
      .describe("The terminal holds the bank counter's PIN key: iReloadPIN/iUnblockPIN work without the HSM"),
    pinTimeoutMs: z
      .number()
      .int()
      .min(10)
      .max(120_000)
      .default(2_000)
      .describe('How long a PIN entry is waited for'),
  })
  .strict();

export type ReaderInterfaceHeader = z.output<typeof readerInterfaceHeaderSchema>;
