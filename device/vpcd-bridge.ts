import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type { VirtualCard } from './reader.ts';
import type { ApduTrace } from './trace.ts';

/**
 * Presents a virtual card to the real PC/SC stack through vsmartcard's vpcd driver: pcscd
 * listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00") and 35964 ("… 00 01"); the card
 * side connects as a TCP client. Connected = card inserted; disconnected = card removed.
 *
 * Frames both ways: a 2-byte big-endian length, then the payload. From vpcd, a 1-byte
 * payload is a control (0 power off, 1 power on, 2 reset, 4 send the ATR; only 4 is
 * answered), anything else a command APDU to answer with a response APDU.
 */
export const VPCD_BASE_PORT = 35963;

export const VPCD_CONTROL = { POWER_OFF: 0, POWER_ON: 1, RESET: 2, GET_ATR: 4 } as const;

export function vpcdReaderName(slot: number): string {
  return `Virtual PCD 00 ${String(slot).padStart(2, '0')}`;
}

type SetSockOpt = (socket: Socket, level: number, option: number, value: number) => void;

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

/**
 * Debian's vpcd writes a frame's length and its APDU in two small sends; with delayed ACKs
 * each APDU then waits ≈40 ms. Re-arming TCP_QUICKACK after every read (it is not sticky)
 * removes the wait. Loaded lazily: without the native `sockopt` module the bridge still
 * works, only slower.
 */
function loadSetSockOpt(): SetSockOpt | null {
  try {
    const require = createRequire(import.meta.url);
    return (require('sockopt') as { setsockopt: SetSockOpt }).setsockopt;
  } catch {
    return null;
  }
}

export interface VpcdBridgeOptions {
  card: VirtualCard;
  slot?: number;
  host?: string;
  port?: number;
  /** First reconnect delay; doubles up to maxReconnectDelayMs while pcscd is away. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  trace?: ApduTrace;
  /** Set TCP_QUICKACK after every read (default true). */
  quickAck?: boolean;
}

export interface VpcdBridgeEvents {
  /** TCP connection to vpcd established (vpcd may still be busy with another card). */
  connected: [];
  /** pcscd talked to the card for the first time on this connection: it is in the reader. */
  inserted: [];
  disconnected: [reason: string];
  control: [code: number];
}

/**
 * Splits a byte stream into vpcd frames; keeps a partial frame until the rest arrives. The
 * chunks of a partial frame are joined once, when it is complete: a frame dribbled in byte by
 * byte costs linear time, not quadratic.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  /** Bytes buffered for a frame not yet complete. */
  get pending(): number {
    return this.length;
  }

  private byteAt(i: number): number {
    for (const c of this.chunks) {
      if (i < c.length) return c[i]!;
      i -= c.length;
    }
    throw new RangeError(`byte ${i} is beyond the ${this.length} bytes buffered`);
  }

  push(chunk: Buffer): Buffer[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    const frames: Buffer[] = [];
    while (this.length >= 2) {
      const end = 2 + ((this.byteAt(0) << 8) | this.byteAt(1));
      if (this.length < end) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
      frames.push(all.subarray(2, end));
      const rest = all.subarray(end);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
    }
    return frames;
  }
}

/** What the bridge answers for a card that failed (threw, or answered what no frame can carry). */
const CARD_FAULT = Uint8Array.of(0x6f, 0x00);

export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + payload.length);
  out.writeUInt16BE(payload.length, 0);
  out.set(payload, 2);
  return out;
}

export class VpcdBridge extends EventEmitter<VpcdBridgeEvents> {
  readonly slot: number;
  readonly host: string;
  readonly port: number;
  readonly readerName: string;
  private readonly card: VirtualCard;
  private readonly trace: ApduTrace | undefined;
  private readonly setsockopt: SetSockOpt | null;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private socket: Socket | null = null;
  private running = false;
  private isConnected = false;
  private delay: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: VpcdBridgeOptions) {
    super();
    this.card = options.card;
    this.slot = options.slot ?? 0;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? VPCD_BASE_PORT + this.slot;
    this.readerName = vpcdReaderName(this.slot);
    this.trace = options.trace;
    this.setsockopt = options.quickAck === false ? null : loadSetSockOpt();
    this.baseDelay = options.reconnectDelayMs ?? 250;
    this.maxDelay = options.maxReconnectDelayMs ?? 4000;
    this.delay = this.baseDelay;
  }

  /** Whether TCP_QUICKACK is in use (false: the `sockopt` module is missing or disabled). */
  get quickAck(): boolean {
    return this.setsockopt !== null;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Inserts the card: connects to vpcd, and keeps reconnecting if pcscd goes away. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Removes the card: closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  /** Resolves once connected to vpcd (rejects after timeoutMs). */
  waitConnected(timeoutMs = 5000): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connected', done);
        reject(
          new Error(
            `vpcd at ${this.host}:${this.port} did not accept the card within ${timeoutMs} ms (is pcscd running with vsmartcard-vpcd?)`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.once('connected', done);
    });
  }

  private connect(): void {
    const socket = new Socket();
    this.socket = socket;
    const frames = new FrameReader();
    let heard = false;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.isConnected = true;
      this.delay = this.baseDelay;
      this.emit('connected');
    });
    socket.on('data', (chunk: Buffer) => {
      this.rearmQuickAck(socket);
      if (!heard) {
        heard = true;
        this.emit('inserted');
      }
      for (const frame of frames.push(chunk)) this.handle(socket, frame);
    });
    socket.on('error', () => {
      // 'close' follows and decides about reconnecting; the reason is in the close event.
    });
    socket.on('close', (hadError) => {
      const was = this.isConnected;
      this.isConnected = false;
      this.socket = null;
      this.cardControl(() => this.card.powerOff());
      if (was)
        this.emit(
          'disconnected',
          hadError ? 'connection error' : this.running ? 'pcscd closed the connection' : 'removed',
        );
      if (this.running) this.scheduleReconnect();
    });
    socket.connect(this.port, this.host);
  }

  private scheduleReconnect(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) this.connect();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, this.maxDelay);
  }

  private rearmQuickAck(socket: Socket): void {
    if (!this.setsockopt) return;
    try {
      this.setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, 1);
    } catch {
      // The socket may be closing; the next read re-arms it.
    }
  }

  /** A power control of the card. A card that fails it must not take the bridge down. */
  private cardControl(action: () => unknown): void {
    try {
      action();
    } catch {
      // The card is left as it is: vpcd expects no answer to power controls, and the card's
      // next answers (6F00 if it throws) tell the reader what state it is in.
    }
  }

  private handle(socket: Socket, frame: Buffer): void {
    if (frame.length === 1) {
      const code = frame[0]!;
      this.emit('control', code);
      switch (code) {
        case VPCD_CONTROL.POWER_OFF:
          return this.cardControl(() => this.card.powerOff());
        case VPCD_CONTROL.POWER_ON:
          return this.cardControl(() => this.card.powerOn());
        case VPCD_CONTROL.RESET:
          return this.cardControl(() => this.card.reset());
        case VPCD_CONTROL.GET_ATR: {
          // A card that cannot give its ATR answers an empty one: vpcd reads that as no card.
          let atr: Uint8Array = new Uint8Array(0);
          this.cardControl(() => (atr = this.card.atr));
          socket.write(encodeFrame(atr.length <= 0xffff ? atr : new Uint8Array(0)));
          return;
        }
        default:
          return; // unknown control: vpcd expects no answer
      }
    }
    // Anything else is an APDU, malformed ones included: the card answers them all.
    let resp: Uint8Array;
    try {
      resp = this.card.transmit(frame);
      // An answer a frame cannot carry (over 65,535 bytes) is a card fault too.
      if (resp.length > 0xffff) resp = CARD_FAULT;
    } catch {
      resp = CARD_FAULT; // a card fault must not take the bridge down
    }
    if (socket.destroyed) return; // pulled out while it worked: no answer reaches the reader
    this.trace?.record(this.readerName, frame, resp);
    socket.write(encodeFrame(resp));
  }
}
