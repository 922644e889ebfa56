import { VirtualReader } from '../../../device/virtual-reader.ts';
import { resolveCard } from '../../../core/card/wallet.ts';
import type { CardProfile } from '../../../core/card/profile.ts';
import type { LinkState, PaymentMethod } from '../../../core/host/types.ts';
import { openPosSystem, type PosSystem } from '../../../core/pos/pos-system.ts';
import { runPayment, type TillResult } from '../../../core/pos/run-payment.ts';
import { fixedClock } from '../../../core/time.ts';
import { renderMessage } from '../../../state-machines/messages.ts';
import { FaultControls } from '../../../core/faults/controls.ts';

/** The fixtures' secrets: the card PIN (gen 3, gen 1) or the bank password (gen 2). */
export const FIXTURE_PINS: Record<string, string> = {
  'gen3-active': '258014',
  gen2: '246810',
  gen1: '802317',
};

export const NOW = '2026-11-26T02:00:00Z'; // 10:00 in Beijing

/** A till on an in-memory ledger whose reader and host carry fault controls (as the app's). */
export function faultyTill(options: { link?: LinkState; hostTimeoutMs?: number } = {}) {
  const clock = fixedClock(NOW);
  const inner = new VirtualReader();
  const faults = new FaultControls(inner);
  const pos: PosSystem = openPosSystem({
    dbPath: ':memory:',
    clock,
    reader: faults.reader,
    wrapHost: faults.wrapHost,
    hostTimeoutMs: options.hostTimeoutMs ?? 100,
    link: options.link ?? 'up',
  });
  pos.terminal.start();
  const profiles = new Map<string, CardProfile>();
  const profile = (cardId: string) => {
    let p = profiles.get(cardId);
    if (!p) {
      p = resolveCard(cardId).profile;
      profiles.set(cardId, p);
    }
    return p;
  };

  return {
    pos,
    inner,
    faults,
    clock,
    profile,
    /** Puts the card in the reader (corrupted if so planned) and waits for the till. */
    async insert(cardId: string): Promise<void> {
      const card = pos.register(profile(cardId));
      inner.insert(faults.cardForInsert(cardId, card));
      await pos.terminal.settled();
    },
    async remove(): Promise<void> {
      inner.remove();
      await pos.terminal.settled();
    },
    /** One scripted payment on the card in the reader. */
    pay(amountFen: number, cardId: string, method: PaymentMethod = 'medical'): Promise<TillResult> {
      return runPayment(pos.terminal, {
        amountFen,
        method,
        pin: FIXTURE_PINS[cardId] ?? profile(cardId).pin,
      });
    },
    /** What the till shows now, in Chinese and English. */
    screen(): { code: string; zh: string; en: string } {
      const m = pos.terminal.message();
      return { code: m.code, zh: renderMessage(m, 'zh'), en: renderMessage(m, 'en') };
    },
    /** Everything that says whether money moved for a card. */
    money(cardId: string) {
      const number = profile(cardId).card.number;
      pos.register(profile(cardId));
      const db = pos.store.db;
      return {
        balances: pos.store.balances(number),
        hostRecords:
          db
            .prepare<[string], number>('SELECT COUNT(*) FROM host_records WHERE card_id = ?')
            .pluck()
            .get(number) ?? 0,
        terminalPayments: pos.ledger.payments({ cardId: number }).length,
      };
    },
    close(): void {
      faults.dispose();
      pos.close();
    },
  };
}

export type FaultyTill = ReturnType<typeof faultyTill>;
