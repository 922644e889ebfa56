import { EventEmitter } from 'node:events';

/**
 * The virtual PIN pad (密码键盘): the PIN-taking functions wait here for the holder. A PIN
 * typed on it goes into the card's APDU and nowhere else — never back through the interface,
 * never into a log (the APDU trace masks VERIFY and CHANGE PIN bodies), never stored.
 *
 * Entries come from a queue a test or a caller fills (`enter("258014")`, `enter("CANCEL")`)
 * or, when the queue is empty, from whoever answers the `request` event (the app's customer
 * PIN pad): it calls `enter()` later. No entry within the timeout ends the wait as 'timeout'.
 * Events: `request` (PinRequest) when a function waits with nothing queued; `done`
 * (PinRequest, 'entered' | 'cancel' | 'timeout') when the wait ends — never with the PIN.
 */
export type PinPrompt =
  | 'pin' // 请输入密码
  | 'old-pin' // 请输入原密码
  | 'new-pin' // 请输入新密码
  | 'new-pin-again'; // 请再次输入新密码

export interface PinRequest {
  /** The interface function asking (iVerifyPIN, iChangePIN, iDoDebit …). */
  readonly functionName: string;
  readonly prompt: PinPrompt;
}

export type PinEntry =
  { readonly kind: 'pin'; readonly pin: string } | { readonly kind: 'cancel' } | { readonly kind: 'timeout' };

export interface PinPad {
  /** Waits for the holder's next entry. Never rejects. */
  read(request: PinRequest): Promise<PinEntry>;
}

/** What a queued entry may be: digits (1–12) or CANCEL. */
export const PIN_ENTRY_PATTERN = /^(?:[0-9]{1,12}|CANCEL)$/;

export class PinPadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PinPadError';
  }
}

export interface VirtualPinPadOptions {
  /** How long a function waits for an entry (default 30 s, as reader PIN pads do). */
  timeoutMs?: number;
}

export class VirtualPinPad extends EventEmitter implements PinPad {
  private readonly queue: string[] = [];
  private waiting: { request: PinRequest; resolve: (e: PinEntry) => void; timer: NodeJS.Timeout } | null =
    null;
  timeoutMs: number;

  constructor(options: VirtualPinPadOptions = {}) {
    super();
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Queues entries, one per PIN the card will ask for (iChangePIN asks three: old, new, new
   * again); "CANCEL" cancels the entry it answers. Checks them all first: a bad one queues
   * nothing and throws a PinPadError naming it by position (never echoing it).
   */
  enter(...entries: string[]): void {
    entries.forEach((e, i) => {
      if (typeof e !== 'string' || !PIN_ENTRY_PATTERN.test(e))
        throw new PinPadError(`entry ${i + 1} of ${entries.length} is not a PIN of 1 to 12 digits or CANCEL`);
    });
    for (const e of entries) this.queue.push(e);
    this.serve();
  }

  /** Entries queued and not yet used. */
  get pending(): number {
    return this.queue.length;
  }

  /** Drops every queued entry (a new scenario, a reset till). */
  clear(): void {
    this.queue.length = 0;
  }

  /** Whether a function is waiting for the holder now. */
  get isWaiting(): boolean {
    return this.waiting !== null;
  }

  read(request: PinRequest): Promise<PinEntry> {
    if (this.waiting) return Promise.resolve({ kind: 'cancel' }); // one prompt at a time
    return new Promise<PinEntry>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.emit('done', request, 'timeout');
        resolve({ kind: 'timeout' });
      }, this.timeoutMs);
      this.waiting = { request, resolve, timer };
      if (this.queue.length === 0) this.emit('request', request);
      this.serve();
    });
  }

  private serve(): void {
    const w = this.waiting;
    if (!w || this.queue.length === 0) return;
    const entry = this.queue.shift()!;
    clearTimeout(w.timer);
    this.waiting = null;
    const outcome: PinEntry = entry === 'CANCEL' ? { kind: 'cancel' } : { kind: 'pin', pin: entry };
    this.emit('done', w.request, outcome.kind === 'pin' ? 'entered' : 'cancel');
    w.resolve(outcome);
  }
}
