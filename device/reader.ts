/**
 * The reader interface every terminal-side component uses: the in-process virtual reader
 * and the PC/SC reader both implement it.
 */
export interface CardReader {
  readonly name: string;
  readonly kind: 'virtual' | 'pcsc';
  /** Whether a card sits in the reader now. */
  cardPresent(): boolean;
  /** Powers the card up and returns its ATR. Throws ReaderError NO_CARD. */
  connect(): Promise<Uint8Array>;
  /** Sends one command APDU, returns the response (data ‖ SW1 SW2). Throws ReaderError. */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  /** Warm reset; returns the ATR. Clears the card's security state. */
  reset(): Promise<Uint8Array>;
  /** Powers the card down. */
  disconnect(): Promise<void>;
  on(event: 'card-inserted' | 'card-removed', listener: () => void): this;
  off(event: 'card-inserted' | 'card-removed', listener: () => void): this;
}

export type { VirtualCard } from '../core/card/virtual-card.ts';
