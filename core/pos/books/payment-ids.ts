import { randomBytes } from 'node:crypto';

/**
 * Transaction ids the till makes itself, offline: readable, sorted by time and unique across
 * processes and restarts without asking anyone (see TerminalLedger.newPaymentId).
 */

/** Beijing wall-clock digits of an instant: YYYYMMDD and HHmmssSSS. */
function beijingDigits(at: Date): { day: string; time: string } {
  const iso = new Date(at.getTime() + 8 * 3600_000).toISOString();
  return {
    day: iso.slice(0, 10).replaceAll('-', ''),
    time: iso.slice(11, 23).replaceAll(':', '').replace('.', ''),
  };
}

export class PaymentIds {
  private lastIdTime = '';
  private lastIdRandom = 0;

  constructor(
    private readonly clock: () => Date,
    private readonly terminalId: string,
    /** Whether an id is already in the books (a clock set back): such an id is never returned. */
    private readonly exists: (id: string) => boolean,
  ) {}

  next(): string {
    for (;;) {
      const { day, time } = beijingDigits(this.clock());
      const stamp = `${day}-${time}`;
      if (stamp === this.lastIdTime && this.lastIdRandom < 0xffffffff) {
        this.lastIdRandom += 1;
      } else {
        this.lastIdTime = stamp;
        this.lastIdRandom = randomBytes(4).readUInt32BE(0) & 0x7fffffff; // room to count up
      }
      const id = `${this.terminalId}-${stamp}-${this.lastIdRandom.toString(16).padStart(8, '0')}`;
      if (!this.exists(id)) return id;
    }
  }
}
