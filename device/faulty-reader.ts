import { EventEmitter } from 'node:events';
import { ReaderError } from './errors.ts';
import type { CardReader } from './reader.ts';
import { VirtualReader } from './virtual-reader.ts';

/**
 * Reader faults, counted in APDUs (1-based) from the moment the plan is armed: the n-th
 * command APDU transmitted after `arm()` is the one that fails.
 *
 * - `removeCardAtApdu`: the card is pulled out as that APDU is sent. The command never reaches
 *   the card; the caller gets ReaderError CARD_REMOVED and the reader reports `card-removed`,
 *   exactly like a card yanked mid-command. Fires once.
 * - `detachReaderAtApdu`: the reader vanishes (USB cable pulled). That APDU and every later
 *   call throw ReaderError READER_GONE and `cardPresent()` is false until `reattach()`.
 */
export interface ReaderFaultPlan {
  removeCardAtApdu?: number;
  detachReaderAtApdu?: number;
}

export interface ReaderFaultState {
  plan: ReaderFaultPlan;
  apdusSent: number;
  detached: boolean;
}

function checkPlan(plan: ReaderFaultPlan): ReaderFaultPlan {
  const out: ReaderFaultPlan = {};
  for (const key of ['removeCardAtApdu', 'detachReaderAtApdu'] as const) {
    const n = plan[key];
    if (n === undefined) continue;
    if (!Number.isSafeInteger(n) || n < 1)
      throw new RangeError(`${key} must be a whole number ≥ 1, got ${n}`);
    out[key] = n;
  }
  return out;
}

/**
 * A reader with faults on demand, wrapped around any CardReader (the virtual reader, a PC/SC
 * reader). Everything is forwarded to `inner` until a planned fault fires. With a
 * VirtualReader inside, a "remove" really takes the card out of it, so every listener of the
 * virtual reader (the workspace, the screens) sees the removal too.
 */
export class FaultyReader extends EventEmitter implements CardReader {
  readonly inner: CardReader;
  private plan: ReaderFaultPlan = {};
  private sent = 0;
  private detached = false;
  /** Not a VirtualReader: the card counts as pulled until the inner reader reports a new one. */
  private pulled = false;
  private readonly onInserted = () => {
    this.pulled = false;
    // A vanished reader reports nothing; reattach() reports a card found in it.
    if (!this.detached) this.emit('card-inserted');
  };
  private readonly onRemoved = () => {
    const wasPulled = this.pulled;
    this.pulled = false;
    // The fault already reported this card's removal.
    if (!wasPulled) this.emit('card-removed');
  };

  constructor(inner: CardReader, plan?: ReaderFaultPlan) {
    super();
    this.inner = inner;
    inner.on('card-inserted', this.onInserted);
    inner.on('card-removed', this.onRemoved);
    if (plan) this.arm(plan);
  }

  get name(): string {
    return this.inner.name;
  }

  get kind(): CardReader['kind'] {
    return this.inner.kind;
  }

  /** APDUs transmitted (or attempted) since the plan was armed. */
  get apdusSent(): number {
    return this.sent;
  }

  /** Whether the reader is detached now (until reattach()). */
  get isDetached(): boolean {
    return this.detached;
  }

  /** The plan still to fire (a fired removal is gone from it). */
  get armed(): ReaderFaultPlan {
    return { ...this.plan };
  }

  state(): ReaderFaultState {
    return { plan: this.armed, apdusSent: this.sent, detached: this.detached };
  }

  /** Sets the faults to come; APDUs are counted from here. Throws RangeError on a bad plan. */
  arm(plan: ReaderFaultPlan): void {
    this.plan = checkPlan(plan);
    this.sent = 0;
  }

  /** Drops the faults still to come (a detached reader stays detached until reattach()). */
  disarm(): void {
    this.plan = {};
  }

  /** The reader is back. A card in it is reported as inserted, as a reader that reappears does. */
  reattach(): void {
    if (!this.detached) return;
    this.detached = false;
    if (this.plan.detachReaderAtApdu !== undefined && this.plan.detachReaderAtApdu <= this.sent) {
      delete this.plan.detachReaderAtApdu;
    }
    if (this.inner.cardPresent()) this.emit('card-inserted');
  }

  /** Stops listening to the inner reader (the wrapper is no longer used). */
  dispose(): void {
    this.inner.off('card-inserted', this.onInserted);
    this.inner.off('card-removed', this.onRemoved);
  }

  cardPresent(): boolean {
    return !this.detached && !this.pulled && this.inner.cardPresent();
  }

  private gone(): ReaderError {
    return new ReaderError('READER_GONE', `reader ${this.name} was detached`, this.name);
  }

  async connect(): Promise<Uint8Array> {
    if (this.detached) throw this.gone();
    if (this.pulled) throw new ReaderError('NO_CARD', `no card in ${this.name}`, this.name);
    return this.inner.connect();
  }

  async reset(): Promise<Uint8Array> {
    if (this.detached) throw this.gone();
    if (this.pulled) throw new ReaderError('NO_CARD', `no card in ${this.name}`, this.name);
    return this.inner.reset();
  }

  async disconnect(): Promise<void> {
    if (this.detached) throw this.gone();
    if (this.pulled) return;
    return this.inner.disconnect();
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    this.sent += 1;
    const n = this.sent;
    if (this.detached) throw this.gone();
    if (this.plan.detachReaderAtApdu === n) {
      this.detached = true;
      delete this.plan.detachReaderAtApdu;
      throw this.gone();
    }
    if (this.plan.removeCardAtApdu === n) {
      delete this.plan.removeCardAtApdu;
      return this.pullCard(command);
    }
    if (this.pulled) {
      throw new ReaderError('CARD_REMOVED', `the card was removed from ${this.name}`, this.name);
    }
    return this.inner.transmit(command);
  }

  /** The card leaves the reader as this command is sent: the command is lost. */
  private async pullCard(command: Uint8Array): Promise<Uint8Array> {
    if (this.inner instanceof VirtualReader) {
      // The card really leaves the virtual reader (its card-removed reaches us and everyone);
      // the lost command then fails there, and shows in the APDU trace as "card removed".
      this.inner.remove();
      return this.inner.transmit(command);
    }
    const hadCard = this.inner.cardPresent();
    this.pulled = true;
    if (hadCard) this.emit('card-removed');
    throw new ReaderError('CARD_REMOVED', `the card was removed from ${this.name}`, this.name);
  }
}
