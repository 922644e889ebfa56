import { EXIT, InputError, UsageError, type CliIo } from './io.ts';
import { parse } from './args.ts';
import { pickPcscReader } from './conformance-command.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { SocialSecurityCard } from '../core/card/social-security-card.ts';
import { recordCard, RecordError, type Recording } from '../core/terminal/record.ts';
import { ProfileError } from '../core/card/profile.ts';
import { VirtualReader } from '../device/virtual-reader.ts';
import { PcscReader } from '../device/pcsc-reader.ts';

export const RECORD_USAGE = `sscard record [--reader <name>] > card.json
sscard record --card <card> > card.json

Reads what the card gives out without a key or a PIN — ATR, SSSE FCI, EF05, EF06 when it is not
protected (gen 1/2), the debit application's PAN — into a card profile on stdout, which
'sscard serve --card card.json' presents as a virtual card. Never sends a PIN or a key: the PIN
fields hold the placeholder 000000, and the profile's "recorded" block lists what was read, what
holds a placeholder and what could not be read (docs/conformance.md, "Record and replay").
A summary goes to stderr.`;

export async function cmdRecord(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    reader: { type: 'string' },
    card: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    io.out(RECORD_USAGE);
    return EXIT.OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.card !== undefined && values.reader !== undefined) {
    throw new UsageError('give either --card or --reader, not both');
  }
  let recording: Recording;
  let readerName: string;
  try {
    if (typeof values.card === 'string') {
      const reader = new VirtualReader();
      reader.insert(new SocialSecurityCard(resolveCard(values.card).profile));
      readerName = reader.name;
      recording = await recordCard(reader, { readerName });
      await reader.disconnect();
    } else {
      readerName = pickPcscReader(values.reader as string | undefined);
      const reader = new PcscReader(readerName);
      try {
        recording = await recordCard(reader, { readerName });
      } finally {
        await reader.close();
      }
    }
  } catch (e) {
    if (e instanceof RecordError) throw new InputError(`cannot record the card: ${e.message}`);
    if (e instanceof ProfileError && e.source === 'recording') {
      throw new InputError(
        `cannot record the card: its data does not make a valid card profile\n${e.message}`,
      );
    }
    throw e;
  }
  const { profile, parsed } = recording;
  io.out(JSON.stringify(profile, null, 2));
  const rec = profile.recorded!;
  io.err(
    [
      `sscard record: card ${parsed.card.number} (gen ${parsed.generation}) from "${readerName}"`,
      `  read:         ${rec.read.join(', ')}`,
      `  placeholders: ${rec.placeholders.join(', ')}`,
      ...rec.notRead.map((n) => `  not read:     ${n.item} — ${n.reason}`),
    ].join('\n'),
  );
  return EXIT.OK;
}
