import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openLedgerDb } from '../db/open.ts';
import { Ledger, LedgerError, type LedgerErrorCode, type Posting, type SecurityState } from './ledger.ts';
import { fakeHash, sampleCard, steppingClock, tempDir } from '../../test/harness/ledger/test-support.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const open: Ledger[] = [];
afterEach(() => {
  for (const l of open.splice(0)) {
    try {
      l.close();
    } catch {
      // already closed by the test
    }
  }
});

let fileCounter = 0;

function ledgerAt(path: string, clock = steppingClock()): Ledger {
  const ledger = new Ledger({ db: openLedgerDb(path), clock });
  open.push(ledger);
  return ledger;
}

/** An in-memory ledger with one gen 3 card, and the raw db to inspect it. */
function setup(): { ledger: Ledger; db: Database.Database } {
  const db = openLedgerDb(':memory:');
  const ledger = new Ledger({ db, clock: steppingClock() });
  open.push(ledger);
  ledger.upsertCard(sampleCard('A00000001'));
  return { ledger, db };
}

function security(overrides: Partial<SecurityState> = {}): SecurityState {
  return {
    pinHash: fakeHash(),
    pinTriesLeft: 3,
    pinRetryLimit: 3,
    pinInitial: true,
    keyTriesLeft: 3,
    ...overrides,
  };
}

/** Everything post() could have written. */
function snapshot(ledger: Ledger, db: Database.Database) {
  return {
    journal: ledger.journal(),
    accounts: db.prepare('SELECT * FROM accounts ORDER BY account_id').all(),
    balances: ledger.balances('A00000001'),
  };
}

function expectLedgerError(fn: () => unknown, code: LedgerErrorCode, message?: RegExp): LedgerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LedgerError);
    const err = e as LedgerError;
    expect(err.code).toBe(code);
    if (message) expect(err.message).toMatch(message);
    return err;
  }
  throw new Error(`expected LedgerError ${code}, nothing was thrown`);
}

describe('Ledger construction', () => {
  it('refuses a database that was not opened with openLedgerDb', () => {
    const raw = new Database(':memory:');
    expect(() => new Ledger({ db: raw, clock: steppingClock() })).toThrow(/schema version 0.*openLedgerDb/);
    raw.close();
  });
});

describe('cards', () => {
  it('upserts, reads and lists cards with timestamps from the injected clock', () => {
    const db = openLedgerDb(':memory:');
    const ledger = new Ledger({ db, clock: steppingClock('2025-03-01T08:00:00.000Z') });
    open.push(ledger);

    const created = ledger.upsertCard(sampleCard('B00000002'));
    expect(created).toEqual({
      ...sampleCard('B00000002'),
      createdAt: '2025-03-01T08:00:00.000Z',
      updatedAt: '2025-03-01T08:00:00.000Z',
    });
    ledger.upsertCard(sampleCard('A00000001', { generation: 1, pan: null, profileId: null }));

    const updated = ledger.upsertCard(sampleCard('B00000002', { holderName: '李四' }));
    expect(updated.holderName).toBe('李四');
    expect(updated.createdAt).toBe('2025-03-01T08:00:00.000Z');
    expect(updated.updatedAt).toBe('2025-03-01T08:00:02.000Z');

    expect(ledger.getCard('B00000002')).toEqual(updated);
    expect(ledger.getCard('A00000001')).toMatchObject({ generation: 1, pan: null, profileId: null });
    expect(ledger.getCard('NOSUCHCRD')).toBeNull();
    expect(ledger.listCards().map((c) => c.cardId)).toEqual(['A00000001', 'B00000002']);
  });

  it('sets the card status', () => {
    const { ledger } = setup();
    ledger.setCardStatus('A00000001', 'loss-reported');
    expect(ledger.getCard('A00000001')?.status).toBe('loss-reported');
    expectLedgerError(() => ledger.setCardStatus('NOSUCHCRD', 'closed'), 'UNKNOWN_CARD');
  });
});

describe('card security state', () => {
  it('persists the PIN counter across close and reopen of the same file', () => {
    const path = tmp.file(`security-${++fileCounter}.db`);
    const first = ledgerAt(path);
    first.upsertCard(sampleCard());
    first.saveSecurity('A00000001', security({ pinTriesLeft: 1, pinInitial: false, keyTriesLeft: 2 }));
    first.close();

    const second = ledgerAt(path);
    expect(second.getSecurity('A00000001')).toMatchObject({
      cardId: 'A00000001',
      pinHash: fakeHash(),
      pinTriesLeft: 1,
      pinRetryLimit: 3,
      pinInitial: false,
      keyTriesLeft: 2,
    });
  });

  it('has the PIN counter on disk as soon as saveSecurity returns, even if the process then dies', () => {
    const path = tmp.file(`killed-${++fileCounter}.db`);
    const ledgerUrl = new URL('./ledger.ts', import.meta.url).href;
    const dbUrl = new URL('../db/open.ts', import.meta.url).href;
    // The child saves, then SIGKILLs itself: no close(), no exit handlers, no checkpoint.
    const child = `
      import { openLedgerDb } from ${JSON.stringify(dbUrl)};
      import { Ledger } from ${JSON.stringify(ledgerUrl)};
      const ledger = new Ledger({ db: openLedgerDb(${JSON.stringify(path)}), clock: () => new Date() });
      ledger.upsertCard(${JSON.stringify(sampleCard())});
      const pinHash = ${JSON.stringify(fakeHash())};
      ledger.saveSecurity('A00000001', { pinHash, pinTriesLeft: 1, pinRetryLimit: 3, pinInitial: true, keyTriesLeft: 3 });
      process.kill(process.pid, 'SIGKILL');
    `;
    const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(r.signal, r.stderr).toBe('SIGKILL'); // i.e. it got as far as killing itself

    expect(ledgerAt(path).getSecurity('A00000001')?.pinTriesLeft).toBe(1);
  });

  it('initSecurityIfAbsent stores the first state and never resets an existing counter', () => {
    const path = tmp.file(`init-${++fileCounter}.db`);
    const first = ledgerAt(path);
    first.upsertCard(sampleCard());
    expect(first.getSecurity('A00000001')).toBeNull();
    expect(first.initSecurityIfAbsent('A00000001', security()).pinTriesLeft).toBe(3);

    first.saveSecurity('A00000001', security({ pinTriesLeft: 1, pinHash: fakeHash('b') }));
    const again = first.initSecurityIfAbsent('A00000001', security());
    expect(again.pinTriesLeft).toBe(1);
    expect(again.pinHash).toEqual(fakeHash('b'));
    first.close();

    // Importing the fixture again after a restart must not reset it either.
    const second = ledgerAt(path);
    second.upsertCard(sampleCard());
    expect(second.initSecurityIfAbsent('A00000001', security({ pinTriesLeft: 3 })).pinTriesLeft).toBe(1);
    expect(second.getSecurity('A00000001')?.pinTriesLeft).toBe(1);
  });

  it('overwrites the state on save and stores only the hash fields', () => {
    const { ledger, db } = setup();
    ledger.saveSecurity('A00000001', security({ pinTriesLeft: 2 }));
    const withExtra = { ...fakeHash('c'), pin: '123456' };
    ledger.saveSecurity('A00000001', security({ pinTriesLeft: 0, pinHash: withExtra }));
    expect(ledger.getSecurity('A00000001')).toMatchObject({ pinTriesLeft: 0, pinHash: fakeHash('c') });
    const stored = db.prepare('SELECT pin_hash FROM card_security').pluck().get() as string;
    expect(stored).not.toContain('123456');
  });

  it('refuses state for an unknown card and counters out of range', () => {
    const { ledger } = setup();
    expectLedgerError(() => ledger.saveSecurity('NOSUCHCRD', security()), 'UNKNOWN_CARD');
    expectLedgerError(() => ledger.initSecurityIfAbsent('NOSUCHCRD', security()), 'UNKNOWN_CARD');
    expect(() => ledger.saveSecurity('A00000001', security({ pinTriesLeft: -1 }))).toThrow(/CHECK/);
    expect(() => ledger.saveSecurity('A00000001', security({ pinRetryLimit: 0 }))).toThrow(/CHECK/);
    expect(ledger.getSecurity('A00000001')).toBeNull();
  });

  it('stores and replaces the bank transaction password hash', () => {
    const { ledger } = setup();
    expect(ledger.getBankPassword('A00000001')).toBeNull();
    ledger.setBankPassword('A00000001', fakeHash('d'));
    expect(ledger.getBankPassword('A00000001')).toEqual(fakeHash('d'));
    ledger.setBankPassword('A00000001', fakeHash('e'));
    expect(ledger.getBankPassword('A00000001')).toEqual(fakeHash('e'));
    expectLedgerError(() => ledger.setBankPassword('NOSUCHCRD', fakeHash()), 'UNKNOWN_CARD');
  });
});

describe('accounts', () => {
  it('opens card accounts idempotently, with the code of their kind', () => {
    const { ledger } = setup();
    const reserve = ledger.openAccount('A00000001', 'reserve');
    expect(ledger.openAccount('A00000001', 'reserve')).toBe(reserve);
    const current = ledger.openAccount('A00000001', 'medical_current');
    const prior = ledger.openAccount('A00000001', 'medical_prior');
    expect(ledger.getAccount('A00000001', 'reserve')).toMatchObject({
      accountId: reserve,
      code: null,
      balanceFen: 0,
    });
    expect(ledger.getAccount('A00000001', 'medical_current')).toMatchObject({
      accountId: current,
      code: '95000',
    });
    expect(ledger.getAccount('A00000001', 'medical_prior')).toMatchObject({
      accountId: prior,
      code: '95001',
    });
    expectLedgerError(() => ledger.openAccount('NOSUCHCRD', 'reserve'), 'UNKNOWN_CARD');
  });

  it('creates each system account once, on demand', () => {
    const { ledger, db } = setup();
    const count = () => db.prepare('SELECT count(*) FROM accounts WHERE card_id IS NULL').pluck().get();
    expect(count()).toBe(0);
    const merchant = ledger.systemAccount('merchant');
    expect(ledger.systemAccount('merchant')).toBe(merchant);
    expect(ledger.systemAccount('bank_funding')).not.toBe(merchant);
    expect(count()).toBe(2);
  });

  it('reports null for accounts that do not exist', () => {
    const { ledger } = setup();
    expect(ledger.balances('A00000001')).toEqual({ reserve: null, medicalCurrent: null, medicalPrior: null });
    expect(ledger.getAccount('A00000001', 'reserve')).toBeNull();
    ledger.openAccount('A00000001', 'reserve');
    expect(ledger.balances('A00000001')).toEqual({ reserve: 0, medicalCurrent: null, medicalPrior: null });
  });
});

describe('fund', () => {
  it('R4.1: the first medical funding creates the 95000 account', () => {
    const { ledger } = setup();
    expect(ledger.getAccount('A00000001', 'medical_current')).toBeNull();
    const id = ledger.fund('A00000001', 'medical_current', 12_345, 'fund-1');
    expect(ledger.getAccount('A00000001', 'medical_current')).toMatchObject({
      accountId: id,
      code: '95000',
      balanceFen: 12_345,
    });
    expect(ledger.balances('A00000001')).toEqual({
      reserve: null,
      medicalCurrent: 12_345,
      medicalPrior: null,
    });

    expect(ledger.fund('A00000001', 'medical_current', 655, 'fund-2')).toBe(id);
    expect(ledger.balances('A00000001').medicalCurrent).toBe(13_000);
  });

  it('funds the reserve from bank_funding and medical accounts from medical_funding', () => {
    const { ledger } = setup();
    ledger.fund('A00000001', 'reserve', 5_000, 'fund-r');
    ledger.fund('A00000001', 'medical_prior', 700, 'fund-m');
    const kinds = (txnId: string) =>
      ledger.journal({ txnId }).map((l) => [l.accountKind, l.amountFen, l.kind, l.line]);
    expect(kinds('fund-r')).toEqual([
      ['bank_funding', -5_000, 'funding', 1],
      ['reserve', 5_000, 'funding', 2],
    ]);
    expect(kinds('fund-m')).toEqual([
      ['medical_funding', -700, 'funding', 1],
      ['medical_prior', 700, 'funding', 2],
    ]);
  });

  it('refuses non-positive amounts, an unknown card and a reused txn id, writing nothing', () => {
    const { ledger, db } = setup();
    ledger.fund('A00000001', 'reserve', 100, 'fund-1');
    const before = snapshot(ledger, db);
    expectLedgerError(() => ledger.fund('A00000001', 'reserve', 0, 'fund-2'), 'INVALID_AMOUNT');
    expectLedgerError(() => ledger.fund('A00000001', 'reserve', -5, 'fund-2'), 'INVALID_AMOUNT');
    expectLedgerError(() => ledger.fund('NOSUCHCRD', 'reserve', 5, 'fund-2'), 'UNKNOWN_CARD');
    // The duplicate must not leave a freshly opened 95000 behind either.
    expectLedgerError(() => ledger.fund('A00000001', 'medical_current', 5, 'fund-1'), 'DUPLICATE_TXN');
    expect(snapshot(ledger, db)).toEqual(before);
  });
});

describe('post', () => {
  /** A card with 1000 fen in the reserve, and the merchant account. */
  function funded() {
    const s = setup();
    const reserve = s.ledger.fund('A00000001', 'reserve', 1_000, 'fund-0');
    const merchant = s.ledger.systemAccount('merchant');
    return { ...s, reserve, merchant };
  }

  it('posts a balanced transaction: journal lines in order and balances updated', () => {
    const { ledger, reserve, merchant } = funded();
    ledger.post({
      txnId: 'pay-1',
      kind: 'payment',
      memo: '药店',
      lines: [
        { accountId: reserve, amountFen: -300 },
        { accountId: merchant, amountFen: 300 },
      ],
    });
    expect(ledger.balances('A00000001').reserve).toBe(700);
    expect(ledger.journal({ txnId: 'pay-1' })).toMatchObject([
      {
        line: 1,
        accountId: reserve,
        cardId: 'A00000001',
        amountFen: -300,
        kind: 'payment',
        memo: '药店',
        refTxnId: null,
      },
      {
        line: 2,
        accountId: merchant,
        cardId: null,
        amountFen: 300,
        kind: 'payment',
        memo: '药店',
        refTxnId: null,
      },
    ]);
    const [a, b] = ledger.journal({ txnId: 'pay-1' });
    expect(a?.at).toBe(b?.at);
  });

  it('links refunds to the original and refuses a reference to a transaction never posted', () => {
    const { ledger, db, reserve, merchant } = funded();
    const pay: Posting = {
      txnId: 'pay-1',
      kind: 'payment',
      lines: [
        { accountId: reserve, amountFen: -300 },
        { accountId: merchant, amountFen: 300 },
      ],
    };
    ledger.post(pay);
    const refund = (txnId: string, refTxnId: string): Posting => ({
      txnId,
      kind: 'refund',
      refTxnId,
      lines: [
        { accountId: merchant, amountFen: -300 },
        { accountId: reserve, amountFen: 300 },
      ],
    });
    const before = snapshot(ledger, db);
    expectLedgerError(() => ledger.post(refund('refund-x', 'pay-404')), 'UNKNOWN_REF_TXN');
    expect(snapshot(ledger, db)).toEqual(before);

    ledger.post(refund('refund-1', 'pay-1'));
    expect(ledger.journal({ txnId: 'refund-1' }).map((l) => l.refTxnId)).toEqual(['pay-1', 'pay-1']);
    expect(ledger.balances('A00000001').reserve).toBe(1_000);
  });

  it('rejects unbalanced lines and writes nothing', () => {
    const { ledger, db, reserve, merchant } = funded();
    const before = snapshot(ledger, db);
    const err = expectLedgerError(
      () =>
        ledger.post({
          txnId: 'pay-1',
          kind: 'payment',
          lines: [
            { accountId: reserve, amountFen: -300 },
            { accountId: merchant, amountFen: 299 },
          ],
        }),
      'UNBALANCED',
      /sum to -1 fen/,
    );
    expect(err.message).toContain('pay-1');
    expect(snapshot(ledger, db)).toEqual(before);
  });

  it('rejects fewer than two lines', () => {
    const { ledger, db, reserve } = funded();
    const before = snapshot(ledger, db);
    expectLedgerError(() => ledger.post({ txnId: 't', kind: 'payment', lines: [] }), 'INVALID_TXN');
    expectLedgerError(
      () => ledger.post({ txnId: 't', kind: 'payment', lines: [{ accountId: reserve, amountFen: 0 }] }),
      'INVALID_TXN',
      /at least 2 lines/,
    );
    expect(snapshot(ledger, db)).toEqual(before);
  });

  it('rejects amounts that are not whole fen', () => {
    const { ledger, db, reserve, merchant } = funded();
    const before = snapshot(ledger, db);
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectLedgerError(
        () =>
          ledger.post({
            txnId: 't',
            kind: 'payment',
            lines: [
              { accountId: reserve, amountFen: -bad },
              { accountId: merchant, amountFen: bad },
            ],
          }),
        'INVALID_AMOUNT',
      );
    }
    expect(snapshot(ledger, db)).toEqual(before);
  });

  it('rejects amounts beyond Number.MAX_SAFE_INTEGER', () => {
    const { ledger, db } = funded();
    const bank = ledger.systemAccount('bank_funding');
    const merchant = ledger.systemAccount('merchant');
    const before = snapshot(ledger, db);
    const huge = Number.MAX_SAFE_INTEGER + 1;
    expectLedgerError(
      () =>
        ledger.post({
          txnId: 't',
          kind: 'funding',
          lines: [
            { accountId: bank, amountFen: -huge },
            { accountId: merchant, amountFen: huge },
          ],
        }),
      'INVALID_AMOUNT',
      /line 1/,
    );
    expect(snapshot(ledger, db)).toEqual(before);
  });

  it('rejects a posting that would push a balance beyond the safe range', () => {
    const { ledger, db, reserve } = funded();
    const before = snapshot(ledger, db);
    const err = expectLedgerError(
      () => ledger.fund('A00000001', 'reserve', Number.MAX_SAFE_INTEGER, 'fund-huge'),
      'BALANCE_OUT_OF_RANGE',
    );
    expect([reserve, ledger.systemAccount('bank_funding')]).toContain(err.accountId);
    expect(snapshot(ledger, db)).toEqual(before);
  });

  it('rejects an overdraft of a card account, naming the account, and writes nothing', () => {
    const { ledger, db, reserve, merchant } = funded();
    const current = ledger.fund('A00000001', 'medical_current', 500, 'fund-m');
    const before = snapshot(ledger, db);
    // The first two lines alone would be fine; the 95000 line overdraws.
    const err = expectLedgerError(
      () =>
        ledger.post({
          txnId: 'pay-1',
          kind: 'payment',
          lines: [
            { accountId: reserve, amountFen: -400 },
            { accountId: merchant, amountFen: 400 },
            { accountId: current, amountFen: -600 },
            { accountId: merchant, amountFen: 600 },
          ],
        }),
      'INSUFFICIENT_FUNDS',
      /account \d+ \(card A00000001 medical_current 95000\) has 500 fen, 600 fen needed/,
    );
    expect(err.accountId).toBe(current);
    expect(snapshot(ledger, db)).toEqual(before);
    expect(ledger.journal({ txnId: 'pay-1' })).toEqual([]);
  });

  it('lets system accounts go negative', () => {
    const { ledger } = funded();
    expect(ledger.getAccount('A00000001', 'reserve')?.balanceFen).toBe(1_000);
    const bank = ledger.systemAccount('bank_funding');
    expect(ledger.journal({ txnId: 'fund-0' }).find((l) => l.accountId === bank)?.amountFen).toBe(-1_000);
  });

  it('judges an account by its net change within the transaction', () => {
    const { ledger, reserve, merchant } = funded();
    // -1500 then +600 on the same account nets to -900: within the 1000 available.
    ledger.post({
      txnId: 'adjust-1',
      kind: 'payment',
      lines: [
        { accountId: reserve, amountFen: -1_500 },
        { accountId: reserve, amountFen: 600 },
        { accountId: merchant, amountFen: 900 },
      ],
    });
    expect(ledger.balances('A00000001').reserve).toBe(100);
  });

  it('rejects a duplicate txn id and writes nothing', () => {
    const { ledger, db, reserve, merchant } = funded();
    const pay = (amountFen: number): Posting => ({
      txnId: 'pay-1',
      kind: 'payment',
      lines: [
        { accountId: reserve, amountFen: -amountFen },
        { accountId: merchant, amountFen },
      ],
    });
    ledger.post(pay(100));
    const before = snapshot(ledger, db);
    expectLedgerError(() => ledger.post(pay(100)), 'DUPLICATE_TXN', /pay-1 is already posted/);
    expectLedgerError(() => ledger.post(pay(250)), 'DUPLICATE_TXN');
    expect(snapshot(ledger, db)).toEqual(before);
    expect(ledger.balances('A00000001').reserve).toBe(900);
  });

  it('rejects lines on an unknown account and writes nothing', () => {
    const { ledger, db, reserve } = funded();
    const before = snapshot(ledger, db);
    const err = expectLedgerError(
      () =>
        ledger.post({
          txnId: 'pay-1',
          kind: 'payment',
          lines: [
            { accountId: reserve, amountFen: -1 },
            { accountId: 9_999, amountFen: 1 },
          ],
        }),
      'UNKNOWN_ACCOUNT',
    );
    expect(err.accountId).toBe(9_999);
    expect(snapshot(ledger, db)).toEqual(before);
  });
});

describe('journal and consistency', () => {
  it('filters the journal by card and by transaction, in posting order', () => {
    const { ledger } = setup();
    ledger.upsertCard(sampleCard('B00000002'));
    ledger.fund('A00000001', 'reserve', 100, 'a-1');
    ledger.fund('B00000002', 'reserve', 200, 'b-1');
    ledger.fund('A00000001', 'medical_current', 300, 'a-2');

    expect(ledger.journal().map((l) => l.entryId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ledger.journal({ cardId: 'A00000001' }).map((l) => [l.txnId, l.amountFen])).toEqual([
      ['a-1', 100],
      ['a-2', 300],
    ]);
    expect(ledger.journal({ txnId: 'b-1' }).map((l) => l.amountFen)).toEqual([-200, 200]);
    expect(ledger.journal({ cardId: 'A00000001', txnId: 'b-1' })).toEqual([]);
    expect(ledger.journal({ cardId: 'B00000002', txnId: 'b-1' })).toHaveLength(1);
  });

  it('checkConsistency is empty after a series of postings', () => {
    const { ledger } = setup();
    ledger.upsertCard(sampleCard('B00000002'));
    const merchant = ledger.systemAccount('merchant');
    for (let i = 0; i < 20; i++) {
      const card = i % 2 === 0 ? 'A00000001' : 'B00000002';
      const reserve = ledger.fund(card, 'reserve', 1_000 + i, `fund-${i}`);
      const current = ledger.fund(card, 'medical_current', 500 + i, `fund-m-${i}`);
      ledger.post({
        txnId: `pay-${i}`,
        kind: 'payment',
        lines: [
          { accountId: reserve, amountFen: -(300 + i) },
          { accountId: current, amountFen: -(200 + i) },
          { accountId: merchant, amountFen: 500 + 2 * i },
        ],
      });
      if (i % 5 === 0) {
        ledger.post({
          txnId: `refund-${i}`,
          kind: 'refund',
          refTxnId: `pay-${i}`,
          lines: [
            { accountId: merchant, amountFen: -(300 + i) },
            { accountId: reserve, amountFen: 300 + i },
          ],
        });
      }
    }
    expect(ledger.checkConsistency()).toEqual([]);
    // The journal as a whole balances too.
    expect(ledger.journal().reduce((sum, l) => sum + l.amountFen, 0)).toBe(0);
  });

  it('checkConsistency reports an account whose balance was changed behind the journal', () => {
    const { ledger, db } = setup();
    const reserve = ledger.fund('A00000001', 'reserve', 1_000, 'fund-1');
    db.prepare('UPDATE accounts SET balance_fen = 1234 WHERE account_id = ?').run(reserve);
    expect(ledger.checkConsistency()).toEqual([
      { accountId: reserve, cardId: 'A00000001', kind: 'reserve', balanceFen: 1_234, journalFen: 1_000 },
    ]);
  });
});
