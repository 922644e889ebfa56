import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { parse } from './args.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { SocialSecurityCard } from '../core/card/social-security-card.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { listPcscReaders, matchReader } from '../device/pcsc.ts';
import { ReaderError } from '../device/errors.ts';
import type { CardReader } from '../device/reader.ts';
import { inProcessTarget } from '../core/conformance/pull.ts';
import {
  formatGroupHeading,
  formatHeader,
  formatResult,
  formatSummary,
  runConformance,
  type ConformanceOptions,
  type ConformanceReport,
} from '../core/conformance/runner.ts';
import type { PullControl } from '../core/conformance/context.ts';
import type { CheckGroup } from '../core/conformance/checks.ts';

export const CONFORMANCE_USAGE = `sscard conformance [--reader <name> | --card <card>] [--pin <digits> --pin-checks] [--pull-checks] [--json]

Runs the conformance pack (docs/conformance.md) against the card in a PC/SC reader (the first
one with a card unless --reader), or with --card against a virtual card in the in-process reader.
Read-only checks run by default.
  --pin-checks   also the PIN checks (iVerifyPIN, iChangePIN, iReloadPIN, iUnblockPIN); they end
                 with the right PIN, so the try counter is left as found. --pin is the card's PIN
                 (with --card it defaults to the profile's)
  --pull-checks  also the card-pull (防拔) checks: only a virtual card (--card) can be pulled
  --json         the report as JSON
Exit: 0 every check that ran passed, 2 a check failed, 1 bad input, 64 usage.`;

/** The PC/SC reader to test: the one named, or the first with a card in it. */
export function pickPcscReader(wanted: string | undefined): string {
  const readers = listPcscReaders();
  if (wanted) {
    return matchReader(
      readers.map((r) => r.name),
      wanted,
    );
  }
  const withCard = readers.find((r) => r.cardPresent);
  if (!withCard) {
    throw new ReaderError(
      'NO_CARD',
      readers.length
        ? `no card in any PC/SC reader (${readers.map((r) => r.name).join(', ')})`
        : 'no PC/SC readers: is pcscd running?',
    );
  }
  return withCard.name;
}

export async function cmdConformance(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    reader: { type: 'string' },
    card: { type: 'string' },
    pin: { type: 'string' },
    'pin-checks': { type: 'boolean' },
    'pull-checks': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(CONFORMANCE_USAGE);
    return EXIT.OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.card !== undefined && values.reader !== undefined) {
    throw new UsageError('give either --card or --reader, not both');
  }
  const pinChecks = values['pin-checks'] === true;
  const pullChecks = values['pull-checks'] === true;
  let pin = values.pin as string | undefined;
  if (pin !== undefined && !pinChecks) throw new UsageError('--pin is used by --pin-checks only');
  if (pin !== undefined && !/^[0-9]{4,12}$/.test(pin)) throw new InputError('--pin must be 4 to 12 digits');
  if (typeof values.card === 'string' && values.card === '') throw new UsageError('--card needs a card');
  if (typeof values.reader === 'string' && values.reader === '')
    throw new UsageError('--reader needs a name');

  let reader: CardReader;
  let pull: PullControl | null = null;
  let close = async () => {};
  const extra: Partial<ConformanceOptions> = {};
  if (typeof values.card === 'string') {
    const { profile } = resolveCard(values.card);
    pin ??= pinChecks ? profile.pin : undefined;
    const target = inProcessTarget(new SocialSecurityCard(profile));
    reader = target.reader;
    pull = target.pull;
    extra.algorithm = profile.algorithm;
    extra.simulated = true;
  } else {
    if (pinChecks && pin === undefined) {
      throw new UsageError('--pin-checks needs --pin <digits>: the PIN of the card in the reader');
    }
    const name = pickPcscReader(values.reader as string | undefined);
    const pcsc = new PcscReader(name);
    reader = pcsc;
    close = () => pcsc.close();
  }

  const json = values.json === true;
  let group: CheckGroup | null = null;
  let report: ConformanceReport;
  try {
    report = await runConformance(reader, {
      ...extra,
      pin: pin ?? null,
      pinChecks,
      pullChecks,
      pull,
      ...(json
        ? {}
        : {
            // Printed as the checks run: a real reader takes a while.
            onStart: (header) => io.out(formatHeader(header).join('\n')),
            onResult: (r) => {
              if (r.group !== group) {
                group = r.group;
                io.out(formatGroupHeading(r.group));
              }
              io.out(formatResult(r).join('\n'));
            },
          }),
    });
  } finally {
    await close();
  }
  io.out(json ? JSON.stringify(report, null, 2) : formatSummary(report));
  return report.ok ? EXIT.OK : EXIT.DECLINED;
}
