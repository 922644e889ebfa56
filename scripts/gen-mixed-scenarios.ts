/**
 * Writes fixtures/scenarios-mixed/mixed-0001.yaml … : a mixed set of generated scenarios for
 * the scenario runner's benchmark (bench/scenarios.bench.ts) and as a broad regression net.
 * Deterministic: a seeded PRNG picks the kinds, cards, amounts, PINs and clocks, and a model of
 * the rules (R1.1–R1.4, R2.2, R4.1–R4.2, R13; the host's split, refunds in reverse drawing
 * order with the cash part first, the 21 June carry-over) computes every expectation — result,
 * message code, each sub-account's balance, journal counts — so that a wrong engine fails them.
 *
 *   node --import tsx scripts/gen-mixed-scenarios.ts          # (re)write the folder
 *   node --import tsx scripts/gen-mixed-scenarios.ts --check  # exit 1 if the folder differs
 *
 * core/scenario/mixed.test.ts fails while the committed folder differs from what this writes.
 * The folder is a sibling of fixtures/scenarios, so `sscard run fixtures/scenarios` does not
 * run it; `sscard run fixtures/scenarios-mixed` does.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLED_CARDS_DIR } from '../core/card/wallet.ts';
import { loadProfile } from '../core/card/profile.ts';
import { fenToYuan } from '../core/scenario/money.ts';
import { seededRandom } from '../core/random.ts';

export const MIXED_DIR = fileURLToPath(new URL('../fixtures/scenarios-mixed/', import.meta.url));
export const MIXED_SEED = 20260302;
export const MIXED_COUNT = 1000;

// ---- the PRNG -----------------------------------------------------------------------------

/** The project's seeded PRNG (core/random.ts, mulberry32) with the picks the generator needs. */
class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

// ---- the cards, as bundled ------------------------------------------------------------------

type CardId =
  | 'gen1'
  | 'gen2'
  | 'gen3-active'
  | 'gen3-child-no-photo'
  | 'gen3-expired'
  | 'gen3-foreigner'
  | 'gen3-hong-kong'
  | 'gen3-initial-pin'
  | 'gen3-loss-reported'
  | 'gen3-pin-blocked';

interface Accounts {
  reserve: number | null;
  cur: number | null;
  prior: number | null;
}

interface CardFacts {
  id: CardId;
  generation: 1 | 2 | 3;
  pin: string;
  password: string | null;
  expiry: string;
  accounts: Accounts;
  pinTriesLeft: number;
}

function bundled(id: CardId): CardFacts {
  const p = loadProfile(join(BUNDLED_CARDS_DIR, `${id}.json`));
  return {
    id,
    generation: p.generation,
    pin: p.pin,
    password: p.transactionPassword ?? null,
    expiry: p.card.expiryDate,
    accounts: {
      reserve: p.accounts.reserveFen ?? null,
      cur: p.accounts.medicalCurrentFen ?? null,
      prior: p.accounts.medicalPriorFen ?? null,
    },
    pinTriesLeft: p.pinTriesLeft ?? p.pinRetryLimit,
  };
}

/** The gen 3 cards that pay (activated, not expired, not lost, PIN not blocked, not initial). */
const PAYING_GEN3: readonly CardId[] = [
  'gen3-active',
  'gen3-hong-kong',
  'gen3-foreigner',
  'gen3-child-no-photo',
];

// ---- a small YAML writer (prettier-stable: short flow mappings, single quotes) -------------

type Y = string | number | boolean | null | Y[] | { [k: string]: Y | undefined };

/** A text scalar: plain when it is a safe word, else single-quoted. */
function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v !== 'string') return String(v);
  if (/^[A-Za-z][A-Za-z0-9_.-]*$/.test(v) && !/^(true|false|null|yes|no|on|off)$/i.test(v)) return v;
  return `'${v.replace(/'/g, "''")}'`;
}

function flow(v: Y): string {
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const parts = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${k}: ${flow(x!)}`);
    return `{ ${parts.join(', ')} }`;
  }
  return scalar(v);
}

/** Columns a line takes (CJK characters take two), as prettier counts them for printWidth. */
function width(line: string): number {
  let w = 0;
  for (const ch of line) w += ch.charCodeAt(0) >= 0x2e80 ? 2 : 1;
  return w;
}

/** `key: value` lines at this indentation; what does not fit on a line goes block style. */
function block(key: string, v: Y, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const one = `${pad}${key}: ${flow(v)}`;
  if (width(one) <= 100 || v === null || typeof v !== 'object') return [one];
  if (Array.isArray(v)) return [`${pad}${key}:`, ...v.map((x) => `${pad}  - ${flow(x)}`)];
  const out = [`${pad}${key}:`];
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out.push(...block(k, x, indent + 2));
  return out;
}

// ---- the model ------------------------------------------------------------------------------

type Order = 'current-first' | 'prior-first';
type Shortfall = 'self-pay' | 'decline';

interface Split {
  cur: number;
  prior: number;
  reserve: number;
  self: number;
}

/** R4.1: how the host covers a medical payment from 95000 and 95001 (splitMedical). */
function splitMedical(amount: number, a: Accounts, order: Order, shortfall: Shortfall): Split | null {
  let rest = amount;
  const take = (available: number | null) => {
    const t = Math.min(Math.max(available ?? 0, 0), rest);
    rest -= t;
    return t;
  };
  let cur: number;
  let prior: number;
  if (order === 'current-first') {
    cur = take(a.cur);
    prior = take(a.prior);
  } else {
    prior = take(a.prior);
    cur = take(a.cur);
  }
  if (rest > 0 && shortfall === 'decline') return null;
  return { cur, prior, reserve: 0, self: rest };
}

const y = (fen: number) => fenToYuan(fen);

interface PaymentRecord {
  card: CardId;
  amount: number;
  split: Split;
  refunded: number;
}

/** One scenario being written: its steps, and the model of every card and of the books. */
class Story {
  readonly steps: string[] = [];
  readonly state = new Map<CardId, CardFacts>();
  current: CardId;
  order: Order = 'current-first';
  shortfall: Shortfall = 'self-pay';
  /** The host link at the start (the header's `host`). */
  private startLink: 'up' | 'down' | 'slow' = 'up';
  /** The host link now. */
  private linkNow: 'up' | 'down' | 'slow' = 'up';
  timeoutMs: number | null = null;
  clock: string;
  readonly rules = new Set<string>();
  readonly journal = { payments: 0, refunds: 0, reversals: 0, queue: 0 };
  readonly payments: PaymentRecord[] = [];
  /** Offline payments not yet at the host, applied there by the next sync. */
  readonly queued: PaymentRecord[] = [];
  /** The terminal's balance list (offline gen 3 payments split against it). */
  readonly cache = new Map<CardId, Accounts>();
  /** Sales and refunds of the day, for the settlement. */
  day = { payments: 0, refunds: 0, totalFen: 0, pending: 0 };

  constructor(
    readonly card: CardId,
    clock: string,
  ) {
    this.current = card;
    this.clock = clock;
    this.use(card);
  }

  /** The model of a card the scenario names: in the books from the start. */
  use(id: CardId): CardFacts {
    let c = this.state.get(id);
    if (!c) {
      c = bundled(id);
      this.state.set(id, c);
      this.cache.set(id, { ...c.accounts });
    }
    return c;
  }

  get facts(): CardFacts {
    return this.use(this.current);
  }

  get link(): 'up' | 'down' | 'slow' {
    return this.startLink;
  }

  /** The header's host link. */
  set link(l: 'up' | 'down' | 'slow') {
    this.startLink = l;
    this.linkNow = l;
  }

  /** A `host` step. */
  host(to: 'up' | 'down'): void {
    this.raw(`host: ${to}`);
    this.linkNow = to;
  }

  raw(line: string): void {
    this.steps.push(`  - ${line}`);
  }

  insert(id?: CardId): void {
    if (id && id !== this.current) {
      this.use(id);
      this.current = id;
      this.raw(`insert: ${id}`);
    } else this.raw('insert');
    // Reading a gen 2 or 3 card asks the host for its balances when the host answers.
    if (this.linkNow === 'up' && this.facts.generation > 1) this.refreshCache(this.current);
  }

  remove(): void {
    this.raw('remove');
  }

  amount(fen: number, method: 'medical' | 'reserve' = 'medical'): void {
    this.raw(method === 'medical' ? `amount: '${y(fen)}'` : `amount: { yuan: '${y(fen)}', method: reserve }`);
  }

  pin(v: string): void {
    this.raw(`pin: '${v}'`);
  }

  password(v: string): void {
    this.raw(`password: '${v}'`);
  }

  expect(e: Record<string, Y | undefined>): void {
    const lines: string[] = [];
    for (const [k, v] of Object.entries(e)) if (v !== undefined) lines.push(...block(k, v, 6));
    this.steps.push('  - expect:', ...lines);
  }

  /** The card's balances in the host's books, as an expectation. */
  balances(id: CardId = this.current): Record<string, Y> {
    const a = this.use(id).accounts;
    const v = (x: number | null) => (x === null ? null : y(x));
    return { reserve: v(a.reserve), medicalCurrent: v(a.cur), medicalPrior: v(a.prior) };
  }

  balancesOf(id: CardId): Record<string, Y> {
    return { card: id, ...this.balances(id) };
  }

  /** The receipt lines of a split: each part with its amount. */
  static splitTexts(s: Split): string[] {
    const out: string[] = [];
    if (s.cur) out.push('医保当年(95000)', `¥${y(s.cur)}`);
    if (s.prior) out.push('医保上年(95001)', `¥${y(s.prior)}`);
    if (s.reserve) out.push('备用金账户', `¥${y(s.reserve)}`);
    if (s.self) out.push('个人自付(现金)', `¥${y(s.self)}`);
    return out;
  }

  private book(r: PaymentRecord, offline: boolean): void {
    this.payments.push(r);
    this.journal.payments++;
    this.day.payments++;
    this.day.totalFen += r.amount;
    if (offline) {
      this.journal.queue++;
      this.day.pending++;
      this.queued.push(r);
    }
  }

  private applyAtHost(r: PaymentRecord): void {
    const a = this.use(r.card).accounts;
    if (r.split.cur) a.cur = (a.cur ?? 0) - r.split.cur;
    if (r.split.prior) a.prior = (a.prior ?? 0) - r.split.prior;
    if (r.split.reserve) a.reserve = (a.reserve ?? 0) - r.split.reserve;
  }

  /** After an online answer (a card read, a payment) the terminal's balance list is the host's. */
  private refreshCache(id: CardId): void {
    this.cache.set(id, { ...this.use(id).accounts });
  }

  /**
   * A medical payment that the host approves online (gen 3 with the card PIN, gen 2 with the
   * password): the steps and their expectation. Returns the split, or null when declined.
   */
  payMedicalOnline(
    fen: number,
    secret: string,
    opts: { tries?: string[]; afterAmount?: Record<string, Y> | undefined } = {},
  ): Split | null {
    const c = this.facts;
    this.amount(fen);
    if (opts.afterAmount) this.expect(opts.afterAmount);
    const wrong = opts.tries ?? [];
    let left = c.pinTriesLeft;
    for (const w of wrong) {
      this.pin(w);
      left--;
      this.expect({
        statusWords: { last: `63C${left}` },
        message: { code: 'WRONG_PIN', contains: `还可尝试 ${left} 次` },
        state: 'session.gen3/awaitingPinAgain',
        waitingFor: 'pin',
        pinTriesLeft: left,
      });
    }
    if (c.generation === 3) this.pin(secret);
    else this.password(secret);
    const split = splitMedical(fen, c.accounts, this.order, this.shortfall);
    if (!split) {
      this.expect({
        result: 'declined',
        message: { code: 'INSUFFICIENT_FUNDS', contains: '余额不足' },
        balances: this.balances(),
        journal: { payments: this.journal.payments },
      });
      return null;
    }
    const r: PaymentRecord = { card: c.id, amount: fen, split, refunded: 0 };
    this.applyAtHost(r);
    this.refreshCache(c.id);
    this.book(r, false);
    c.pinTriesLeft = 3;
    const contains = [c.generation === 3 ? '三代社保卡' : '二代社保卡', '联机', ...Story.splitTexts(split)];
    this.expect({
      result: 'paid',
      message: 'APPROVED',
      statusWords: c.generation === 3 ? { last: '9000', excludes: ['63Cx'] } : { excludes: ['63Cx', '6983'] },
      receipt: { mode: 'online', amount: y(fen), contains },
      balances: this.balances(),
      pinTriesLeft: c.generation === 3 ? 3 : undefined,
      journal: { payments: this.journal.payments, balanced: true },
    });
    return split;
  }

  /** A gen 3 medical payment taken offline (host down or slow): split against the balance list. */
  payOffline(fen: number): void {
    const c = this.facts;
    this.amount(fen);
    this.pin(c.pin);
    const cached = this.cache.get(c.id)!;
    const split = splitMedical(fen, cached, this.order, 'self-pay');
    if (!split || split.self > 0) throw new Error('offline payments are generated within the balance list');
    cached.cur = cached.cur === null ? null : cached.cur - split.cur;
    cached.prior = cached.prior === null ? null : cached.prior - split.prior;
    const r: PaymentRecord = { card: c.id, amount: fen, split, refunded: 0 };
    this.book(r, true);
    this.expect({
      result: 'paid',
      message: { code: 'APPROVED_OFFLINE', contains: '脱机' },
      receipt: { mode: 'offline', amount: y(fen), contains: ['脱机（待上送）', ...Story.splitTexts(split)] },
      // The host has not heard of it yet.
      balances: this.balances(),
      journal: { payments: this.journal.payments, forwardQueue: this.journal.queue, balanced: true },
    });
  }

  /** A reserve (financial account) payment with the bank's transaction password. */
  payReserve(fen: number): void {
    const c = this.facts;
    this.amount(fen, 'reserve');
    this.password(c.password!);
    const a = c.accounts;
    if ((a.reserve ?? 0) < fen) {
      this.expect({
        result: 'declined',
        message: { code: 'INSUFFICIENT_FUNDS', contains: '余额不足' },
        balances: this.balances(),
        journal: { payments: this.journal.payments },
      });
      return;
    }
    const r: PaymentRecord = {
      card: c.id,
      amount: fen,
      split: { cur: 0, prior: 0, reserve: fen, self: 0 },
      refunded: 0,
    };
    this.applyAtHost(r);
    this.refreshCache(c.id);
    this.book(r, false);
    this.expect({
      result: 'paid',
      message: 'APPROVED',
      receipt: { mode: 'online', amount: y(fen), contains: ['金融账户', '备用金账户', `¥${y(fen)}`] },
      balances: this.balances(),
      journal: { payments: this.journal.payments, balanced: true },
    });
  }

  /** Sync: the queued offline payments reach the host. */
  sync(): void {
    this.raw('sync');
    const sent = this.queued.length;
    for (const r of this.queued.splice(0)) this.applyAtHost(r);
    this.journal.queue = 0;
    this.day.pending = 0;
    this.expect({
      sync: { sent, failed: 0, pending: 0 },
      balances: this.balances(),
      journal: { payments: this.journal.payments, forwardQueue: 0, balanced: true, reconciled: true },
    });
  }

  /** A partial refund of the last payment: the cash part first, then the reverse of the drawing order. */
  refundLast(fen: number): void {
    const p = this.payments.at(-1)!;
    this.raw(`refund: '${y(fen)}'`);
    let rest = fen;
    const back = (have: number) => {
      const t = Math.min(have, rest);
      rest -= t;
      return t;
    };
    const refunded = p.refunded;
    // What is left of each part after earlier refunds (none here: one refund per payment).
    if (refunded !== 0) throw new Error('one refund per payment');
    back(p.split.self);
    const reserve = back(p.split.reserve);
    const covered =
      this.order === 'current-first'
        ? (() => {
            const prior = back(p.split.prior);
            return { prior, cur: back(p.split.cur) };
          })()
        : (() => {
            const cur = back(p.split.cur);
            return { prior: back(p.split.prior), cur };
          })();
    const a = this.use(p.card).accounts;
    if (reserve) a.reserve = (a.reserve ?? 0) + reserve;
    if (covered.cur) a.cur = (a.cur ?? 0) + covered.cur;
    if (covered.prior) a.prior = (a.prior ?? 0) + covered.prior;
    // The terminal's balance list hears of it at the card's next online read.
    p.refunded = fen;
    this.journal.refunds++;
    this.day.refunds++;
    this.day.totalFen -= fen;
    this.expect({
      journal: {
        payments: this.journal.payments,
        refunds: this.journal.refunds,
        balanced: true,
        reconciled: true,
      },
      balances: this.balancesOf(p.card),
    });
  }

  /** 21 June (R4.2): every card's 95000 moves into 95001, which is opened if missing. */
  carryOver(): void {
    for (const c of this.state.values()) {
      const a = c.accounts;
      if (a.cur === null) continue;
      a.prior = (a.prior ?? 0) + a.cur;
      a.cur = 0;
    }
    for (const [id, cached] of this.cache) {
      if (cached.cur === null) continue;
      // The balance list carries over too, as the host will have done.
      if (cached.cur > 0) this.cache.set(id, { ...cached, prior: (cached.prior ?? 0) + cached.cur, cur: 0 });
    }
  }
}

// ---- the kinds of scenario ------------------------------------------------------------------

interface Made {
  title: string;
  description: string;
  story: Story;
}

type Maker = (r: Rng, clock: string) => Made;

/** Wrong PINs a holder types: a slip of the right one, or a habit. Never the initial 123456. */
function wrongPin(r: Rng, right: string): string {
  for (;;) {
    const d = [...right];
    const k = r.int(0, 4);
    let w: string;
    if (k === 0) {
      const i = r.int(0, 4);
      [d[i], d[i + 1]] = [d[i + 1]!, d[i]!];
      w = d.join('');
    } else if (k === 1) {
      const i = r.int(0, 5);
      d[i] = String((Number(d[i]) + r.pick([1, 9])) % 10);
      w = d.join('');
    } else w = r.pick(['000000', '111111', '888888', '666666', '654321', '520131', '147258', '112233']);
    if (w !== right && w !== '123456') return w;
  }
}

function newPin(r: Rng, old: string): string {
  for (;;) {
    const p = String(r.int(0, 999_999)).padStart(6, '0');
    if (p !== old && p !== '123456') return p;
  }
}

/** An amount in fen in [lo, hi], at least 0.01. */
const fenIn = (r: Rng, lo: number, hi: number) => r.int(Math.max(1, lo), Math.max(1, hi));

/** A payment amount a pharmacy till sees: mostly small, whole yuan or with fen. */
function smallAmount(r: Rng, max: number): number {
  const cap = Math.max(1, Math.min(max, 30_000));
  const fen = r.chance(0.3) ? r.int(1, Math.max(1, Math.floor(cap / 100))) * 100 : fenIn(r, 1, cap);
  return Math.min(fen, max);
}

const KINDS: Record<string, { weight: number; make: Maker }> = {
  /** Gen 3 medical payments within 95000 (R1.3, R4.1). */
  'gen3-pay': {
    weight: 220,
    make: (r, clock) => {
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R1.3').add('R4.1');
      const n = r.int(1, 3);
      for (let i = 0; i < n; i++) {
        const cur = s.facts.accounts.cur ?? 0;
        if (cur < n) break;
        s.insert();
        s.payMedicalOnline(smallAmount(r, Math.floor(cur / (n - i))), s.facts.pin);
        s.remove();
      }
      s.expect({
        state: 'idle',
        waitingFor: 'card',
        journal: { payments: s.journal.payments, reconciled: true },
      });
      return {
        title: `三代卡医保支付 ${n} 笔 / gen 3 medical payments (${card})`,
        description: `${n} payment(s) from 95000 with the card PIN`,
        story: s,
      };
    },
  },
  /** Larger than 95000: 95001 pays the rest (R4.1), in either order setting. */
  'gen3-split': {
    weight: 70,
    make: (r, clock) => {
      const s = new Story('gen3-active', clock);
      s.rules.add('R4.1').add('R1.3');
      if (r.chance(0.3)) {
        s.order = 'prior-first';
        s.rules.add('R4.2');
      }
      const a = s.facts.accounts;
      if (r.chance(0.4)) {
        s.insert();
        s.payMedicalOnline(smallAmount(r, 20_000), s.facts.pin);
        s.remove();
      }
      const first = s.order === 'current-first' ? a.cur! : a.prior!;
      const both = a.cur! + a.prior!;
      s.insert();
      s.payMedicalOnline(fenIn(r, first + 1, both), s.facts.pin);
      s.expect({ journal: { balanced: true, reconciled: true } });
      return {
        title: `医保分账：95000 与 95001 共同支付 / 95000 and 95001 share a payment (${s.order})`,
        description: `a payment larger than the first sub-account drawn (${s.order}) takes the rest from the other`,
        story: s,
      };
    },
  },
  /** Larger than both medical accounts: the rest is self-pay cash, or the payment is declined (R4.1). */
  'gen3-shortfall': {
    weight: 70,
    make: (r, clock) => {
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R4.1');
      s.shortfall = r.chance(0.5) ? 'self-pay' : 'decline';
      const a = s.facts.accounts;
      const both = (a.cur ?? 0) + (a.prior ?? 0);
      s.insert();
      const split = s.payMedicalOnline(fenIn(r, both + 1, both + 50_000), s.facts.pin);
      if (!split) {
        // Declined: nothing taken; a smaller payment still goes through.
        s.remove();
        s.insert();
        s.payMedicalOnline(smallAmount(r, a.cur ?? 0), s.facts.pin);
      }
      return {
        title: `医保余额不足：${s.shortfall === 'self-pay' ? '差额现金自付' : '拒绝交易'} / shortfall ${s.shortfall} (${card})`,
        description: `a payment larger than 95000 and 95001 together, with shortfall ${s.shortfall}`,
        story: s,
      };
    },
  },
  /** Wrong PIN once or twice, then the right one: the card counts down and resets (R1.3). */
  'wrong-pin': {
    weight: 40,
    make: (r, clock) => {
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R1.3');
      const n = r.int(1, 2);
      const tries = Array.from({ length: n }, () => wrongPin(r, s.facts.pin));
      s.insert();
      s.payMedicalOnline(smallAmount(r, s.facts.accounts.cur ?? 0), s.facts.pin, { tries });
      return {
        title: `密码错误 ${n} 次后输入正确密码 / ${n} wrong PIN(s), then the right one (${card})`,
        description: 'the card counts the wrong PINs (63Cx) and resets the counter on the right one',
        story: s,
      };
    },
  },
  /** Three wrong PINs block the card PIN; the right one is refused too (6983); or the bundled blocked card. */
  'pin-blocked': {
    weight: 25,
    make: (r, clock) => {
      if (r.chance(0.5)) {
        const s = new Story('gen3-pin-blocked', clock);
        s.rules.add('R1.3');
        const fen = smallAmount(r, 20_000);
        s.insert();
        s.amount(fen);
        s.pin(s.facts.pin);
        s.expect({
          result: 'declined',
          message: { code: 'PIN_BLOCKED', contains: '银行网点解锁' },
          statusWords: { last: '6983' },
          pinTriesLeft: 0,
          balances: s.balances(),
          journal: { payments: 0 },
        });
        s.raw('counter: unblock');
        s.facts.pinTriesLeft = 3;
        s.expect({ counter: { ok: true, contains: '密码不变' }, pinTriesLeft: 3, state: 'idle' });
        s.insert();
        s.payMedicalOnline(fen, s.facts.pin);
        return {
          title: '锁定的卡到柜台解锁后支付 / a blocked PIN unblocked at the counter, then paid',
          description:
            'the bundled card with its PIN blocked is refused (6983), unblocked at the counter, then pays',
          story: s,
        };
      }
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R1.3');
      const fen = smallAmount(r, s.facts.accounts.cur ?? 0);
      s.insert();
      s.amount(fen);
      s.pin(wrongPin(r, s.facts.pin));
      s.pin(wrongPin(r, s.facts.pin));
      s.expect({ pinTriesLeft: 1, statusWords: ['63C2', '63C1'], waitingFor: 'pin' });
      s.pin(wrongPin(r, s.facts.pin));
      s.expect({
        result: 'declined',
        statusWords: { last: '63C0' },
        message: { code: 'PIN_BLOCKED', contains: '银行网点解锁' },
        pinTriesLeft: 0,
      });
      s.remove();
      s.insert();
      s.amount(fen);
      s.pin(s.facts.pin);
      s.expect({
        result: 'declined',
        statusWords: { last: '6983' },
        message: 'PIN_BLOCKED',
        balances: s.balances(),
        journal: { payments: 0 },
      });
      return {
        title: `三次密码错误锁卡 / three wrong PINs block the card (${card})`,
        description: 'after the third wrong PIN (63C0) even the right PIN is refused (6983)',
        story: s,
      };
    },
  },
  /** Gen 2: the transaction password, verified by the bank online (R1.2). */
  'gen2-password': {
    weight: 80,
    make: (r, clock) => {
      const s = new Story('gen2', clock);
      s.rules.add('R1.2').add('R4.1');
      const a = s.facts.accounts;
      const n = r.int(1, 2);
      for (let i = 0; i < n; i++) {
        s.insert();
        const big = r.chance(0.3);
        const fen = big
          ? fenIn(r, (a.cur ?? 0) + 1, (a.cur ?? 0) + (a.prior ?? 0))
          : smallAmount(r, a.cur ?? 0);
        s.payMedicalOnline(fen, s.facts.password!, {
          afterAmount:
            i === 0
              ? { waitingFor: 'password', sessionState: 'awaitingPassword', message: 'ENTER_PASSWORD' }
              : undefined,
        });
        s.remove();
        if (big) break;
      }
      s.expect({ journal: { payments: s.journal.payments, balanced: true, reconciled: true } });
      return {
        title: '二代卡交易密码医保支付 / gen 2 pays with the transaction password',
        description: 'the bank verifies the password online; 95000 first, 95001 for the rest',
        story: s,
      };
    },
  },
  /** Reserve (financial account) payments need the bank's transaction password (R1.2, R1.3). */
  reserve: {
    weight: 60,
    make: (r, clock) => {
      const card = r.pick<CardId>([
        'gen2',
        'gen3-active',
        'gen3-hong-kong',
        'gen3-foreigner',
        'gen3-child-no-photo',
      ]);
      const s = new Story(card, clock);
      s.rules.add(card === 'gen2' ? 'R1.2' : 'R1.3');
      const reserve = s.facts.accounts.reserve ?? 0;
      s.insert();
      const fen =
        reserve === 0 || r.chance(0.1) ? fenIn(r, reserve + 1, reserve + 20_000) : smallAmount(r, reserve);
      s.payReserve(fen);
      s.remove();
      s.expect({ journal: { payments: s.journal.payments, balanced: true, reconciled: true } });
      return {
        title: `金融账户支付需交易密码 / a reserve payment with the transaction password (${card})`,
        description: 'the financial account pays with the bank password; the medical accounts are untouched',
        story: s,
      };
    },
  },
  /** Gen 1 cannot pay: no medical payment, no financial account (R1.1). */
  gen1: {
    weight: 40,
    make: (r, clock) => {
      const s = new Story('gen1', clock);
      s.rules.add('R1.1');
      const reserve = r.chance(0.4);
      s.insert();
      s.expect({ waitingFor: 'amount', state: 'session.gen1/holder' });
      s.amount(smallAmount(r, 10_000), reserve ? 'reserve' : 'medical');
      s.expect({
        result: 'declined',
        message: reserve
          ? { code: 'GEN1_NO_FINANCIAL', contains: '没有金融账户' }
          : { code: 'GEN1_NO_MEDICAL', contains: '申领三代社保卡' },
        waitingFor: 'removal',
        receipt: { present: false },
        balances: s.balances(),
      });
      s.remove();
      s.expect({ journal: { payments: 0, balanced: true, forwardQueue: 0 } });
      return {
        title: `一代卡不能支付 / gen 1 cannot pay (${reserve ? 'reserve' : 'medical'})`,
        description: 'a gen 1 card is declined at once, with a pointer to a gen 3 card',
        story: s,
      };
    },
  },
  /** The initial PIN 123456 is refused before the card sees it (R1.4). */
  'initial-pin': {
    weight: 35,
    make: (r, clock) => {
      const s = new Story('gen3-initial-pin', clock);
      s.rules.add('R1.4');
      s.insert();
      s.amount(smallAmount(r, 20_000));
      s.pin('123456');
      s.expect({
        result: 'declined',
        message: { code: 'INITIAL_PIN_REFUSED', contains: ['初始密码', '银行网点'] },
        statusWords: { excludes: ['63Cx'] },
        pinTriesLeft: 3,
        receipt: { present: false },
        balances: s.balances(),
        journal: { payments: 0 },
      });
      return {
        title: '初始密码在 POS 被拒 / the initial PIN is refused at the POS',
        description: 'the till refuses 123456 before the card sees it: no try lost',
        story: s,
      };
    },
  },
  /** Expired and lost cards are refused at insertion (R2.2, R13). */
  refused: {
    weight: 45,
    make: (r, clock) => {
      const k = r.int(0, 2);
      if (k === 0) {
        const s = new Story('gen3-expired', clock);
        s.rules.add('R2.2');
        s.insert();
        s.expect({
          result: 'refused',
          message: { code: 'CARD_EXPIRED', contains: [s.facts.expiry, '换领三代卡'] },
          terminalState: 'refused',
          waitingFor: 'removal',
          balances: s.balances(),
          journal: { payments: 0 },
        });
        return {
          title: '过期卡被拒绝 / an expired card is refused',
          description: 'R2.2: renew as a gen 3 card',
          story: s,
        };
      }
      if (k === 1) {
        const s = new Story('gen3-loss-reported', clock);
        s.rules.add('R13');
        s.insert();
        s.expect({
          result: 'refused',
          message: { code: 'CARD_LOSS_REPORTED', contains: '已挂失' },
          sessionState: null,
          cardStatus: 'loss-reported',
        });
        s.amount(smallAmount(r, 10_000));
        s.expect({ result: 'refused', journal: { payments: 0 }, balances: s.balances() });
        return { title: '已挂失的卡被拒绝 / a card reported lost is refused', description: 'R13', story: s };
      }
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R13');
      s.raw('counter: report-loss');
      s.expect({ counter: { ok: true }, cardStatus: 'loss-reported' });
      s.insert();
      s.expect({
        result: 'refused',
        message: { code: 'CARD_LOSS_REPORTED', contains: '已挂失' },
        waitingFor: 'removal',
      });
      s.remove();
      s.raw('counter: release-loss');
      s.expect({ counter: { ok: true }, cardStatus: 'active' });
      s.insert();
      s.payMedicalOnline(smallAmount(r, s.facts.accounts.cur ?? 0), s.facts.pin);
      return {
        title: `挂失后被拒绝，解挂后支付 / reported lost: refused until released (${card})`,
        description: 'R13: a loss report at the counter refuses the card; released, it pays',
        story: s,
      };
    },
  },
  /** Host down: gen 2 is declined; gen 3 pays offline, forwarded by sync (R1.2, R1.3). */
  'host-down': {
    weight: 70,
    make: (r, clock) => {
      const withGen2 = r.chance(0.4);
      const card = withGen2 ? 'gen2' : r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.link = 'down';
      s.rules.add('R1.3');
      if (withGen2) {
        s.rules.add('R1.2');
        s.insert();
        s.amount(smallAmount(r, 20_000));
        s.password(s.facts.password!);
        s.expect({
          result: 'declined',
          message: { code: 'HOST_UNREACHABLE_GEN2', contains: ['链路中断', '联机由银行验证'] },
          balances: s.balances(),
          journal: { payments: 0 },
        });
        s.remove();
      }
      const gen3 = withGen2 ? r.pick(PAYING_GEN3) : (card as CardId);
      const n = r.int(1, 2);
      for (let i = 0; i < n; i++) {
        s.insert(gen3);
        const c = s.cache.get(gen3)!;
        s.payOffline(smallAmount(r, Math.floor(((c.cur ?? 0) + (c.prior ?? 0)) / 2)));
        s.remove();
      }
      s.host('up');
      s.sync();
      return {
        title: `主机断开：${withGen2 ? '二代卡拒绝，' : ''}三代卡脱机支付后上送 / host down: ${withGen2 ? 'gen 2 declined, ' : ''}gen 3 offline, then sync`,
        description: 'the gen 3 card PIN is checked by the card, so it pays offline; sync forwards it',
        story: s,
      };
    },
  },
  /** A slow host times out: gen 2 declined, gen 3 offline (R1.2, R1.3). */
  'slow-host': {
    weight: 25,
    make: (r, clock) => {
      const s = new Story('gen2', clock);
      s.link = 'slow';
      s.timeoutMs = 10;
      s.rules.add('R1.2').add('R1.3');
      s.insert();
      s.amount(smallAmount(r, 20_000));
      s.password(s.facts.password!);
      s.expect({
        result: 'declined',
        message: { code: 'HOST_UNREACHABLE_GEN2', contains: '超时' },
        balances: s.balances(),
      });
      s.remove();
      const gen3 = r.pick(PAYING_GEN3);
      s.insert(gen3);
      s.payOffline(smallAmount(r, s.cache.get(gen3)!.cur ?? 0));
      s.remove();
      s.host('up');
      s.sync();
      return {
        title: '主机响应超时 / a slow host times out',
        description: `the host answers too late (${s.timeoutMs} ms timeout): gen 2 declined, gen 3 offline then forwarded`,
        story: s,
      };
    },
  },
  /** The card pulled as the PIN is checked: nothing charged, no try lost. */
  'pulled-at-pin': {
    weight: 45,
    make: (r, clock) => {
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R1.3');
      const fen = smallAmount(r, s.facts.accounts.cur ?? 0);
      s.insert();
      s.raw('fault: { removeCardAtApdu: 4 }');
      s.amount(fen);
      s.pin(s.facts.pin);
      s.expect({
        result: 'pulled',
        state: 'idle',
        balances: s.balances(),
        pinTriesLeft: 3,
        journal: { payments: 0, reversals: 0 },
      });
      s.raw('fault: none');
      s.insert();
      s.payMedicalOnline(fen, s.facts.pin);
      return {
        title: `校验密码时拔卡 / the card pulled at the PIN check (${card})`,
        description:
          'the VERIFY never reaches the card: nothing charged, no PIN try lost; the next insertion pays',
        story: s,
      };
    },
  },
  /** A corrupted record: the card cannot be read; whole again, it pays. */
  corrupted: {
    weight: 40,
    make: (r, clock) => {
      const card = r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R1.3');
      const file = r.pick(['EF05', 'EF06']);
      const mode = r.pick(['flip', 'truncate', 'garbage']);
      s.raw(`fault: { corruptRecord: { file: ${file}, record: 1, mode: ${mode} } }`);
      s.insert();
      s.expect({
        result: 'refused',
        message: { code: 'READ_FAILED', contains: '读卡失败' },
        statusWords: { last: '9000' },
      });
      s.remove();
      s.raw('fault: none');
      s.insert();
      s.payMedicalOnline(smallAmount(r, s.facts.accounts.cur ?? 0), s.facts.pin);
      return {
        title: `卡片记录损坏 ${file} (${mode}) / a corrupted ${file} record (${card})`,
        description: 'the damaged record fails the card read; the card whole again pays',
        story: s,
      };
    },
  },
  /** A day: payments, maybe a refund and an offline payment, settlement (日结) and reconciliation (对账). */
  'settle-reconcile': {
    weight: 60,
    make: (r, clock) => {
      const s = new Story('gen3-active', clock);
      s.rules.add('R1.3').add('R4.1');
      const n = r.int(2, 3);
      for (let i = 0; i < n; i++) {
        const card = r.pick<CardId>(['gen3-active', 'gen2', 'gen3-hong-kong']);
        s.insert(card);
        const cur = s.facts.accounts.cur ?? 0;
        s.payMedicalOnline(
          smallAmount(r, Math.floor(cur / 3)),
          card === 'gen2' ? s.facts.password! : s.facts.pin,
        );
        s.remove();
      }
      const refund = r.chance(0.5);
      if (refund) {
        // A payment drawing both medical accounts (and cash when they fall short), refunded in
        // part: the cash comes back first, then 95001, then 95000.
        s.insert('gen3-active');
        const a = s.facts.accounts;
        const both = (a.cur ?? 0) + (a.prior ?? 0);
        const fen = r.chance(0.5) ? fenIn(r, (a.cur ?? 0) + 1, both) : fenIn(r, both + 1, both + 20_000);
        s.payMedicalOnline(fen, s.facts.pin);
        s.remove();
        s.refundLast(fenIn(r, 1, fen));
      }
      const offline = r.chance(0.4);
      if (offline) {
        s.host('down');
        const total = (id: CardId) => {
          const c = s.cache.get(id) ?? s.use(id).accounts;
          return (c.cur ?? 0) + (c.prior ?? 0);
        };
        const card = (['gen3-active', 'gen3-hong-kong', 'gen3-foreigner'] as const).find(
          (id) => total(id) >= 2_000,
        )!;
        s.insert(card);
        s.payOffline(smallAmount(r, Math.min(5_000, total(card))));
        s.remove();
      }
      s.raw('settle');
      s.expect({
        settlement: {
          payments: s.day.payments,
          refunds: s.day.refunds,
          reversals: 0,
          total: y(s.day.totalFen),
          pendingForward: s.day.pending,
        },
        journal: { forwardQueue: s.journal.queue, balanced: true },
      });
      if (offline) {
        s.host('up');
        s.raw('reconcile');
        s.expect({ reconciliation: { agree: false, mismatches: 1 } });
        s.sync();
      }
      s.raw('reconcile');
      s.expect({
        reconciliation: { agree: true, mismatches: 0 },
        journal: {
          payments: s.journal.payments,
          refunds: s.journal.refunds,
          balanced: true,
          forwardQueue: 0,
        },
        balances: s.balancesOf('gen3-active'),
      });
      return {
        title: `日结与对账 / settlement and reconciliation (${s.day.payments} payments${refund ? ', a refund' : ''}${offline ? ', one offline' : ''})`,
        description:
          'the day closed with its totals; the terminal and the host agree (after sync when one was offline)',
        story: s,
      };
    },
  },
  /** PIN changed at the counter, then paid with the new one (R1.3, R1.4). */
  'counter-pin-change': {
    weight: 25,
    make: (r, clock) => {
      const initial = r.chance(0.5);
      const card: CardId = initial ? 'gen3-initial-pin' : r.pick(PAYING_GEN3);
      const s = new Story(card, clock);
      s.rules.add('R1.3');
      const fen = smallAmount(r, s.facts.accounts.cur ?? 0);
      if (initial) {
        s.rules.add('R1.4');
        s.insert();
        s.amount(fen);
        s.pin('123456');
        s.expect({ result: 'declined', message: 'INITIAL_PIN_REFUSED', pinTriesLeft: 3 });
        s.remove();
      }
      const pin = newPin(r, s.facts.pin);
      s.raw(`counter: { action: change-pin, old: '${s.facts.pin}', new: '${pin}' }`);
      s.expect({ counter: { ok: true, contains: '修改成功' }, statusWords: { last: '9000' } });
      s.facts.pin = pin;
      s.insert();
      s.payMedicalOnline(fen, pin);
      return {
        title: `柜台改密后支付 / PIN changed at the counter, then paid (${card})`,
        description: initial
          ? 'R1.4: the initial PIN refused, changed at the counter, then paid'
          : 'the new PIN pays at once',
        story: s,
      };
    },
  },
  /** 21 June: 95000 carries over into 95001 (created if missing) (R4.2). */
  'carry-over': {
    weight: 50,
    make: (r) => {
      const card = r.pick<CardId>([
        'gen3-active',
        'gen3-hong-kong',
        'gen3-foreigner',
        'gen3-child-no-photo',
        'gen2',
      ]);
      const day = r.int(15, 20);
      const s = new Story(
        card,
        `2026-06-${day}T${String(r.int(9, 17)).padStart(2, '0')}:${String(r.int(0, 59)).padStart(2, '0')}:00+08:00`,
      );
      s.rules.add('R4.2').add('R4.1');
      const secret = card === 'gen2' ? s.facts.password! : s.facts.pin;
      if (r.chance(0.6)) {
        s.insert();
        s.payMedicalOnline(smallAmount(r, s.facts.accounts.cur ?? 0), secret);
        s.remove();
      }
      s.raw(`clock: '2026-06-20T23:59:59+08:00'`);
      s.expect({ balances: s.balances() });
      const how = r.int(0, 2);
      if (how === 0) s.raw('clock: 2026-06-21');
      else if (how === 1) s.raw(`clock: '2026-06-21T00:00:00+08:00'`);
      else s.raw(`clock: { advance: ${r.int(1, 3)}d }`);
      s.carryOver();
      s.expect({ balances: s.balances() });
      s.insert();
      const a = s.facts.accounts;
      s.payMedicalOnline(smallAmount(r, a.prior ?? 0), secret);
      s.expect({ journal: { balanced: true, reconciled: true } });
      return {
        title: `6月21日结转 / 21 June: 95000 carried over into 95001 (${card})`,
        description:
          'the carry-over moves the whole 95000 balance into 95001 (opening it if needed); 95001 pays',
        story: s,
      };
    },
  },
};

// ---- the files ------------------------------------------------------------------------------

function randomClock(r: Rng): string {
  // Working hours on a day between January and mid-June 2026 (before the 21 June carry-over,
  // before the gen 2 card expires).
  const month = r.int(1, 6);
  const day = r.int(1, month === 6 ? 14 : 28);
  const hh = r.int(8, 19);
  const mm = r.int(0, 59);
  const p = (n: number) => String(n).padStart(2, '0');
  return `2026-${p(month)}-${p(day)}T${p(hh)}:${p(mm)}:00+08:00`;
}

function render(index: number, kind: string, m: Made): string {
  const s = m.story;
  const id = `mixed-${String(index).padStart(4, '0')}`;
  const header: string[] = [
    '# yaml-language-server: $schema=../scenario.schema.json',
    `# Generated by scripts/gen-mixed-scenarios.ts (seed ${MIXED_SEED}, kind ${kind}): do not edit, regenerate.`,
    `name: ${scalar(`${id} ${m.title}`)}`,
    `description: ${scalar(m.description)}`,
    `rules: [${[...s.rules].sort().join(', ')}]`,
    `card: ${s.card}`,
    `clock: ${s.clock}`,
  ];
  if (s.link !== 'up' || s.timeoutMs !== null)
    header.push(`host: ${flow({ link: s.link, timeoutMs: s.timeoutMs ?? undefined })}`);
  if (s.order !== 'current-first' || s.shortfall !== 'self-pay')
    header.push(`settings: ${flow({ medicalOrder: s.order, shortfall: s.shortfall })}`);
  return [...header, 'steps:', ...s.steps, ''].join('\n');
}

/** The kinds, in proportion to their weights, to `count` scenarios. */
function kindList(r: Rng, count: number): string[] {
  const entries = Object.entries(KINDS);
  const total = entries.reduce((n, [, k]) => n + k.weight, 0);
  const list: string[] = [];
  for (const [name, k] of entries)
    for (let i = 0; i < Math.round((k.weight / total) * count); i++) list.push(name);
  while (list.length < count) list.push('gen3-pay');
  list.length = count;
  return r.shuffle(list);
}

export interface MixedFile {
  name: string;
  kind: string;
  text: string;
}

/** Every file of the mixed set, in order: mixed-0001.yaml … */
export function generateMixedScenarios(count = MIXED_COUNT, seed = MIXED_SEED): MixedFile[] {
  const r = new Rng(seed);
  return kindList(r, count).map((kind, i) => {
    const m = KINDS[kind]!.make(r, randomClock(r));
    const name = `mixed-${String(i + 1).padStart(4, '0')}.yaml`;
    return { name, kind, text: render(i + 1, kind, m) };
  });
}

/** How many of each kind. */
export function mixedCounts(files: readonly MixedFile[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of files) out[f.kind] = (out[f.kind] ?? 0) + 1;
  return out;
}

/** The differences between the folder and what the generator writes (empty: up to date). */
export function mixedDifferences(dir = MIXED_DIR, files = generateMixedScenarios()): string[] {
  const want = new Map(files.map((f) => [f.name, f.text]));
  const have = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')) : [];
  const out: string[] = [];
  for (const name of have) if (!want.has(name)) out.push(`${name}: not written by the generator`);
  for (const [name, text] of want) {
    const file = join(dir, name);
    if (!existsSync(file)) out.push(`${name}: missing`);
    else if (readFileSync(file, 'utf8') !== text) out.push(`${name}: differs`);
  }
  return out;
}

function main(): void {
  const files = generateMixedScenarios();
  if (process.argv.includes('--check')) {
    const diff = mixedDifferences(MIXED_DIR, files);
    if (diff.length > 0) {
      process.stderr.write(
        `${MIXED_DIR} is out of date (${diff.length} file(s)): run node --import tsx scripts/gen-mixed-scenarios.ts\n` +
          diff
            .slice(0, 10)
            .map((d) => `  ${d}\n`)
            .join(''),
      );
      process.exit(1);
    }
    process.stdout.write(`${MIXED_DIR} is up to date (${files.length} scenarios)\n`);
    return;
  }
  mkdirSync(MIXED_DIR, { recursive: true });
  for (const f of readdirSync(MIXED_DIR)) if (f.endsWith('.yaml')) rmSync(join(MIXED_DIR, f));
  for (const f of files) writeFileSync(join(MIXED_DIR, f.name), f.text);
  const counts = mixedCounts(files);
  process.stdout.write(
    `wrote ${files.length} scenarios to ${MIXED_DIR}\n${Object.entries(counts)
      .map(([k, n]) => `  ${k.padEnd(20)} ${n}\n`)
      .join('')}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
