import { EventEmitter } from 'node:events';
import { ReaderError } from './errors.ts';
import type { CardReader, VirtualCard } from './reader.ts';
import type { ApduTrace } from './trace.ts';
import { crashPoint } from '../core/crash-points.ts';

export interface VirtualReaderOptions {
  name?: string;
  trace?: ApduTrace;
}

/**
 * An in-process reader: a virtual card is inserted and removed by method calls, and APDUs
 * go straight to the emulator. No hardware, no pcscd.
 */
export class VirtualReader extends EventEmitter implements CardReader {
  readonly name: string;
  readonly kind = 'virtual' as const;
  private card: VirtualCard | null = null;
  private powered = false;
  private readonly trace: ApduTrace | undefined;

  constructor(options: VirtualReaderOptions = {}) {
    super();
    this.name = options.name ?? 'SSCard Lab Virtual Reader 0';
    this.trace = options.trace;
  }

  /** Puts a card in the reader (a card already there is pulled out first). */
  insert(card: VirtualCard): void {
    if (this.card) this.remove();
    this.card = card;
    this.powered = false;
    this.emit('card-inserted');
  }

  /** Pulls the card out at once, whatever the terminal is doing. */
  remove(): void {
    if (!this.card) return;
    this.card.powerOff();
    this.card = null;
    this.powered = false;
    this.emit('card-removed');
  }

  get insertedCard(): VirtualCard | null {
    return this.card;
  }

  cardPresent(): boolean {
    return this.card !== null;
  }

  async connect(): Promise<Uint8Array> {
    if (!this.card) throw new ReaderError('NO_CARD', `no card in ${this.name}`, this.name);
    this.powered = true;
    return this.card.powerOn();
  }

  async reset(): Promise<Uint8Array> {
    if (!this.card) throw new ReaderError('NO_CARD', `no card in ${this.name}`, this.name);
    this.powered = true;
    return this.card.reset();
  }

  async disconnect(): Promise<void> {
    if (this.card && this.powered) this.card.powerOff();
    this.powered = false;
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.transmitSync(command);
  }

  /** The same exchange without a promise, for benchmarks and synchronous callers. */
  transmitSync(command: Uint8Array): Uint8Array {
    const card = this.card;
    if (!card) {
      this.trace?.record(this.name, command, null, 'card removed');
      throw new ReaderError('CARD_REMOVED', `the card was removed from ${this.name}`, this.name);
    }
    if (!this.powered) {
      this.trace?.record(this.name, command, null, 'not connected');
      throw new ReaderError('NOT_CONNECTED', `connect to the card in ${this.name} first`, this.name);
    }
    crashPoint('during-apdu');
    const resp = card.transmit(command);
    this.trace?.record(this.name, command, resp);
    return resp;
  }
}
