import { ReaderError } from '../../device/errors.ts';
import { VirtualReader } from '../../device/virtual-reader.ts';
import { PcscReader } from '../../device/pcsc-reader.ts';
import { VpcdBridge, vpcdReaderName } from '../../device/vpcd-bridge.ts';
import { waitForCard } from '../../device/pcsc.ts';
import type { VirtualCard } from '../../device/reader.ts';
import type { ApduTrace } from '../../device/trace.ts';
import type { PullControl } from './context.ts';

/**
 * Card pulls (防拔) under software control. A real card cannot be pulled by a program, so
 * the pull checks need a virtual card that this process serves: in the in-process reader,
 * or into pcscd through vpcd. The card is wrapped; when an armed command arrives, the card
 * leaves the reader before it processes it, or after (its EEPROM written, the answer lost).
 */
export class PullableCard implements VirtualCard {
  private armed: { match: (c: Uint8Array) => boolean; when: 'before' | 'after' } | null = null;
  private didFire = false;
  /** Takes the card out of its reader (set by the target). */
  onPull: () => void = () => {};

  constructor(
    readonly inner: VirtualCard,
    /** In-process the reader must be told the answer is lost ('throw'); vpcd just sends none. */
    private readonly lostAnswer: 'throw' | 'silence',
    private readonly readerName = 'the reader',
  ) {}

  get atr(): Uint8Array {
    return this.inner.atr;
  }

  powerOn(): Uint8Array {
    return this.inner.powerOn();
  }

  powerOff(): void {
    this.inner.powerOff();
  }

  reset(): Uint8Array {
    return this.inner.reset();
  }

  arm(match: (c: Uint8Array) => boolean, when: 'before' | 'after'): void {
    this.armed = { match, when };
    this.didFire = false;
  }

  fired(): boolean {
    const f = this.didFire;
    this.didFire = false;
    this.armed = null;
    return f;
  }

  transmit(command: Uint8Array): Uint8Array {
    const a = this.armed;
    if (!a || !a.match(command)) return this.inner.transmit(command);
    this.armed = null;
    this.didFire = true;
    if (a.when === 'after') this.inner.transmit(command);
    this.onPull();
    if (this.lostAnswer === 'throw') {
      throw new ReaderError(
        'CARD_REMOVED',
        `the card was removed from ${this.readerName} during the command`,
        this.readerName,
      );
    }
    return new Uint8Array(0);
  }
}

export interface InProcessTarget {
  reader: VirtualReader;
  pull: PullControl;
  card: PullableCard;
}

/** The card in the in-process virtual reader, pullable. */
export function inProcessTarget(
  card: VirtualCard,
  options: { name?: string; trace?: ApduTrace } = {},
): InProcessTarget {
  const reader = new VirtualReader(options);
  const pc = new PullableCard(card, 'throw', reader.name);
  pc.onPull = () => reader.remove();
  reader.insert(pc);
  return {
    reader,
    card: pc,
    pull: {
      arm: (m, w) => pc.arm(m, w),
      fired: () => pc.fired(),
      reinsert: async () => reader.insert(pc),
    },
  };
}

export interface VpcdTarget {
  reader: PcscReader;
  bridge: VpcdBridge;
  pull: PullControl;
  card: PullableCard;
  /** Closes the PC/SC reader and takes the card out of the slot. */
  close(): Promise<void>;
}

/**
 * The card served into pcscd on a vpcd slot and read back through PC/SC, pullable: a pull
 * closes the vpcd connection in the middle of the command, exactly as pulling the card out
 * of a reader does to pcscd.
 */
export async function vpcdTarget(
  card: VirtualCard,
  slot: number,
  options: { trace?: ApduTrace } = {},
): Promise<VpcdTarget> {
  const name = vpcdReaderName(slot);
  const pc = new PullableCard(card, 'silence', name);
  const bridge = new VpcdBridge({ card: pc, slot, ...(options.trace ? { trace: options.trace } : {}) });
  let stopping: Promise<void> | null = null;
  pc.onPull = () => {
    stopping = bridge.stop();
  };
  const insert = async () => {
    bridge.start();
    await bridge.waitConnected();
    await waitForCard(name, true, 10_000);
  };
  await insert();
  const reader = new PcscReader(name, options.trace ? { trace: options.trace } : {});
  return {
    reader,
    bridge,
    card: pc,
    pull: {
      arm: (m, w) => pc.arm(m, w),
      fired: () => pc.fired(),
      reinsert: async () => {
        // PcscReader releases the pulled card's handle itself once no command is in flight.
        await stopping;
        stopping = null;
        await waitForCard(name, false, 5000);
        await insert();
      },
    },
    close: async () => {
      await reader.close();
      await bridge.stop();
    },
  };
}
