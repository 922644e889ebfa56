import { openPosSystem, type PosSystem } from '../../../core/pos/pos-system.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import { parseProfile, type CardProfile, type CardProfileInput } from '../../../core/card/profile.ts';
import { fixedClock } from '../../../core/time.ts';
import type { VirtualReader } from '../../../device/virtual-reader.ts';
import type { ApduTrace } from '../../../device/trace.ts';
import { createReaderInterface, type ReaderInterface } from '../../../core/reader-interface/interface.ts';
import { VirtualPinPad } from '../../../core/reader-interface/pin-pad.ts';
import type { ReaderInterfaceOptions } from '../../../core/reader-interface/interface.ts';

/** A till on a fresh in-memory ledger with one bundled card in its virtual reader, and an interface session on it. */
export interface Lab {
  pos: PosSystem;
  reader: VirtualReader;
  pad: VirtualPinPad;
  ri: ReaderInterface;
  profile: CardProfile;
  /** The card's iReadCardBas output through the HSM path (full fields), for pCardInfo. */
  cardInfo(): Promise<string>;
}

export const NOW = '2026-11-26T02:00:00Z';

export function cardProfile(id: string, change?: (p: CardProfileInput) => void): CardProfile {
  const p = structuredClone(resolveCard(id).profile) as CardProfileInput;
  change?.(p);
  return parseProfile(p, id);
}

export function openLab(
  card: string | CardProfile,
  options: Omit<ReaderInterfaceOptions, 'reader' | 'pinPad' | 'till'> & {
    pinTimeoutMs?: number;
    noTill?: boolean;
    trace?: ApduTrace;
  } = {},
): Lab {
  const pos = openPosSystem({
    dbPath: ':memory:',
    clock: fixedClock(NOW),
    hostTimeoutMs: 200,
    ...(options.trace ? { trace: options.trace } : {}),
  });
  const profile = typeof card === 'string' ? cardProfile(card) : card;
  const reader = pos.reader as VirtualReader;
  reader.insert(pos.register(profile));
  const pad = new VirtualPinPad({ timeoutMs: options.pinTimeoutMs ?? 2_000 });
  const { pinTimeoutMs: _t, noTill, trace: _tr, ...rest } = options;
  void _t;
  void _tr;
  const ri = createReaderInterface({ ...rest, reader, pinPad: pad, ...(noTill ? {} : { till: { pos } }) });
  return {
    pos,
    reader,
    pad,
    ri,
    profile,
    async cardInfo() {
      const plain = await ri.call({ function: 'iReadCardBas', iType: 1 });
      if (plain.code !== 0) throw new Error(`iReadCardBas answered ${plain.code}: ${plain.detail ?? ''}`);
      // Gen 1/2, or a PSAM holding RKSSSE: the plain read is complete.
      if (plain.pOutInfo.split('|')[1] !== '') return plain.pOutInfo;
      const s1 = await ri.call({ function: 'iReadCardBas_HSM_Step1', iType: 1 });
      const a = ri.cardManagement.authenticate(s1.pOutInfo);
      if (!('pKey' in a)) throw new Error(`centre refused: ${a.message}`);
      return (await ri.call({ function: 'iReadCardBas_HSM_Step2', pKey: a.pKey })).pOutInfo;
    },
  };
}
