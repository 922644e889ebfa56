import type Database from 'better-sqlite3';
import { hashSecret } from '../../../core/card/pin.ts';
import { openLedgerDb } from '../../../core/db/open.ts';
import { Ledger, type CardGeneration, type CardStatus } from '../../../core/ledger/ledger.ts';
import { sampleCard } from '../ledger/test-support.ts';
import { fixedClock } from '../../../core/time.ts';
import { InProcessHost, type InProcessHostOptions } from '../../../core/host/in-process-host.ts';
import type { HostPaymentRequest, PaymentSplit } from '../../../core/host/types.ts';

/** Test helpers for core/host/*.test.ts (not used by the host itself). */

export const PASSWORD = '246810';

/** Cheap scrypt parameters: the tests check the bank's logic, not the hash's cost. */
const FAST_SCRYPT = { n: 1024, r: 8, p: 1 };

export interface CardSetup {
  generation?: CardGeneration;
  status?: CardStatus;
  /** Opening balances in fen; undefined leaves the account unopened, 0 opens it empty. */
  reserve?: number;
  current?: number;
  prior?: number;
  /** The bank transaction password; null for none. Default PASSWORD for gen 2/3. */
  password?: string | null;
}

export type TestClock = ReturnType<typeof fixedClock>;

export interface HostFixture {
  readonly db: Database.Database;
  readonly ledger: Ledger;
  readonly clock: TestClock;
  readonly host: InProcessHost;
  /** Another host on the same database (e.g. a restarted simulator). */
  another(options?: Partial<InProcessHostOptions>): InProcessHost;
  card(cardId: string, setup?: CardSetup): string;
  /** Sum of every account's balance (card and system): constant, 0, under double entry. */
  total(): number;
  /** Everything the host could change: balances, journal, host rows. */
  snapshot(): unknown;
}

export function hostFixture(
  options: Partial<InProcessHostOptions> = {},
  start = '2025-03-10T02:00:00.000Z',
): HostFixture {
  const clock = fixedClock(start);
  const db = openLedgerDb(':memory:');
  const ledger = new Ledger({ db, clock });
  const make = (o: Partial<InProcessHostOptions> = {}) =>
    new InProcessHost({ ledger, db, clock, timeoutMs: 50, slowDelayMs: 200, ...options, ...o });
  let funding = 0;
  return {
    db,
    ledger,
    clock,
    host: make(),
    another: make,
    card(cardId, setup = {}) {
      const generation = setup.generation ?? 3;
      ledger.upsertCard(sampleCard(cardId, { generation, status: setup.status ?? 'active' }));
      const password = setup.password === undefined ? (generation === 1 ? null : PASSWORD) : setup.password;
      if (password !== null) ledger.setBankPassword(cardId, hashSecret(password, FAST_SCRYPT));
      const open = (fen: number | undefined, kind: 'reserve' | 'medical_current' | 'medical_prior') => {
        if (fen === undefined) return;
        if (fen === 0) ledger.openAccount(cardId, kind);
        else ledger.fund(cardId, kind, fen, `test-funding:${++funding}`);
      };
      open(setup.reserve, 'reserve');
      open(setup.current, 'medical_current');
      open(setup.prior, 'medical_prior');
      return cardId;
    },
    total: () =>
      db.prepare<[], number>('SELECT COALESCE(SUM(balance_fen), 0) FROM accounts').pluck().get() ?? 0,
    snapshot: () => ({
      accounts: db.prepare('SELECT * FROM accounts ORDER BY account_id').all(),
      journal: db.prepare('SELECT count(*) FROM journal').pluck().get(),
      records: db.prepare('SELECT * FROM host_records ORDER BY rowid').all(),
      legs: db.prepare('SELECT count(*) FROM host_legs').pluck().get(),
      bank: db.prepare('SELECT card_id, password_failures FROM bank_secrets ORDER BY card_id').all(),
      meta: db.prepare('SELECT * FROM host_meta ORDER BY key').all(),
    }),
  };
}

const NO_SPLIT: PaymentSplit = { medicalCurrentFen: 0, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 };

let paymentSeq = 0;

/** A payment request; online medical by default, with a fresh paymentId. */
export function payment(
  cardId: string,
  amountFen: number,
  over: Partial<HostPaymentRequest> = {},
): HostPaymentRequest {
  return {
    paymentId: `pay-${++paymentSeq}`,
    terminalId: 'T0001',
    merchantId: 'M0001',
    cardId,
    method: 'medical',
    amountFen,
    split: NO_SPLIT,
    createdAt: '2025-03-10T02:00:00.000Z',
    mode: 'online',
    ...over,
  };
}

/** An offline payment as the till took it, to be forwarded. */
export function offline(
  cardId: string,
  split: Partial<PaymentSplit>,
  over: Partial<HostPaymentRequest> = {},
) {
  const s = { ...NO_SPLIT, ...split };
  const amountFen = s.medicalCurrentFen + s.medicalPriorFen + s.reserveFen + s.selfPayFen;
  return payment(cardId, amountFen, { split: s, mode: 'offline', ...over });
}
