import { toHex } from '../core/card/hex.ts';
import { describeSw, swHex } from '../core/card/status-words.ts';
import { describeCommand } from './apdu-names.ts';

/** One APDU exchange as a trace shows it. PIN-bearing data is already masked. */
export interface TraceEntry {
  readonly seq: number;
  readonly at: string; // ISO time from the injected clock
  readonly reader: string;
  readonly command: string; // hex, PIN data replaced by '**' per byte
  readonly response: string; // hex data ‖ SW, or '' when the exchange failed
  readonly sw: string; // '9000', or '' on failure
  readonly meaning: string; // decoded command and status word
  readonly error?: string;
}

/**
 * Commands whose data carries a PIN or PIN-equivalent: VERIFY (20), CHANGE REFERENCE DATA
 * (24, also PIN UNBLOCK under CLA 84), RESET RETRY COUNTER (2C), CHANGE/RELOAD PIN (5E).
 */
const PIN_INS = new Set([0x20, 0x24, 0x2c, 0x5e]);

export function commandCarriesPin(command: Uint8Array): boolean {
  return command.length > 5 && PIN_INS.has(command[1]!);
}

/**
 * The command as hex with everything after the header and Lc of a PIN command masked. Lc is
 * not trusted: a malformed VERIFY (Lc=00, a short Lc) still carries the digits after it.
 */
export function maskCommand(command: Uint8Array): string {
  const hex = toHex(command);
  if (!commandCarriesPin(command)) return hex;
  return hex.slice(0, 10) + '*'.repeat(hex.length - 10);
}

export class ApduTrace {
  private readonly entries: TraceEntry[] = [];
  private seq = 0;
  private readonly listeners = new Set<(e: TraceEntry) => void>();

  constructor(
    private readonly clock: () => Date = () => new Date(),
    private readonly limit = 10_000,
  ) {}

  record(reader: string, command: Uint8Array, resp: Uint8Array | null, error?: string): TraceEntry {
    const sw = resp && resp.length >= 2 ? (resp[resp.length - 2]! << 8) | resp[resp.length - 1]! : -1;
    const entry: TraceEntry = {
      seq: ++this.seq,
      at: this.clock().toISOString(),
      reader,
      command: maskCommand(command),
      response: resp ? toHex(resp) : '',
      sw: sw >= 0 ? swHex(sw) : '',
      meaning: `${describeCommand(command)} → ${sw >= 0 ? describeSw(sw) : (error ?? 'no answer')}`,
      ...(error ? { error } : {}),
    };
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    for (const l of this.listeners) l(entry);
    return entry;
  }

  list(): readonly TraceEntry[] {
    return this.entries;
  }

  clear(): void {
    this.entries.length = 0;
  }

  subscribe(listener: (e: TraceEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Text export: one line per exchange, PINs masked. */
  toText(): string {
    return this.entries
      .map((e) => `${e.seq}\t${e.at}\t${e.reader}\t> ${e.command}\t< ${e.response || '-'}\t${e.meaning}`)
      .join('\n');
  }
}
