import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { dbPathOf, parse, requireString } from './args.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { ProfileError, stripBom, type CardProfile } from '../core/card/profile.ts';
import { jsonSyntaxProblem } from '../core/card/json-error.ts';
import { openCardStore } from '../core/ledger/card-store.ts';
import { BankCounter, DEFAULT_BRANCH, type AdvanceEvent } from '../core/bank/counter.ts';
import { validateApplication } from '../core/bank/application.ts';
import { importBatch } from '../core/bank/batch.ts';
import type { Application } from '../core/bank/types.ts';
import type { ExistingCard } from '../core/rules/eligibility.ts';
import type { ReplaceReason } from '../state-machines/card-lifecycle.machine.ts';
import { businessDate, systemClock } from '../core/time.ts';
import { changePin, onVirtualCard, unblockPin, type PinServiceResult } from '../core/bank/pin-services.ts';
import { checkPhoto } from '../core/rules/photo.ts';
import { ssnFromDocument, type DocType } from '../core/rules/ssn-from-document.ts';
import { formatBatchNumber, parseBatchNumber } from '../core/rules/batch-number.ts';
import { checkBankCardNumber, makeBankCardNumber } from '../core/rules/bank-card.ts';
import { cardNumberCheckChar, checkCardNumber } from '../core/rules/card-number.ts';

const DOC_TYPES: readonly DocType[] = ['id', 'hk-macau-permit', 'residence-permit', 'passport'];

/**
 * `sscard counter <action>`: the bank counter (银行网点). Actions that change a card work on the
 * card as kept in the ledger (--db), so `sscard pay --db` then sees the same card.
 */
const HELP = `sscard counter <action> …   the bank counter (actions on cards take --db <file>; all take --json)

  apply --application <file.json> [--mode normal|instant]
                      check an application (R5–R12: SSN from the document, photo, guardian,
                      ID images, non-mainland rules, eligibility) and, if it passes, issue the card
  batch-import <file.csv> [--photos <folder>]
                      a company's batch file (R11, docs/batch-format.md): every row checked, good
                      rows issued together, each error with its row and column
  progress --card-id <id>            where the card is (R10.1 step 5)
  advance --card-id <id> --event <PRODUCTION_FAILED|RESUBMIT|CITY_BRANCH_RECEIVED|OUTLET_RECEIVED> [--reason <text>]
  print-instant --card-id <id> [--pending]   the instant printer's outcome (R10.2: --pending = 制卡中 fault)
  make-up --card-id <id>             制卡补登 after the R10.2 fault
  verify --card-id <id>              check the card is in normal state
  activate --card-id <id> --new-pin <pin> --password <pin> [--other-bank] [--card-branch <id>]
                      领卡启用: set the card PIN (not 123456) and the financial password (R10.1 step 7, R13)
  report-loss --card-id <id> [--cross-region]     挂失
  release-loss --card-id <id> [--cross-region]    解挂
  replace --card-id <id> --reason <lost|damaged|expired|photo> [--cross-region]
                      a new gen 3 card with the initial PIN; the accounts move over (R2.1)
  close --card-id <id> [--medical-closed]   销卡销户 (R14: a medical account must be closed first)
  merge --kept <id> --merged <id> --merged-region <same-city|other-city-in-province|other-province>
        --merged-bank <this|other> [--at-issuing-locality]
                      一人一卡归并 (R7): keeps the insurance records and the merged card's financial
                      account; only another bank's card from another city, at the issuing locality
  history --card-id <id>             every step of the card, in Chinese and English

  change-pin --card <card> --db <file> --old <pin> --new <pin> [--json]
                      change the card PIN (the new PIN cannot be 123456, R1.4)
  unblock --card <card> --db <file> [--json]
                      unblock a blocked PIN with the counter's key (the PIN stays the same)
  ssn --country <ISO 3166 alpha-3 or CHN> --doc-type <id|hk-macau-permit|residence-permit|passport> --doc <number> [--json]
                      the social security number made from the applicant's document (R3.3, R3.4),
                      or the reason it cannot be made (exit 2)
  batch-number <CN…>                 parse a card order batch number into its parts (R3.2)
  batch-number --institution <6> --date <YYYY-MM-DD> --bank-card-code <8> --vendor <2> --sequence <n>
                                     make one
  bank-card <number> | bank-card --serial <8 digits>
                                     check a bank card number 622262371… (Luhn, R3.1), or make one
  card-number <9 characters> | card-number <8 characters>
                                     check the on-card card number's check character, or add it
  check-photo <file.jpg> [--age <years>] [--json]
                      check an applicant's photo (R8): prints pass or each broken rule; exit 2 on failure

Exit codes: 0 done / pass, 2 refused / failed check (the reason is printed), 1 bad input, 64 usage.`;

function report(io: CliIo, r: PinServiceResult, json: boolean): number {
  if (json) io.out(JSON.stringify(r, null, 2));
  else io.out(`${r.ok ? '✔' : '✘'} ${r.zh}\n  ${r.en}`);
  return r.ok ? EXIT.OK : EXIT.DECLINED;
}

async function onCard(
  values: Record<string, unknown>,
  fn: Parameters<typeof onVirtualCard<PinServiceResult>>[1],
) {
  const cardArg = requireString(values as never, 'card');
  const store = openCardStore(dbPathOf(values.db));
  try {
    // A bundled card or profile file, or a card issued at this counter (by its card number).
    let profile: CardProfile | null = null;
    try {
      profile = resolveCard(cardArg).profile;
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      profile = new BankCounter({ store, clock: systemClock, branch: DEFAULT_BRANCH }).profileOf(cardArg);
      if (!profile) throw e;
    }
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
      for (const [name, pin] of [
        ['old', oldPin],
        ['new', newPin],
      ] as const) {
        if (!/^[0-9]{6}$/.test(pin)) throw new UsageError(`--${name} must be six digits`);
      }
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
    case 'batch-number':
    case 'bank-card':
    case 'card-number':
      return numberAction(action, rest, io);
    default:
      return counterAction(action, rest, io);
  }
}

function refusalOut(
  io: CliIo,
  r: { ok: boolean; zh?: string; en?: string; rule?: string },
  json: boolean,
  okText?: string,
): number {
  if (json) io.out(JSON.stringify(r, null, 2));
  else if (r.ok) io.out(`✔ ${okText ?? r.zh ?? ''}${r.en && !okText ? `\n  ${r.en}` : ''}`);
  else io.out(`✘ ${r.rule ? `${r.rule}  ` : ''}${r.zh}\n  ${r.en}`);
  // An unknown card is bad input (exit 1), not a refusal.
  if (!r.ok && r.rule === 'card') return EXIT.BAD_INPUT;
  return r.ok ? EXIT.OK : EXIT.DECLINED;
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(
      `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot read'}`,
    );
  }
  const json = stripBom(text);
  try {
    return JSON.parse(json);
  } catch {
    // Worded by position only: the file's bytes never reach the message.
    throw new InputError(`${file}: ${jsonSyntaxProblem(json)}`);
  }
}

/** An application file: the Application fields, with `photoFile` (relative to the file) for the photo. */
function loadApplication(file: string): Application {
  const raw = readJsonFile(file) as Record<string, unknown>;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new InputError(`${file}: must be a JSON object`);
  const { photoFile, ...rest } = raw;
  let photo: Uint8Array | null = null;
  if (typeof photoFile === 'string' && photoFile) {
    const path = resolvePath(dirname(file), photoFile);
    try {
      photo = new Uint8Array(readFileSync(path));
    } catch {
      throw new InputError(`${file}: photoFile: ${path} not found`);
    }
  }
  return { ...(rest as unknown as Application), photo };
}

/** The person's cards that count against an application (R5.2, R7; gen 1 cards do not, R2.2). */
function existingCardsFor(counter: BankCounter) {
  return (ssn: string): ExistingCard[] => counter.cardsAgainstApplication(ssn);
}

async function counterAction(action: string, rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(rest, {
    db: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
    application: { type: 'string' },
    mode: { type: 'string' },
    photos: { type: 'string' },
    'card-id': { type: 'string' },
    event: { type: 'string' },
    reason: { type: 'string' },
    pending: { type: 'boolean' },
    'new-pin': { type: 'string' },
    password: { type: 'string' },
    'other-bank': { type: 'boolean' },
    'card-branch': { type: 'string' },
    'cross-region': { type: 'boolean' },
    'medical-closed': { type: 'boolean' },
    kept: { type: 'string' },
    merged: { type: 'string' },
    'merged-region': { type: 'string' },
    'merged-bank': { type: 'string' },
    'at-issuing-locality': { type: 'boolean' },
  });
  if (values.help) return (io.out(HELP), EXIT.OK);
  const json = values.json === true;
  const known = [
    'apply',
    'batch-import',
    'progress',
    'advance',
    'print-instant',
    'make-up',
    'verify',
    'activate',
    'report-loss',
    'release-loss',
    'replace',
    'close',
    'history',
    'merge',
  ];
  if (!known.includes(action))
    throw new UsageError(`unknown counter action '${action}' (see 'sscard counter help')`);
  const clock = systemClock;
  const store = openCardStore(dbPathOf(values.db), clock);
  try {
    const counter = new BankCounter({ store, clock, branch: DEFAULT_BRANCH });
    const cardId = () => requireString(values, 'card-id');
    const crossRegion = values['cross-region'] === true;
    switch (action) {
      case 'apply': {
        const app = loadApplication(requireString(values, 'application'));
        const mode = ((values.mode as string | undefined) ?? 'normal') as 'normal' | 'instant';
        if (mode !== 'normal' && mode !== 'instant')
          throw new UsageError(`--mode must be normal or instant (got '${mode}')`);
        const check = validateApplication(app, {
          today: businessDate(clock()),
          existingCards: existingCardsFor(counter)(app.ssn ?? ssnOf(app)),
        });
        if (!check.ok) {
          if (json) io.out(JSON.stringify({ ok: false, check }, null, 2));
          else for (const p of check.problems) io.out(`✘ ${p.rule}  ${p.field}: ${p.zh}\n  ${p.en}`);
          return EXIT.DECLINED;
        }
        const r = counter.apply({ ...app, ssn: check.ssn! }, mode);
        if (json)
          io.out(
            JSON.stringify(
              { ...r, check: { accountType: check.accountType, warnings: check.warnings } },
              null,
              2,
            ),
          );
        else if (r.ok) {
          for (const w of check.warnings) io.out(`⚠ ${w.rule}  ${w.zh}`);
          io.out(
            `✔ 受理成功 card ${r.cardId}, application ${r.applicationId} (${check.accountType})\n\n${r.receipt}`,
          );
        } else io.out(`✘ ${r.rule}  ${r.zh}\n  ${r.en}`);
        return r.ok ? EXIT.OK : EXIT.DECLINED;
      }
      case 'batch-import': {
        if (positionals.length !== 1)
          throw new UsageError('give one batch file: sscard counter batch-import <file.csv>');
        const file = positionals[0]!;
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          throw new InputError(`${file}: file not found`);
        }
        const result = importBatch(text, {
          ...(values.photos ? { photoDir: values.photos as string } : { photoDir: dirname(file) }),
          today: businessDate(clock()),
          existingCardsFor: existingCardsFor(counter),
          issue: (apps) =>
            // One transaction: the good rows are issued together or not at all.
            store.db.transaction(() => {
              for (const app of apps) {
                const r = counter.apply(app, 'normal');
                if (!r.ok) throw new InputError(`${app.name}: ${r.zh} / ${r.en}`);
              }
            })(),
        });
        if (json) io.out(JSON.stringify(result, null, 2));
        else {
          for (const f of result.fileProblems)
            io.out(`✘ ${f.line ? `line ${f.line}: ` : ''}${f.zh}\n  ${f.en}`);
          for (const r of result.rejected) io.out(`✘ row ${r.row}, ${r.column}: ${r.zh}\n  ${r.en}`);
          io.out(
            `批量制卡 issued ${result.issued} (rows ${result.issuedRows.join(', ') || '—'}), rejected ${new Set(result.rejected.map((r) => r.row)).size} row(s)`,
          );
        }
        return result.fileProblems.length === 0 && result.rejected.length === 0 ? EXIT.OK : EXIT.DECLINED;
      }
      case 'progress':
        return refusalOut(io, counter.progress(cardId()), json);
      case 'advance': {
        const event = requireString(values, 'event');
        const ev =
          event === 'PRODUCTION_FAILED'
            ? {
                type: 'PRODUCTION_FAILED' as const,
                reason: (values.reason as string | undefined) ?? '制卡失败',
              }
            : event;
        return refusalOut(io, counter.advance(cardId(), ev as AdvanceEvent), json);
      }
      case 'print-instant':
        return refusalOut(
          io,
          counter.printInstant(cardId(), values.pending ? 'pending' : 'registered'),
          json,
        );
      case 'make-up':
        return refusalOut(io, counter.makeUpRegistration(cardId()), json);
      case 'verify':
        return refusalOut(io, counter.verifyNormalState(cardId()), json);
      case 'activate': {
        const r = await counter.activate(cardId(), {
          newPin: requireString(values, 'new-pin'),
          financialPassword: requireString(values, 'password'),
          ...(values['other-bank'] ? { cardBank: 'other' as const } : {}),
          ...(values['card-branch'] ? { cardBranch: values['card-branch'] as string } : {}),
        });
        return refusalOut(io, r, json);
      }
      case 'report-loss':
        return refusalOut(io, counter.reportLoss(cardId(), { crossRegion }), json);
      case 'release-loss':
        return refusalOut(io, counter.releaseLoss(cardId(), { crossRegion }), json);
      case 'replace': {
        const reason = requireString(values, 'reason') as ReplaceReason;
        if (!['lost', 'damaged', 'expired', 'photo'].includes(reason))
          throw new UsageError(`--reason must be lost, damaged, expired or photo`);
        const r = counter.replace(cardId(), reason, { crossRegion });
        if (json) io.out(JSON.stringify(r, null, 2));
        else if (r.ok)
          io.out(
            `✔ 补换卡 new gen 3 card ${r.newCardId} (initial PIN 123456: change it at activation)\n\n${r.receipt}`,
          );
        else io.out(`✘ ${r.rule}  ${r.zh}\n  ${r.en}`);
        return r.ok ? EXIT.OK : EXIT.DECLINED;
      }
      case 'close':
        return refusalOut(
          io,
          counter.close(cardId(), {
            medicalAccountClosedAtInsuranceOffice: values['medical-closed'] === true,
            crossRegion,
          }),
          json,
        );
      case 'merge': {
        const region = requireString(values, 'merged-region');
        const bank = requireString(values, 'merged-bank');
        if (!['same-city', 'other-city-in-province', 'other-province'].includes(region)) {
          throw new UsageError('--merged-region must be same-city, other-city-in-province or other-province');
        }
        if (bank !== 'this' && bank !== 'other') throw new UsageError('--merged-bank must be this or other');
        const r = counter.merge(requireString(values, 'kept'), requireString(values, 'merged'), {
          mergedCardRegion: region as 'same-city',
          mergedCardBank: bank,
          atIssuingLocality: values['at-issuing-locality'] === true,
        });
        return refusalOut(
          io,
          r.ok
            ? {
                ...r,
                zh: '一人一卡归并完成（医保账户暂仅限本地使用）',
                en: 'merged (the medical account works locally only for now)',
              }
            : r,
          json,
        );
      }
      case 'history': {
        const r = counter.history(cardId());
        if (json || !r.ok) return refusalOut(io, r, json);
        for (const h of r.entries)
          io.out(
            `${h.at}  ${h.eventZh} → ${h.zh}  (${h.eventEn} → ${h.en})${h.refused ? `  ✘ ${h.refused.zh}` : ''}${h.note ? `  ℹ ${h.note.zh}` : ''}`,
          );
        return EXIT.OK;
      }
    }
    return EXIT.USAGE;
  } finally {
    store.close();
  }
}

function ssnOf(app: Application): string {
  const r = ssnFromDocument({ country: app.nationality, docType: app.docType, doc: app.docNumber });
  return r.ok ? r.ssn : '';
}

function numberAction(action: string, rest: string[], io: CliIo): number {
  const { values, positionals } = parse(rest, {
    json: { type: 'boolean' },
    help: { type: 'boolean' },
    institution: { type: 'string' },
    date: { type: 'string' },
    'bank-card-code': { type: 'string' },
    vendor: { type: 'string' },
    sequence: { type: 'string' },
    serial: { type: 'string' },
  });
  if (values.help) return (io.out(HELP), EXIT.OK);
  const json = values.json === true;
  const out = (ok: boolean, data: object, text: string) => {
    io.out(json ? JSON.stringify({ ok, ...data }, null, 2) : text);
    return ok ? EXIT.OK : EXIT.DECLINED;
  };
  const refused = (reason: { rule: string; zh: string; en: string }) =>
    out(false, { reason }, `✘ ${reason.rule}  ${reason.zh}\n  ${reason.en}`);
  switch (action) {
    case 'batch-number': {
      if (positionals.length === 1) {
        const r = parseBatchNumber(positionals[0]!);
        if (!r.ok) return refused(r.reason);
        const p = r.parts;
        return out(
          true,
          { parts: p },
          [
            `机构号 institution   ${p.institution}`,
            `日期 date            ${p.date}`,
            `银行卡代码 bank card ${p.bankCardCode}`,
            `卡别 card type       ${p.cardType}`,
            `卡商 vendor         ${p.vendor}`,
            `顺序 sequence       ${p.sequence}`,
          ].join('\n'),
        );
      }
      if (positionals.length > 1) throw new UsageError('give one batch number');
      const sequence = requireString(values, 'sequence');
      if (!/^[0-9]{1,7}$/.test(sequence))
        throw new UsageError(`--sequence must be 1 to 7 digits (got '${sequence}')`);
      const r = formatBatchNumber({
        institution: requireString(values, 'institution'),
        date: requireString(values, 'date'),
        bankCardCode: requireString(values, 'bank-card-code'),
        vendor: requireString(values, 'vendor'),
        sequence: Number(sequence),
      });
      return r.ok ? out(true, { batchNumber: r.batchNumber }, r.batchNumber) : refused(r.reason);
    }
    case 'bank-card': {
      const r =
        values.serial !== undefined
          ? makeBankCardNumber(values.serial as string)
          : checkBankCardNumber(positionals[0] ?? '');
      if (values.serial === undefined && positionals.length !== 1)
        throw new UsageError('give one bank card number, or --serial');
      return r.ok ? out(true, { pan: r.pan, serial: r.serial }, r.pan) : refused(r.reason);
    }
    case 'card-number': {
      const n = positionals[0] ?? '';
      if (positionals.length !== 1) throw new UsageError('give one card number (8 or 9 characters)');
      if (/^[0-9A-Z]{8}$/.test(n)) {
        const full = n + cardNumberCheckChar(n);
        return out(true, { cardNumber: full }, full);
      }
      const problem = checkCardNumber(n);
      return problem === null
        ? out(true, { cardNumber: n }, `✔ ${n}`)
        : refused({ rule: 'R3', zh: `卡号校验位错误：${problem}`, en: `card number: ${problem}` });
    }
  }
  return EXIT.USAGE;
}
