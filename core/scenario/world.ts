import { openPosSystem, type PosSystem } from '../pos/pos-system.ts';
import { BankCounter, DEFAULT_BRANCH } from '../bank/counter.ts';
import { changePin, onVirtualCard, unblockPin, type PinServiceResult } from '../bank/pin-services.ts';
import type { SocialSecurityCard } from '../card/social-security-card.ts';
import { fixedClock } from '../time.ts';
import type { LinkState } from '../host/types.ts';
import type { HostFault } from '../host/faulty-host.ts';
import { FaultControls } from '../faults/controls.ts';
import { ApduTrace, type TraceEntry } from '../../device/trace.ts';
import { VirtualReader } from '../../device/virtual-reader.ts';
import type { CardReader } from '../../device/reader.ts';
import { PcscReader } from '../../device/pcsc-reader.ts';
import { listPcscReaders, matchReader, waitForCard } from '../../device/pcsc.ts';
import { VpcdBridge, VPCD_BASE_PORT } from '../../device/vpcd-bridge.ts';
import type { CounterStep, Scenario, ScenarioCard } from './load.ts';

/**
 * One scenario's world: a till (openPosSystem on the scenario's own database, with the
 * scenario's clock, host link and settings), the bank counter on the same books, the fault
 * controls (reader, host, card corruption), one card object per card shared by the till and
 * the counter, and the APDU trace of both.
 */

/** What survives a crash: the world is reopened on the same database with it. */
export interface CarriedState {
  now: string;
  link: LinkState;
  hostFault: HostFault;
  /** The card in the reader (by card number): still in it when the till comes back. */
  inserted: string | null;
  /** The card the steps use by default. */
  current: string | null;
}

export interface CounterOutcome {
  action: CounterStep['action'];
  ok: boolean;
  rule: string | null;
  zh: string;
  en: string;
}

export interface WorldOptions {
  scenario: Scenario;
  dbPath: string;
  /** Runs against this PC/SC reader, whatever the scenario says. */
  readerOverride?: string;
  carried?: CarriedState;
  onTrace?: (e: TraceEntry) => void;
}

const PIN_RULES: Record<Exclude<PinServiceResult, { ok: true }>['code'], string> = {
  INITIAL_PIN_AS_NEW: 'R1.4',
  BAD_PIN: 'R1.4',
  WRONG_OLD_PIN: 'R1.3',
  PIN_BLOCKED: 'R1.3',
  CARD_ERROR: 'card',
};

export class ScenarioWorld {
  readonly clock: ReturnType<typeof fixedClock>;
  readonly trace: ApduTrace;
  readonly faults: FaultControls;
  readonly pos: PosSystem;
  readonly counter: BankCounter;
  /** The in-process reader, or null on a PC/SC reader. */
  readonly virtual: VirtualReader | null;
  readonly pcsc: { reader: PcscReader; name: string; slot: number | null } | null;
  private bridge: VpcdBridge | null = null;
  private readonly cards = new Map<string, SocialSecurityCard>();
  /** Every card the scenario names, by card number. */
  private readonly known = new Map<string, ScenarioCard>();
  private insertedNumber: string | null = null;
  current: ScenarioCard | null;
  private readonly listeners: (() => void)[] = [];

  /** The scenario this world runs. */
  get scenario(): Scenario {
    return this.o.scenario;
  }

  constructor(private readonly o: WorldOptions) {
    const s = o.scenario;
    for (const c of namedCards(s)) this.known.set(c.profile.card.number, c);
    const carried = o.carried;
    this.clock = fixedClock(carried?.now ?? s.start);
    this.trace = new ApduTrace(this.clock);
    if (o.onTrace) this.trace.subscribe(o.onTrace);
    const pcscName = o.readerOverride ?? (s.reader.kind === 'pcsc' ? s.reader.name : null);
    let inner: CardReader;
    if (pcscName !== null) {
      const name = matchReader(
        listPcscReaders().map((r) => r.name),
        pcscName,
      );
      const m = /^Virtual PCD 00 (\d\d)$/.exec(name);
      const reader = new PcscReader(name, { trace: this.trace });
      this.pcsc = { reader, name, slot: m ? Number(m[1]) : null };
      this.virtual = null;
      inner = reader;
    } else {
      this.pcsc = null;
      this.virtual = new VirtualReader({ name: 'SSCard Lab 虚拟读卡器', trace: this.trace });
      inner = this.virtual;
    }
    this.faults = new FaultControls(inner);
    this.pos = openPosSystem({
      dbPath: o.dbPath,
      clock: this.clock,
      reader: this.faults.reader,
      link: carried?.link ?? s.host.link,
      hostTimeoutMs: s.host.timeoutMs,
      medicalOrder: s.settings.medicalOrder,
      shortfall: s.settings.shortfall,
      wrapHost: this.faults.wrapHost,
    });
    if (carried?.hostFault) this.faults.setHostFault(carried.hostFault);
    this.counter = new BankCounter({ store: this.pos.store, clock: this.clock, branch: DEFAULT_BRANCH });
    this.current = (carried?.current ? this.known.get(carried.current) : null) ?? s.card;
    // Every card the scenario names is in the bank's books from the start (a carry-over on
    // 21 June moves its balances even if it is first inserted later).
    for (const c of [...this.known.values()]) this.card(c);
    // A host coming up runs a carry-over that fell due while it was down (R4.2).
    if (carried) this.pos.host.runCarryOver();
    this.pos.terminal.start();
  }

  /** Re-inserts the card that was in the reader when the till went down. */
  async resume(carried: CarriedState): Promise<void> {
    const card = carried.inserted ? this.known.get(carried.inserted) : undefined;
    if (!card) return;
    // On a PC/SC reader the dead process's card left with it: let pcscd see it go first.
    if (this.pcsc)
      await waitForCard(this.pcsc.name, false, this.o.scenario.stepTimeoutMs).catch(() => undefined);
    await this.insert(card);
  }

  get terminal() {
    return this.pos.terminal;
  }

  state(): CarriedState {
    return {
      now: this.clock().toISOString(),
      link: this.pos.host.link,
      hostFault: this.faults.host?.fault ?? null,
      inserted: this.insertedNumber,
      current: this.current?.profile.card.number ?? null,
    };
  }

  /** Called after every change of the carried state (a crash child writes it down). */
  onStateChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** The one card object of this card, registered with the till (and so the host) first. */
  card(c: ScenarioCard): SocialSecurityCard {
    const number = c.profile.card.number;
    this.known.set(number, c);
    let card = this.cards.get(number);
    if (!card) {
      card = this.pos.register(c.profile);
      this.cards.set(number, card);
    }
    return card;
  }

  get inserted(): string | null {
    return this.insertedNumber;
  }

  async insert(c: ScenarioCard): Promise<string[]> {
    const notes: string[] = [];
    const number = c.profile.card.number;
    const card = this.faults.cardForInsert(number, this.card(c));
    this.current = c;
    if (this.virtual) {
      // Written down first: a crash while the card is read leaves it in the reader.
      this.insertedNumber = number;
      this.changed();
      this.virtual.insert(card);
      return notes;
    }
    const p = this.pcsc!;
    if (this.bridge || this.insertedNumber) await this.remove();
    if (p.slot !== null) {
      // A vpcd reader: the card is served into it, as `sscard serve` does.
      this.bridge = new VpcdBridge({ card, slot: p.slot, port: VPCD_BASE_PORT + p.slot });
      this.bridge.start();
      await this.bridge.waitConnected(this.o.scenario.stepTimeoutMs);
      await waitForCard(p.name, true, this.o.scenario.stepTimeoutMs);
    } else {
      notes.push(`insert card ${c.ref} (${number}) into ${p.name}`);
      await waitForCard(p.name, true, this.o.scenario.stepTimeoutMs);
    }
    this.insertedNumber = number;
    this.changed();
    // pcscd reports the card a moment later: wait until the till has seen it.
    await this.pos.terminal
      .until((t) => !t.snapshot.matches('idle'), this.o.scenario.stepTimeoutMs)
      .catch(() => notes.push(`the till did not notice the card in ${p.name}`));
    return notes;
  }

  async remove(): Promise<void> {
    if (this.virtual) {
      this.virtual.remove();
    } else if (this.pcsc) {
      if (this.bridge) {
        await settleWithin(this.bridge.stop(), 3000);
        this.bridge = null;
      }
      await waitForCard(this.pcsc.name, false, this.o.scenario.stepTimeoutMs);
      await this.pos.terminal
        .until((t) => !t.snapshot.context.cardPresent, this.o.scenario.stepTimeoutMs)
        .catch(() => undefined);
    }
    this.insertedNumber = null;
    this.changed();
  }

  setLink(link: LinkState): void {
    this.pos.host.setLink(link);
    this.faults.setHostFault(null);
    this.changed();
  }

  setHostFault(fault: HostFault): void {
    this.faults.setHostFault(fault);
    this.changed();
  }

  /** Sets the clock; the medical centre's carry-over job runs when 21 June has come (R4.2). */
  setClock(iso: string): void {
    this.clock.set(iso);
    this.changed();
    this.pos.host.runCarryOver();
  }

  async counterAction(step: CounterStep, c: ScenarioCard): Promise<CounterOutcome> {
    const number = c.profile.card.number;
    const shared = this.card(c);
    // The holder takes the card to the counter: it leaves the till's reader first.
    if (this.insertedNumber === number) await this.remove();
    const pinService = (r: PinServiceResult): CounterOutcome =>
      r.ok
        ? { action: step.action, ok: true, rule: null, zh: r.zh, en: r.en }
        : { action: step.action, ok: false, rule: PIN_RULES[r.code], zh: r.zh, en: r.en };
    const onCounter = <T>(fn: (reader: CardReader) => Promise<T>) =>
      onVirtualCard(shared, fn, { trace: this.trace });
    switch (step.action) {
      case 'change-pin':
        return pinService(await onCounter((r) => changePin(r, step.old, step.new)));
      case 'unblock':
        return pinService(await onCounter((r) => unblockPin(r)));
      case 'report-loss':
        return lifecycle(step.action, this.counter.reportLoss(number, { crossRegion: step.crossRegion }));
      case 'release-loss':
        return lifecycle(step.action, this.counter.releaseLoss(number, { crossRegion: step.crossRegion }));
      case 'activate': {
        const r = await this.counter.activate(number, {
          newPin: step.newPin,
          financialPassword: step.password,
        });
        // Activation wrote the PIN through the counter's own card object: the next insertion
        // must see the chip as the books now keep it.
        this.cards.delete(number);
        return lifecycle(step.action, r);
      }
    }
  }

  async close(): Promise<void> {
    try {
      if (this.bridge) await settleWithin(this.bridge.stop(), 3000);
      this.bridge = null;
      this.pos.close();
      this.faults.dispose();
    } finally {
      if (this.pcsc) await settleWithin(this.pcsc.reader.close(), 3000);
    }
  }
}

function lifecycle(
  action: CounterStep['action'],
  r: { ok: true; zh: string; en: string } | { ok: false; rule: string; zh: string; en: string },
): CounterOutcome {
  return r.ok
    ? { action, ok: true, rule: null, zh: r.zh, en: r.en }
    : { action, ok: false, rule: r.rule, zh: r.zh, en: r.en };
}

/**
 * The cards a scenario's ledger holds from the start, one per card number, in the order they
 * are imported: where first named, as last named (two profiles with the same number are the
 * same card; the world imports the last one it was given).
 */
export function namedCards(s: Scenario): ScenarioCard[] {
  const known = new Map<string, ScenarioCard>();
  for (const c of scenarioCards(s)) known.set(c.profile.card.number, c);
  return [...known.values()];
}

/** Every card a scenario names (its own, and those of its steps). */
export function scenarioCards(s: Scenario): ScenarioCard[] {
  const out: ScenarioCard[] = s.card ? [s.card] : [];
  for (const step of s.steps) {
    if ((step.kind === 'insert' || step.kind === 'counter') && step.card) out.push(step.card);
    if (step.kind === 'expect' && step.balancesCard) out.push(step.balancesCard);
  }
  return out;
}

/**
 * Waits for a device operation, but not forever: closing a vpcd connection that pcscd already
 * dropped, or a PC/SC context, may never report back. Errors are ignored (we are tidying up).
 */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
