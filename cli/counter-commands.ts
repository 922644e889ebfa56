import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { parse, requireString } from './args.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { openCardStore } from '../core/card-store.ts';
import { changePin, onVirtualCard, unblockPin, type PinServiceResult } from '../core/bank/pin-services.ts';
import { checkPhoto } from '../core/rules/photo.ts';
import { ssnFromDocument, type DocType } from '../core/rules/ssn-from-document.ts';

const DOC_TYPES: readonly DocType[] = ['id', 'hk-macau-permit', 'residence-permit', 'passport'];
import { defaultDbPath } from '../core/paths.ts';

/**
 * `sscard counter <action>`: the bank counter (银行网点). Actions that change a card work on the
 * card as kept in the ledger (--db), so `sscard pay --db` then sees the same card.
 */
const HELP = `sscard counter <action> …   the bank counter

  change-pin --card <card> --db <file> --old <pin> --new <pin> [--json]
                      change the card PIN (the new PIN cannot be 123456, R1.4)
  unblock --card <card> --db <file> [--json]
                      unblock a blocked PIN with the counter's key (the PIN stays the same)
  ssn --country <ISO 3166 alpha-3 or CHN> --doc-type <id|hk-macau-permit|residence-permit|passport> --doc <number> [--json]
                      the social security number made from the applicant's document (R3.3, R3.4),
                      or the reason it cannot be made (exit 2)
  check-photo <file.jpg> [--age <years>] [--json]
                      check an applicant's photo (R8): prints pass or each broken rule; exit 2 on failure

Exit codes: 0 done / pass, 2 refused / failed check (the reason is printed), 1 bad input, 64 usage.`;

function dbPathOf(value: unknown): string {
  const p = typeof value === 'string' ? value : defaultDbPath();
  if (p !== ':memory:') mkdirSync(dirname(p), { recursive: true });
  return p;
}

function report(io: CliIo, r: PinServiceResult, json: boolean): number {
  if (json) io.out(JSON.stringify(r, null, 2));
  else io.out(`${r.ok ? '✔' : '✘'} ${r.zh}\n  ${r.en}`);
  return r.ok ? EXIT.OK : EXIT.DECLINED;
}

async function onCard(
  values: Record<string, unknown>,
  fn: Parameters<typeof onVirtualCard<PinServiceResult>>[1],
) {
  const { profile } = resolveCard(requireString(values as never, 'card'));
  const store = openCardStore(dbPathOf(values.db));
  try {
    return await onVirtualCard(store.open(profile), fn);
  } finally {
    store.close();
  }
}

export async function cmdCounter(args: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case undefined:
    case 'help':
    case '--help':
      io.out(HELP);
      return action === undefined ? EXIT.USAGE : EXIT.OK;
    case 'change-pin': {
      const { values } = parse(rest, {
        card: { type: 'string' },
        db: { type: 'string' },
        old: { type: 'string' },
        new: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      });
      if (values.help) return (io.out(HELP), EXIT.OK);
      const oldPin = requireString(values, 'old');
      const newPin = requireString(values, 'new');
      return report(
        io,
        await onCard(values, (reader) => changePin(reader, oldPin, newPin)),
        values.json === true,
      );
    }
    case 'unblock': {
      const { values } = parse(rest, {
        card: { type: 'string' },
        db: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      });
      if (values.help) return (io.out(HELP), EXIT.OK);
      return report(io, await onCard(values, (reader) => unblockPin(reader)), values.json === true);
    }
    case 'ssn': {
      const { values } = parse(rest, {
        country: { type: 'string' },
        'doc-type': { type: 'string' },
        doc: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      });
      if (values.help) return (io.out(HELP), EXIT.OK);
      const docType = requireString(values, 'doc-type');
      if (!DOC_TYPES.includes(docType as DocType)) {
        throw new UsageError(`--doc-type must be one of ${DOC_TYPES.join(', ')} (got '${docType}')`);
      }
      const r = ssnFromDocument({
        country: requireString(values, 'country').trim().toUpperCase(),
        docType: docType as DocType,
        doc: requireString(values, 'doc'),
      });
      if (values.json) io.out(JSON.stringify(r, null, 2));
      else if (r.ok) io.out(r.note ? `${r.ssn}\n  ℹ ${r.note.zh}\n    ${r.note.en}` : r.ssn);
      else io.out(`✘ ${r.reason.rule}  ${r.reason.zh}\n  ${r.reason.en}`);
      return r.ok ? EXIT.OK : EXIT.DECLINED;
    }
    case 'check-photo': {
      const { values, positionals } = parse(rest, {
        age: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      });
      if (values.help) return (io.out(HELP), EXIT.OK);
      if (positionals.length !== 1)
        throw new UsageError('give one photo file: sscard counter check-photo <file.jpg> [--age <years>]');
      const file = positionals[0]!;
      let age: number | undefined;
      if (values.age !== undefined) {
        if (!/^[0-9]{1,3}$/.test(values.age as string))
          throw new UsageError(`--age must be whole years (got '${String(values.age)}')`);
        age = Number(values.age);
      }
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(`${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code})`}`);
      }
      const r = checkPhoto(bytes, age === undefined ? {} : { ageYears: age });
      if (values.json) io.out(JSON.stringify({ file, ...r }, null, 2));
      else if (r.ok) io.out(`✔ pass 合格  ${file} (${r.width}×${r.height})`);
      else for (const p of r.problems) io.out(`✘ ${p.rule}  ${p.zh}\n  ${p.en}`);
      return r.ok ? EXIT.OK : EXIT.DECLINED;
    }
    default:
      throw new UsageError(`unknown counter action '${action}' (see 'sscard counter help')`);
  }
}
