import { FaultyReader, type ReaderFaultPlan } from '../../device/faulty-reader.ts';
import type { CardReader, VirtualCard } from '../../device/reader.ts';
import { withHostFaults, type FaultyHost, type HostFault } from '../host/faulty-host.ts';
import type { Host } from '../host/types.ts';
import { CorruptingCard, checkCorruptions, type RecordCorruption } from '../card/corruption.ts';

/** Every fault armed in a workspace, as the Api and the fault panel show it. */
export interface FaultState {
  reader: {
    /** Faults still to fire (a removal that fired is gone). */
    plan: ReaderFaultPlan;
    /** APDUs sent since the plan was armed. */
    apdusSent: number;
    detached: boolean;
  };
  host: HostFault;
  /** Cards whose records come back corrupted (from their next insertion on). */
  corruptions: { cardId: string; corruptions: RecordCorruption[] }[];
}

/**
 * The faults of one till: its reader wrapped in a FaultyReader (that is the reader the terminal
 * uses), its host wrapped with withHostFaults (through openPosSystem's `wrapHost`), and the
 * cards to corrupt when they are next inserted.
 */
export class FaultControls {
  readonly reader: FaultyReader;
  private faultyHost: FaultyHost | null = null;
  private readonly corrupt = new Map<string, RecordCorruption[]>();

  constructor(reader: CardReader) {
    this.reader = new FaultyReader(reader);
  }

  /** For openPosSystem's `wrapHost`. */
  readonly wrapHost = (host: Host): Host => {
    this.faultyHost = withHostFaults(host);
    return this.faultyHost;
  };

  get host(): FaultyHost | null {
    return this.faultyHost;
  }

  setReaderFaults(plan: ReaderFaultPlan): void {
    this.reader.arm(plan);
  }

  reattachReader(): void {
    this.reader.reattach();
  }

  setHostFault(fault: HostFault): void {
    if (!this.faultyHost) throw new Error('no host to inject faults into (wrapHost was not used)');
    this.faultyHost.setFault(fault);
  }

  /** Corrupts these records of the card from its next insertion on; an empty list heals it. */
  corruptCard(cardId: string, corruptions: RecordCorruption[]): void {
    if (corruptions.length === 0) {
      this.corrupt.delete(cardId);
      return;
    }
    // Checked now, so that a bad record number fails the call, not the insertion.
    this.corrupt.set(cardId, checkCorruptions(corruptions));
  }

  /** The card to put in the reader: the card itself, or its corrupted chip. */
  cardForInsert(cardId: string, card: VirtualCard): VirtualCard {
    const c = this.corrupt.get(cardId);
    return c ? new CorruptingCard(card, c) : card;
  }

  /** No fault any more: the plan is dropped, the reader is back, the host and the cards are healthy. */
  clear(): void {
    this.reader.disarm();
    this.reader.reattach();
    this.faultyHost?.setFault(null);
    this.corrupt.clear();
  }

  state(): FaultState {
    return {
      reader: this.reader.state(),
      host: this.faultyHost?.fault ?? null,
      corruptions: [...this.corrupt].map(([cardId, corruptions]) => ({
        cardId,
        corruptions: corruptions.map((c) => ({ ...c })),
      })),
    };
  }

  dispose(): void {
    this.reader.dispose();
  }
}
