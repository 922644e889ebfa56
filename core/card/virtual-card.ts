/**
 * What a reader (device/) needs from a virtual card, implemented by SocialSecurityCard. It lives
 * with the card so that the card layer never looks up at the readers above it; device/reader.ts
 * re-exports it for the readers.
 */
export interface VirtualCard {
  readonly atr: Uint8Array;
  powerOn(): Uint8Array;
  powerOff(): void;
  reset(): Uint8Array;
  transmit(command: Uint8Array): Uint8Array;
}
