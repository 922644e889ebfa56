import { openPosSystem, type PosSystem } from '../pos/pos-system.ts';
import type { CardProfile } from '../card/profile.ts';
import { loadWallet } from '../card/wallet.ts';
import type { CardReader } from '../../device/reader.ts';
import type { VirtualReader } from '../../device/virtual-reader.ts';
import type { ApduTrace } from '../../device/trace.ts';
import {
  createReaderInterface,
  VirtualPinPad,
  type PinRequest,
  type ReaderInterface,
  type ReaderInterfaceSettings,
} from '../reader-interface/index.ts';
import type { DriverBackend, DriverCallResult } from './server.ts';

/**
 * What `sscard driver serve` (and the app's 读卡服务) serves: one reader-interface session on a
 * till of the embedded defaults — the SQLite ledger, the in-process host — with a virtual card
 * in the in-process reader, or whatever card sits in a PC/SC reader; a virtual PIN pad whose
 * entries POST /pinpad queues (or the app's PIN pad answers); the card-management centre with
 * SSCard Lab's keys.
 */
export interface DriverSessionOptions {
  /** The ledger file (':memory:' for a throw-away one). */
  dbPath: string;
  /** A virtual card, inserted into the in-process reader for the session's life … */
  card?: CardProfile;
  /** … or a PC/SC reader (a vpcd-served card, a real reader). */
  reader?: CardReader;
  /** How long a PIN-taking function waits for the holder (default 30 s). */
  pinTimeoutMs?: number;
  settings?: Partial<ReaderInterfaceSettings>;
  trace?: ApduTrace;
}

export interface DriverSession {
  interface: ReaderInterface;
  pinPad: VirtualPinPad;
  pos: PosSystem;
  reader: CardReader;
  backend: DriverBackend;
  close(): Promise<void>;
}

/** The interface's answer in the transport's shape: outputs besides pOutInfo flattened. */
export function toDriverResult(r: {
  functionName: string;
  code: number;
  pOutInfo: string;
  outputs?: Record<string, string>;
  detail?: string;
}): DriverCallResult {
  return {
    functionName: r.functionName,
    code: r.code,
    pOutInfo: r.pOutInfo,
    ...(r.outputs ?? {}),
    ...(r.detail !== undefined ? { detail: r.detail } : {}),
  };
}

/** The transport's backend over an interface session and its virtual PIN pad. */
export function interfaceBackend(ri: ReaderInterface, pad: VirtualPinPad): DriverBackend {
  let asking: PinRequest | null = null;
  pad.on('request', (r: PinRequest) => (asking = r));
  pad.on('done', () => (asking = null));
  return {
    pinPadState() {
      const now = pad.isWaiting ? asking : null;
      return {
        waiting: pad.isWaiting,
        functionName: now?.functionName ?? null,
        prompt: now?.prompt ?? null,
        queued: pad.pending,
      };
    },
    async call(request) {
      return toDriverResult(await ri.call(request));
    },
    queuePinEntries(entries) {
      pad.enter(...entries); // checks them all first; a PinPadError names the bad one by position
    },
    cardManagementAuth(step1) {
      const a = ri.cardManagement.authenticate(step1);
      if ('pKey' in a) return a.pKey;
      throw new Error(`卡管中心拒绝 the card-management centre refused (${a.code}): ${a.message}`);
    },
  };
}

export function openDriverSession(options: DriverSessionOptions): DriverSession {
  if ((options.card === undefined) === (options.reader === undefined))
    throw new Error('a driver session takes either a virtual card or a PC/SC reader');
  const pos = openPosSystem({
    dbPath: options.dbPath,
    ...(options.reader ? { reader: options.reader } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
  });
  try {
    if (options.card) {
      (pos.reader as VirtualReader).insert(pos.register(options.card));
    } else {
      // A card in a PC/SC reader is paid for through this till's host: the bundled cards are
      // known to it, so a vpcd-served bundled card pays as it does at the till.
      for (const { profile } of loadWallet()) pos.register(profile);
    }
    const pinPad = new VirtualPinPad({ timeoutMs: options.pinTimeoutMs ?? 30_000 });
    const ri = createReaderInterface({
      reader: pos.reader,
      pinPad,
      till: { pos },
      clock: pos.clock,
      ...(options.settings ? { settings: options.settings } : {}),
    });
    return {
      interface: ri,
      pinPad,
      pos,
      reader: pos.reader,
      backend: interfaceBackend(ri, pinPad),
      async close() {
        // A function still waiting for the holder is cancelled (-31) rather than left hanging.
        pinPad.clear();
        if (pinPad.isWaiting) pinPad.enter('CANCEL');
        try {
          await pos.reader.disconnect();
        } catch {
          // the card or the reader is gone already
        }
        const closable = pos.reader as { close?: () => Promise<void> };
        if (typeof closable.close === 'function') await closable.close().catch(() => {});
        pos.close();
      },
    };
  } catch (e) {
    pos.close();
    throw e;
  }
}
