import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openCardStore } from '../ledger/card-store.ts';
import { verifySecret, type SecretHash } from '../card/pin.ts';
import { resolveCard } from '../card/wallet.ts';
import type { CardProfile } from '../card/profile.ts';
import { fixedClock } from '../time.ts';
import { runScenario, type ScenarioResult } from './engine.ts';
import { DEFAULT_START } from './schema.ts';
import { ledgerTemplates, LedgerTemplates, scratchFolder, scratchRoot } from './template.ts';
import { loaded, yaml } from '../../test/harness/scenario/test-support.ts';
import { namedCards, ScenarioWorld } from './world.ts';

function passed(r: ScenarioResult): void {
  if (r.status !== 'passed') throw new Error(`scenario ${r.status}: ${r.error ?? ''}\n${r.log.join('\n')}`);
}

const profile = (id: string): CardProfile => resolveCard(id).profile;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sscard-template-test-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every row of every table, in rowid order, without the columns named. */
function dump(file: string, without: readonly string[]): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all();
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) {
      out[name] = db
        .prepare(`SELECT * FROM "${name}" ORDER BY 1`)
        .all()
        .map((row) =>
          Object.fromEntries(Object.entries(row as object).filter(([k]) => !without.includes(k))),
        );
    }
    return out;
  } finally {
    db.close();
  }
}

/** The file header's write and read versions: 2 and 2 is WAL, kept in the file. */
function headerJournalMode(file: string): string {
  const h = readFileSync(file).subarray(0, 20);
  return h[18] === 2 && h[19] === 2 ? 'wal' : 'rollback';
}

describe('ledger templates: a fresh ledger is a copy of a freshly made one', () => {
  it('holds the same rows as importing the cards into a new ledger, secrets as salted scrypt hashes', () => {
    const cards = [profile('gen3-active'), profile('gen2'), profile('gen1')];
    const templates = new LedgerTemplates();
    try {
      const dir = newDir();
      const copy = join(dir, 'copy.db');
      templates.freshLedger(copy, cards);
      // The same cards imported the way the till does it, at the template's clock.
      const fresh = join(dir, 'fresh.db');
      const store = openCardStore(fresh, fixedClock(DEFAULT_START));
      for (const c of cards) store.open(c);
      store.close();

      const secretColumns = ['pin_hash', 'password_hash'];
      expect(dump(copy, secretColumns)).toEqual(dump(fresh, secretColumns));
      const rows = dump(copy, []);
      expect(rows.cards).toHaveLength(3);
      expect(rows.accounts!.length).toBeGreaterThan(3);
      expect(rows.journal!.length).toBeGreaterThan(3); // the opening balances
      expect(rows.terminal_payments).toEqual([]);
      expect(rows.host_records).toEqual([]);
      expect(rows.card_balance_cache).toEqual([]);
      // The host's books start with the scenario (its carry-over year is the scenario's).
      expect(rows.host_meta).toEqual([]);

      // PIN and password: salted scrypt hashes that check the right secret, and never the digits.
      const db = new Database(copy, { readonly: true });
      const pin = db
        .prepare<[string], { pin_hash: string }>('SELECT pin_hash FROM card_security WHERE card_id = ?')
        .get('C44010048')!;
      const password = db
        .prepare<[string], { password_hash: string }>(
          'SELECT password_hash FROM bank_secrets WHERE card_id = ?',
        )
        .get('C44010048')!;
      db.close();
      for (const [json, right] of [
        [pin.pin_hash, '258014'],
        [password.password_hash, '369258'],
      ] as const) {
        const h = JSON.parse(json) as SecretHash;
        expect(h).toMatchObject({ alg: 'scrypt', n: 16384, r: 8, p: 1 });
        expect(h.salt).toMatch(/^[0-9a-f]{32}$/);
        expect(verifySecret(h, right)).toBe(true);
        expect(verifySecret(h, '000000')).toBe(false);
      }
      const bytes = readFileSync(copy).toString('latin1');
      for (const secret of ['258014', '369258', '135790', '246810', '802317'])
        expect(bytes).not.toContain(secret);
    } finally {
      templates.dispose();
    }
  });

  it('keeps WAL in the file; the till opens the copy with synchronous=FULL and foreign keys on', async () => {
    const s = loaded(yaml('gen3-active', '- insert'));
    const dir = newDir();
    const file = join(dir, 'scenario.db');
    const template = ledgerTemplates.template(namedCards(s).map((c) => c.profile));
    expect(headerJournalMode(template)).toBe('wal');
    expect(existsSync(`${template}-wal`)).toBe(false); // checkpointed into the one file
    ledgerTemplates.freshLedger(
      file,
      namedCards(s).map((c) => c.profile),
    );
    expect(headerJournalMode(file)).toBe('wal');
    const w = new ScenarioWorld({ scenario: s, dbPath: file });
    try {
      const db = w.pos.store.db;
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('one template per list of cards: the same number with other contents is another card', () => {
    const templates = new LedgerTemplates();
    try {
      const p = profile('gen3-active');
      const poorer: CardProfile = { ...p, accounts: { ...p.accounts, medicalCurrentFen: 1 } };
      const a = templates.template([p]);
      expect(templates.template([p])).toBe(a);
      const b = templates.template([poorer]);
      const both = templates.template([p, profile('gen2')]);
      expect(new Set([a, b, both]).size).toBe(3);
      const dir = newDir();
      templates.freshLedger(join(dir, 'poorer.db'), [poorer]);
      const store = openCardStore(join(dir, 'poorer.db'));
      expect(store.balances('C44010048').medicalCurrent).toBe(1);
      store.close();
      expect(() => templates.freshLedger(join(dir, 'poorer.db'), [poorer])).toThrow(/exists already/);
      expect(templates.stats).toEqual({ built: 3, kept: 3 });
    } finally {
      templates.dispose();
    }
  });

  it('nothing of one scenario leaks into the next: balances, PIN counter, PIN, loss report, books', async () => {
    // Both name gen3-active and gen2: the second starts from the same template as the first.
    const first = loaded(
      yaml(
        'gen3-active',
        `
- insert
- amount: '100.00'
- pin: '000001'
- pin: '258014'
- expect: { result: paid, balances: { medicalCurrent: '760.00' }, pinTriesLeft: 3 }
- remove
- insert
- amount: '1.00'
- pin: '000002'
- expect: { pinTriesLeft: 2 }
- cancel
- remove
- counter: { action: change-pin, old: '258014', new: '864209' }
- counter: report-loss
- expect: { counter: { ok: true }, cardStatus: loss-reported }
- insert: gen2
- amount: '50.00'
- password: '246810'
- expect: { result: paid, balances: { medicalCurrent: '1230.00' }, journal: { payments: 2 } }
- settle`,
      ),
    );
    const second = loaded(
      yaml(
        'gen3-active',
        `
- expect:
    balances: { reserve: '2000.00', medicalCurrent: '860.00', medicalPrior: '120.50' }
    pinTriesLeft: 3
    cardStatus: active
    journal: { payments: 0, refunds: 0, reversals: 0, forwardQueue: 0, balanced: true, reconciled: true }
- expect: { balances: { card: gen2, reserve: '5000.00', medicalCurrent: '1280.00', medicalPrior: '350.00' } }
- insert
- amount: '1.00'
- pin: '258014'
- expect: { result: paid, balances: { medicalCurrent: '859.00' }, journal: { payments: 1 } }`,
      ),
    );
    const cards = namedCards(first).map((c) => c.profile);
    expect(namedCards(second).map((c) => c.profile)).toEqual(cards);
    const template = ledgerTemplates.template(cards);
    const before = sha(template);
    const built = ledgerTemplates.stats.built;
    passed(await runScenario(first));
    passed(await runScenario(second));
    passed(await runScenario(first));
    expect(sha(template)).toBe(before); // scenarios write to their copies only
    expect(ledgerTemplates.stats.built).toBe(built);
  });

  it('runs the same with template: false (a new ledger, every card imported and hashed) and on a dbPath', async () => {
    const s = loaded(
      yaml(
        'gen3-hong-kong',
        `
- insert
- amount: '10.00'
- pin: '375168'
- expect: { result: paid, balances: { medicalCurrent: '170.00', medicalPrior: null } }`,
      ),
    );
    passed(await runScenario(s, { template: false }));
    const file = join(newDir(), 'kept.db');
    passed(await runScenario(s, { dbPath: file }));
    // A dbPath is the caller's: kept, with the scenario's payment in it.
    const store = openCardStore(file);
    expect(store.balances('C44010099').medicalCurrent).toBe(17000);
    store.close();
  });

  it('a process removes the scratch folders of processes that died without tidying up', () => {
    const root = newDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    mkdirSync(join(root, `sscard-templates-${dead}-aaaaaa`));
    mkdirSync(join(root, `sscard-run-${dead}-bbbbbb`));
    mkdirSync(join(root, `sscard-run-${process.pid}-cccccc`));
    mkdirSync(join(root, 'someone-elses'));
    const before = process.env.SSCARD_SCENARIO_TMPDIR;
    process.env.SSCARD_SCENARIO_TMPDIR = root;
    try {
      const mine = scratchFolder('scenario');
      expect(readdirSync(root).sort()).toEqual(
        [`sscard-run-${process.pid}-cccccc`, mine.split('/').pop()!, 'someone-elses'].sort(),
      );
    } finally {
      if (before === undefined) delete process.env.SSCARD_SCENARIO_TMPDIR;
      else process.env.SSCARD_SCENARIO_TMPDIR = before;
    }
  });

  it('makes ledgers in $SSCARD_SCENARIO_TMPDIR, else /dev/shm when there is room (Linux), else the temp folder', () => {
    const root = scratchRoot();
    expect(existsSync(root)).toBe(true);
    if (process.env.SSCARD_SCENARIO_TMPDIR) expect(root).toBe(process.env.SSCARD_SCENARIO_TMPDIR);
    else expect([tmpdir(), '/dev/shm']).toContain(root);
  });
});
