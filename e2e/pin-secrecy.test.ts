import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cli } from '../cli/run-for-test.ts';
import { createCore, toFailure, type Core } from '../core/api/create-core.ts';
import type { ArgsOf } from '../core/api/contract.ts';
import { openCardStore } from '../core/ledger/card-store.ts';
import { SCRYPT_PARAMS, verifySecret, type SecretHash } from '../core/card/pin.ts';
import { encodePinBcd } from '../core/card/codec.ts';
import { variant } from '../test/harness/card/cards.ts';
import { cardNumberCheckChar } from '../core/rules/card-number.ts';

/*
 * PIN secrecy (README "PINs are never stored or logged in clear"): realistic flows through
 * every front door — the sscard CLI, the typed Api, the scenario runner with --junit and
 * --trace, the conformance pack — with the right PINs and passwords of the bundled cards, PINs
 * set and changed at the counter, wrong PINs and badly shaped PINs. Then every captured output,
 * every file written and the SQLite ledger with its -wal and -shm are searched for each secret
 * typed: ASCII digits, BCD as hex text (either case), raw BCD bytes, UTF-16 (LE and BE), and
 * the ASCII digits as hex text.
 *
 * 123456, the initial PIN, is public (R1.4: every message about it names it), so it is not
 * searched for.
 *
 * Random material is blanked before searching, so a salt that happens to contain "258014" is
 * not a false alarm: the hex of a salted hash's `salt` and `hash`, the random tail of a payment
 * id, GET CHALLENGE answers and EXTERNAL AUTHENTICATE cryptograms, and the WAL's frame headers
 * (page number, salts, checksums). Everything else is searched byte for byte.
 */

const SELECT_SSSE = '00A404000F7378312E73682EC9E7BBE1B1A3D5CF';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every secret typed in these flows, with what it is (the initial PIN 123456 is public). */
const SECRETS: Record<string, string> = {
  '802317': 'gen1 PIN',
  '135790': 'gen2 PIN',
  '246810': 'gen2 transaction password',
  '258014': 'gen3-active PIN',
  '369258': 'gen3-active transaction password',
  '731904': 'gen3-pin-blocked PIN',
  '375168': 'gen3-hong-kong PIN',
  '290637': 'gen3-foreigner PIN',
  '864209': 'the new PIN of gen3-initial-pin, set at the counter',
  '975318': 'the PIN set at activation of a card issued at the counter',
  '586420': 'the financial password set at that activation',
  '519273': 'the PIN that card changes to at the counter',
  '604127': 'a wrong PIN',
  '917350': 'another wrong PIN',
};

interface Needle {
  secret: string;
  form: string;
  /** As latin1 text: one char per byte, so binary files are searched with the same code. */
  latin1: string;
  caseInsensitive?: boolean;
}

function needles(secret: string): Needle[] {
  const ascii = Buffer.from(secret, 'ascii');
  const utf16be = Buffer.from(secret, 'utf16le').swap16();
  return [
    { secret, form: 'ASCII digits (= BCD as hex text)', latin1: secret },
    { secret, form: 'raw BCD bytes', latin1: Buffer.from(encodePinBcd(secret)).toString('latin1') },
    { secret, form: 'UTF-16LE', latin1: Buffer.from(secret, 'utf16le').toString('latin1') },
    { secret, form: 'UTF-16BE', latin1: utf16be.toString('latin1') },
    { secret, form: 'ASCII as hex text', latin1: ascii.toString('hex'), caseInsensitive: true },
  ];
}

const ALL_NEEDLES = Object.keys(SECRETS).flatMap(needles);

/** Blanks random material (see the header comment) in latin1 text; same length out. */
function blankRandom(text: string): string {
  const blank = (s: string) => '#'.repeat(s.length);
  return (
    text
      // A salted hash as stored: {"alg":"scrypt",…,"salt":"<hex>","hash":"<hex>"}.
      .replace(
        /("(?:salt|hash)"\s*:\s*")([0-9a-f]+)(")/g,
        (_m, a: string, h: string, b: string) => a + blank(h) + b,
      )
      // A payment id's random tail: T0001-20261127-063341519-22e3b91f.
      .replace(/(T\d{4}-\d{8}-\d{9}-)([0-9a-f]{8})/g, (_m, a: string, h: string) => a + blank(h))
      // GET CHALLENGE (00 84) and its answer; EXTERNAL AUTHENTICATE (00 82) data.
      .replace(/(0084000008[^0-9A-Fa-f]{1,40})([0-9A-F]{16})/g, (_m, a: string, h: string) => a + blank(h))
      .replace(/(0082[0-9A-F]{6})([0-9A-F]+)/g, (_m, a: string, h: string) => a + blank(h))
  );
}

interface Finding {
  where: string;
  secret: string;
  what: string;
  form: string;
  context: string;
}

function search(where: string, latin1: string): Finding[] {
  const text = blankRandom(latin1);
  const lower = text.toLowerCase();
  const out: Finding[] = [];
  for (const n of ALL_NEEDLES) {
    const hay = n.caseInsensitive ? lower : text;
    const at = hay.indexOf(n.caseInsensitive ? n.latin1.toLowerCase() : n.latin1);
    if (at < 0) continue;
    out.push({
      where,
      secret: n.secret,
      what: SECRETS[n.secret]!,
      form: n.form,
      context: JSON.stringify(text.slice(Math.max(0, at - 60), at + n.latin1.length + 60)),
    });
  }
  return out;
}

/** The WAL without its header and frame headers: only the page images (the data) are kept. */
function walPages(buf: Buffer): Buffer {
  if (buf.length < 32) return buf;
  const pageSize = buf.readUInt32BE(8);
  const pages: Buffer[] = [];
  for (let off = 32; off + 24 + pageSize <= buf.length; off += 24 + pageSize) {
    pages.push(buf.subarray(off + 24, off + 24 + pageSize));
  }
  // Page images are searched one by one: a match across two frames would span a header.
  return Buffer.concat(pages.flatMap((p) => [p, Buffer.from('\n#SEP#\n')]));
}

function fileText(file: string): string {
  const buf = readFileSync(file);
  if (file.endsWith('-wal')) return walPages(buf).toString('latin1');
  // The wal-index header (136 bytes) holds counters, salts and checksums, no data.
  if (file.endsWith('-shm')) return buf.subarray(136).toString('latin1');
  return buf.toString('latin1');
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

function report(findings: Finding[]): string {
  return findings.map((f) => `${f.where}: ${f.what} (${f.secret}) as ${f.form}: …${f.context}…`).join('\n');
}

// ---- the flows ------------------------------------------------------------------------------

let dir: string;
let db: string;
/** Every text that left the program: CLI stdout/stderr, Api results, errors, events. */
const outputs: { where: string; text: string }[] = [];
/** Files searched while the Api still had the ledger open (its -wal and -shm exist then). */
const liveFiles: { where: string; text: string }[] = [];

async function sscard(...argv: string[]) {
  const r = await cli(...argv);
  const label = `sscard ${argv.map((a) => (a.length > 40 ? `${a.slice(0, 40)}…` : a)).join(' ')}`;
  outputs.push({ where: `${label} (stdout)`, text: r.out }, { where: `${label} (stderr)`, text: r.err });
  return r;
}

const FORM = JSON.parse(
  readFileSync(join(ROOT, 'fixtures/applications/adult-mainland.json'), 'utf8'),
) as Record<string, unknown>;

async function apiFlows(core: Core): Promise<string> {
  const events: unknown[] = [];
  const off = core.subscribe((e) => events.push(e));
  const call = async (m: string, args: unknown) => {
    try {
      const r = await core.call(m, args);
      outputs.push({ where: `api ${m}`, text: JSON.stringify(r) });
      return r as Record<string, unknown>;
    } catch (e) {
      outputs.push({ where: `api ${m} (error)`, text: JSON.stringify(toFailure(e)) + String(e) });
      return null;
    }
  };
  const pay = async (cardId: string, amountFen: number, pin: string, method = 'medical') => {
    await call('insertCard', { cardId });
    await call('enterAmount', { amountFen, method });
    const r = await call('enterPin', { pin });
    await call('removeCard', {});
    return r;
  };
  // The till: right and wrong PINs, a password, a bad-format PIN, the reserve account.
  await pay('gen3-hong-kong', 300, '604127');
  await pay('gen3-hong-kong', 300, '375168');
  await pay('gen3-foreigner', 450, '290637');
  await pay('gen2', 500, '246810');
  await pay('gen3-active', 700, '369258', 'reserve');
  await call('insertCard', { cardId: 'gen3-foreigner' });
  await call('enterAmount', { amountFen: 100, method: 'medical' });
  await call('enterPin', { pin: '2906370' }); // seven digits: refused by the PIN pad's schema
  await call('enterPin', { pin: '290637;' });
  await call('cancel', {});
  await call('removeCard', {});
  // Brute force through the Api: the card's counter stops it.
  for (let i = 0; i < 3; i++) await pay('gen3-foreigner', 100, '917350');
  const afterBlock = await pay('gen3-foreigner', 100, '290637');
  // The counter: unblock, change, and a card issued, activated and changed here.
  await call('counterUnblock', { cardId: 'gen3-foreigner' });
  await call('counterChangePin', { cardId: 'gen3-foreigner', oldPin: '917350', newPin: '604127' });
  await call('counterChangePin', { cardId: 'gen3-foreigner', oldPin: '290637', newPin: '123456' });
  await call('counterChangePin', { cardId: 'gen3-foreigner', oldPin: '290637x', newPin: '2906377' });
  const photo = readFileSync(join(ROOT, 'fixtures/applications/photo-358x441.jpg')).toString('base64');
  const { photoFile: _p, ...form } = FORM;
  const applied = await call('counterApply', {
    ...(form as ArgsOf<'counterApply'>),
    photoJpegBase64: photo,
    mode: 'instant',
  });
  const walletId = String(applied?.walletId);
  await call('counterPrintInstant', { cardId: walletId });
  await call('counterAdvance', { cardId: walletId, event: 'VERIFY_NORMAL_STATE' });
  await call('counterActivate', { cardId: walletId, newPin: '975318', financialPassword: '586420' });
  await pay(walletId, 200, '975318');
  await call('counterChangePin', { cardId: walletId, oldPin: '975318', newPin: '519273' });
  await pay(walletId, 200, '519273');
  await pay(walletId, 200, '586420', 'reserve');
  // Refund, and every export: the trace, the books, the receipts, the wallet.
  const payments = (await call('payments', { limit: 500 })) as unknown as { paymentId: string }[] | null;
  if (payments?.[0]) await call('refund', { paymentId: payments[0].paymentId, amountFen: 100 });
  for (const p of payments ?? []) await call('payment', { paymentId: p.paymentId });
  for (const [m, a] of [
    ['trace', {}],
    ['exportTrace', {}],
    ['terminalJournal', { limit: 10_000 }],
    ['hostJournal', { limit: 10_000 }],
    ['forwardQueue', {}],
    ['settlement', {}],
    ['reconcile', {}],
    ['closeDay', {}],
    ['listCards', {}],
    ['tillState', {}],
    ['counterHistory', { cardId: walletId }],
    ['counterHistory', { cardId: 'gen3-foreigner' }],
  ] as const)
    await call(m, a);
  off();
  outputs.push({ where: 'api events', text: JSON.stringify(events) });
  return JSON.stringify(afterBlock);
}

const SCENARIO_PASS = `name: pays, changes the PIN at the counter, pays again
card: gen3-initial-pin
steps:
  - insert
  - amount: "3.00"
  - pin: "917350"
  - remove
  - counter: { action: change-pin, old: "123456", new: "864209" }
  - insert
  - amount: "3.00"
  - pin: "864209"
  - expect: { result: paid }
`;

const SCENARIO_FAIL = `name: a failing expectation after the PIN steps (its log goes to the report)
card: gen3-active
steps:
  - insert
  - amount: "1.00"
  - pin: "604127"
  - pin: "258014"
  - expect: { result: paid, balances: { medicalCurrent: "0.01" } }
  - counter: { action: change-pin, old: "258014", new: "917350" }
  - insert
  - amount: "1.00"
  - password: "369258"
`;

const SCENARIO_BAD = `name: a PIN typed in the wrong shape
card: gen3-active
steps:
  - insert
  - amount: "1.00"
  - pin: "258014x"
  - counter: { action: change-pin, old: 258014, new: "2580149" }
`;

describe('PIN secrecy', () => {
  let apiAfterBlock = '';
  const logs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sscard-pin-secrecy-'));
    db = join(dir, 'ledger.db');
    // Anything written to this process's stdout/stderr or the console is a log too.
    const capture =
      (orig: (...a: never[]) => unknown) =>
      (...a: unknown[]) => {
        logs.push(
          a
            .map((x) => (typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('latin1') : String(x)))
            .join(' '),
        );
        return (orig as (...b: unknown[]) => unknown)(...a);
      };
    for (const stream of [process.stdout, process.stderr]) {
      const orig = stream.write.bind(stream);
      vi.spyOn(stream, 'write').mockImplementation(capture(orig as never) as never);
    }
    for (const k of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const orig = console[k].bind(console);
      vi.spyOn(console, k).mockImplementation(capture(orig as never) as never);
    }

    // ---- the CLI ----
    await sscard('read', '--card', 'gen3-active', '--db', db);
    await sscard('pay', '--card', 'gen3-active', '--amount', '12.50', '--pin', '258014', '--db', db);
    await sscard('pay', '--card', 'gen3-active', '--amount', '1.00', '--pin', '604127', '--db', db, '--json');
    await sscard(
      'pay',
      '--card',
      'gen3-active',
      '--amount',
      '2.00',
      '--pin',
      '369258',
      '--method',
      'reserve',
      '--db',
      db,
    );
    await sscard(
      'pay',
      '--card',
      'gen3-active',
      '--amount',
      '2.00',
      '--pin',
      '258014',
      '--host',
      'down',
      '--db',
      db,
      '--json',
    );
    await sscard('pay', '--card', 'gen3-active', '--amount', '2.00', '--pin', '258014x', '--db', db);
    await sscard('pay', '--card', 'gen2', '--amount', '3.00', '--pin', '246810', '--db', db, '--json');
    await sscard('pay', '--card', 'gen2', '--amount', '3.00', '--pin', '135790', '--db', db);
    await sscard('pay', '--card', 'gen1', '--amount', '3.00', '--pin', '802317', '--db', db);
    await sscard('pay', '--card', 'gen3-pin-blocked', '--amount', '3.00', '--pin', '731904', '--db', db);
    await sscard('counter', 'unblock', '--card', 'gen3-pin-blocked', '--db', db, '--json');
    await sscard('pay', '--card', 'gen3-pin-blocked', '--amount', '3.00', '--pin', '731904', '--db', db);
    await sscard(
      'counter',
      'change-pin',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--old',
      '917350',
      '--new',
      '864209',
    );
    await sscard(
      'counter',
      'change-pin',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--old',
      '123456',
      '--new',
      '864209',
      '--json',
    );
    await sscard(
      'counter',
      'change-pin',
      '--card',
      'gen3-initial-pin',
      '--db',
      db,
      '--old',
      '864209',
      '--new',
      '86420x',
    );
    await sscard('pay', '--card', 'gen3-initial-pin', '--amount', '3.00', '--pin', '864209', '--db', db);
    // APDUs: VERIFY with the right and wrong PINs, and a mistyped VERIFY (not valid hex).
    await sscard(
      'apdu',
      '--card',
      'gen3-hong-kong',
      '--db',
      db,
      '00A404000F7378312E73682EC9E7BBE1B1A3D5CF',
      '0020000003604127',
      '0020000003375168',
    );
    await sscard('apdu', '--card', 'gen3-hong-kong', '--db', db, '0020000003375168Z');
    await sscard('apdu', '--card', 'gen3-hong-kong', '--db', db, '00 20 00 00 03 37 51 6G');
    // Conformance with the PIN checks, both outputs.
    await sscard('conformance', '--card', 'gen3-active', '--pin', '258014', '--pin-checks');
    await sscard('conformance', '--card', 'gen3-hong-kong', '--pin', '375168', '--pin-checks', '--json');
    await sscard('conformance', '--card', 'gen3-hong-kong', '--pin', '37516x', '--pin-checks');
    await sscard('settle', '--db', db, '--json');
    await sscard('sync', '--db', db);
    await sscard('reconcile', '--db', db);
    // Scenarios with --junit and --trace: the shipped PIN scenarios and three of ours.
    const mine = join(dir, 'scenarios');
    mkdirSync(mine);
    writeFileSync(join(mine, 'pass.yaml'), SCENARIO_PASS);
    writeFileSync(join(mine, 'fail.yaml'), SCENARIO_FAIL);
    writeFileSync(join(mine, 'bad.yaml'), SCENARIO_BAD);
    await sscard(
      'run',
      join(ROOT, 'fixtures/scenarios/pin'),
      join(ROOT, 'fixtures/scenarios/r1-generations'),
      mine,
      '--junit',
      join(dir, 'report.xml'),
      '--trace',
      join(dir, 'traces'),
      '--jobs',
      '2',
    );

    // ---- the Api, on the same ledger ----
    const core = await createCore({ dbPath: db, hostTimeoutMs: 1500 });
    try {
      apiAfterBlock = await apiFlows(core);
      // The -wal and -shm exist while the ledger is open: search them now.
      for (const f of [`${db}-wal`, `${db}-shm`, db])
        if (existsSync(f)) liveFiles.push({ where: `${f} (ledger open)`, text: fileText(f) });
    } finally {
      await core.close();
    }
    vi.restoreAllMocks();
  }, 240_000);

  afterAll(() => vi.restoreAllMocks());

  it('the flows ran: payments approved, a junit report and traces written, the ledger has the cards', () => {
    const approved = outputs.filter((o) => o.where.startsWith('sscard pay') && o.text.includes('交易成功'));
    // Six of the CLI payments are approved (the others are wrong PINs, gen 1, blocked, bad shape).
    expect(approved).toHaveLength(6);
    expect(readFileSync(join(dir, 'report.xml'), 'utf8')).toContain('<testsuites');
    const traces = filesUnder(join(dir, 'traces'));
    expect(traces.length).toBeGreaterThan(10);
    const trace = traces.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(trace).toMatch(/> 0020000003\*{6}/); // a VERIFY, masked
    const conn = new Database(db, { readonly: true });
    try {
      // The seven bundled cards used and the one issued at the counter.
      expect((conn.prepare('SELECT count(*) AS n FROM card_security').get() as { n: number }).n).toBe(8);
    } finally {
      conn.close();
    }
  });

  it('no PIN or password in any output, file, trace, report, receipt, export, log or in the ledger (with -wal/-shm)', () => {
    const findings: Finding[] = [];
    for (const o of outputs)
      findings.push(...search(o.where, Buffer.from(o.text, 'utf8').toString('latin1')));
    findings.push(
      ...search('process stdout/stderr/console', Buffer.from(logs.join('\n'), 'utf8').toString('latin1')),
    );
    for (const f of liveFiles) findings.push(...search(f.where, f.text));
    const files = filesUnder(dir).filter((f) => !f.startsWith(join(dir, 'scenarios')));
    expect(files).toContain(db);
    expect(files.some((f) => f.endsWith('report.xml'))).toBe(true);
    for (const f of files) findings.push(...search(f, fileText(f)));
    expect(report(findings)).toBe('');
  });

  it('R1.3: brute force is stopped by the card counter: three wrong PINs block it (6983), then the right PIN is refused', async () => {
    const d = join(mkdtempSync(join(tmpdir(), 'sscard-brute-')), 'ledger.db');
    // One session per try (the counter lives in the ledger, not in the session).
    const verify = async (pin: string) =>
      (
        await sscard('apdu', '--card', 'gen3-hong-kong', '--db', d, SELECT_SSSE, `0020000003${pin}`)
      ).out.split('\n')[1];
    expect(await verify('604127')).toBe('63C2');
    expect(await verify('917350')).toBe('63C1');
    expect(await verify('604127')).toBe('63C0'); // the third: no tries left
    expect(await verify('375168')).toBe('6983'); // blocked: the right PIN is refused
    expect(await verify('917350')).toBe('6983');
    const pay = await sscard(
      'pay',
      '--card',
      'gen3-hong-kong',
      '--amount',
      '1.00',
      '--pin',
      '375168',
      '--db',
      d,
    );
    expect(pay.code).toBe(2);
    expect(pay.out).toContain('锁定');
    // Through the Api as well (the foreigner's card above): the fourth, right, PIN was refused.
    expect(apiAfterBlock).toContain('PIN_BLOCKED');
  });

  it('PINs and passwords are salted scrypt hashes at rest: the same PIN on two cards gives two hashes', () => {
    const d = join(mkdtempSync(join(tmpdir(), 'sscard-salt-')), 'ledger.db');
    const a = variant('gen3-active', () => {});
    const b = variant('gen3-active', (p) => {
      p.id = 'gen3-active-twin';
      p.card.number = 'C4401009' + cardNumberCheckChar('C4401009');
    });
    expect(b.card.number).not.toBe(a.card.number);
    expect(b.pin).toBe(a.pin);
    const store = openCardStore(d);
    try {
      store.open(a);
      store.open(b);
      const rows = store.db
        .prepare(
          'SELECT s.card_id, s.pin_hash, b.password_hash FROM card_security s JOIN bank_secrets b USING (card_id)',
        )
        .all() as { card_id: string; pin_hash: string; password_hash: string }[];
      expect(rows).toHaveLength(2);
      const hashes = rows.flatMap(
        (r) => [JSON.parse(r.pin_hash), JSON.parse(r.password_hash)] as SecretHash[],
      );
      for (const h of hashes) {
        // Slow: scrypt with at least the documented cost; salted: 16 random bytes each.
        expect(h.alg).toBe('scrypt');
        expect(h.n).toBeGreaterThanOrEqual(SCRYPT_PARAMS.n);
        expect(h.n * h.r).toBeGreaterThanOrEqual(16384 * 8);
        expect(h.salt).toMatch(/^[0-9a-f]{32}$/);
        expect(h.hash).toMatch(/^[0-9a-f]{64}$/);
      }
      const [pa, pb] = rows.map((r) => JSON.parse(r.pin_hash) as SecretHash);
      expect(pa!.salt).not.toBe(pb!.salt);
      expect(pa!.hash).not.toBe(pb!.hash);
      const [wa, wb] = rows.map((r) => JSON.parse(r.password_hash) as SecretHash);
      expect(wa!.hash).not.toBe(wb!.hash);
      // They verify the PIN they came from, and nothing else.
      expect(verifySecret(pa!, a.pin)).toBe(true);
      expect(verifySecret(pb!, a.pin)).toBe(true);
      expect(verifySecret(pa!, '604127')).toBe(false);
    } finally {
      store.close();
    }
  });
});
