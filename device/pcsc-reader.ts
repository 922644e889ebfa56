import { EventEmitter } from 'node:events';
import { ReaderError } from './errors.ts';
import { smartcard, toReaderError, type PcscContext } from './pcsc.ts';
import type { CardReader } from './reader.ts';
import type { ApduTrace } from './trace.ts';

type PcscCard = Awaited<ReturnType<ReturnType<PcscContext['listReaders']>[number]['connect']>>;
type Monitor = InstanceType<ReturnType<typeof smartcard>['ReaderMonitor']>;

/**
 * A real PC/SC reader (pcscd) behind the same interface as the in-process virtual reader.
 * `transmit` is raw, like a reader's: the terminal's exchange() does 61xx / 6Cxx handling.
 * A card pulled out mid-command rejects with ReaderError CARD_REMOVED.
 */
export class PcscReader extends EventEmitter implements CardReader {
  readonly kind = 'pcsc' as const;
  private readonly context: PcscContext;
  private card: PcscCard | null = null;
  private monitor: Monitor | null = null;
  private readonly trace: ApduTrace | undefined;

  constructor(
    readonly name: string,
    options: { trace?: ApduTrace } = {},
  ) {
    super();
    this.trace = options.trace;
    try {
      this.context = new (smartcard().Context)();
    } catch (e) {
      throw toReaderError(e, name, 'opening the PC/SC context');
    }
    // Card events start with the first listener (a background PC/SC monitor thread).
    this.on('newListener', (event: string) => {
      if (
        (event === 'card-inserted' || event === 'card-removed' || event === 'reader-detached') &&
        !this.monitor
      ) {
        this.startMonitor();
      }
    });
  }

  private startMonitor(): void {
    const sc = smartcard();
    this.monitor = new sc.ReaderMonitor();
    this.monitor.start((ev) => {
      if (ev.reader !== this.name) return;
      if (ev.type === 'card-inserted' || ev.type === 'card-removed' || ev.type === 'reader-detached') {
        if (ev.type !== 'card-inserted') this.dropHandle();
        this.emit(ev.type);
      }
    });
  }

  private reader() {
    const r = this.context.listReaders().find((x) => x.name === this.name);
    if (!r) throw new ReaderError('READER_GONE', `reader ${this.name} is not attached`, this.name);
    return r;
  }

  cardPresent(): boolean {
    try {
      return (this.reader().state & smartcard().SCARD_STATE_PRESENT) !== 0;
    } catch {
      return false;
    }
  }

  async connect(): Promise<Uint8Array> {
    const sc = smartcard();
    try {
      this.card?.disconnect(sc.SCARD_LEAVE_CARD);
    } catch {
      // an old handle to a card that is gone
    }
    this.card = null;
    try {
      this.card = await this.reader().connect(
        sc.SCARD_SHARE_SHARED,
        sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1,
      );
    } catch (e) {
      throw toReaderError(e, this.name, 'connecting to the card');
    }
    return new Uint8Array(this.card.atr ?? this.card.getStatus().atr);
  }

  /** The protocol pcscd negotiated: 'T=0', 'T=1' or null before connect. */
  get protocol(): 'T=0' | 'T=1' | null {
    if (!this.card) return null;
    return this.card.protocol === smartcard().SCARD_PROTOCOL_T1 ? 'T=1' : 'T=0';
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const card = this.card;
    if (!card) {
      this.trace?.record(this.name, command, null, 'not connected');
      throw new ReaderError('NOT_CONNECTED', `connect to the card in ${this.name} first`, this.name);
    }
    this.inFlight++;
    try {
      const resp = new Uint8Array(
        await card.transmit(Buffer.from(command)).finally(() => this.commandEnded()),
      );
      if (resp.length < 2) throw new Error(`the reader returned ${resp.length} bytes and no status word`);
      this.trace?.record(this.name, command, resp);
      return resp;
    } catch (e) {
      let err = toReaderError(e, this.name, 'transmit');
      // A card pulled out mid-command usually surfaces as a bare communication error
      // ("Transaction failed") before pcscd has noticed the removal: ask the reader.
      if (err.code === 'TRANSMIT_FAILED' && (await this.cardLeft(1500))) {
        err = new ReaderError(
          'CARD_REMOVED',
          `the card was removed from ${this.name} during the command`,
          this.name,
        );
      }
      this.trace?.record(this.name, command, null, err.message);
      if (err.code === 'CARD_REMOVED') this.dropHandle();
      throw err;
    }
  }

  private commandEnded(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const old of this.stale.splice(0)) disconnectQuietly(old);
  }

  /** Polls the reader until the card is seen absent (true) or the time is up (false). */
  private async cardLeft(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      if (!this.cardPresent()) return true;
      if (Date.now() > deadline) return false;
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  async reset(): Promise<Uint8Array> {
    const sc = smartcard();
    if (!this.card) return this.connect();
    try {
      await this.card.reconnect(
        sc.SCARD_SHARE_SHARED,
        sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1,
        sc.SCARD_RESET_CARD,
      );
      return new Uint8Array(this.card.getStatus().atr);
    } catch (e) {
      throw toReaderError(e, this.name, 'reset');
    }
  }

  /**
   * Forgets the handle of a card that is gone, disconnecting it now: left to the garbage
   * collector, pcsc-lite's disconnect would wait for a command in flight on that handle and,
   * when the card is served by a vpcd bridge in this same thread, never return.
   */
  private dropHandle(): void {
    const card = this.card;
    this.card = null;
    if (!card) return;
    // Never while a command is in flight on it (that is the wait to avoid): after it ends.
    if (this.inFlight > 0) this.stale.push(card);
    else disconnectQuietly(card);
  }

  private inFlight = 0;
  private readonly stale: PcscCard[] = [];

  async disconnect(): Promise<void> {
    const card = this.card;
    this.card = null;
    try {
      card?.disconnect(smartcard().SCARD_LEAVE_CARD);
    } catch {
      // already gone
    }
  }

  /** Releases the PC/SC context and the event monitor. */
  async close(): Promise<void> {
    await this.disconnect();
    this.monitor?.stop();
    this.monitor = null;
    try {
      this.context.close();
    } catch {
      // closed already
    }
  }
}

function disconnectQuietly(card: PcscCard): void {
  try {
    card.disconnect(smartcard().SCARD_LEAVE_CARD);
  } catch {
    // the card is gone: its handle may already be invalid
  }
}
