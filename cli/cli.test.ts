import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveCard } from '../core/card/wallet.ts';
import { cli } from './run-for-test.ts';

const SELECT = '00A404000F7378312E73682EC9E7BBE1B1A3D5CF';
const BIN = fileURLToPath(new URL('../bin/sscard.mjs', import.meta.url));

const tmp = () => mkdtempSync(join(tmpdir(), 'sscard-cli-'));

describe('sscard apdu', () => {
  it('prints each response as uppercase hex, data then SW, one line per APDU, in one session', async () => {
    const p = resolveCard('gen2').profile;
    const r = await cli('apdu', '--card', 'gen2', SELECT, '00c0000018', '00b2072c0b', '00200000');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('6118');
    expect(lines[1]).toMatch(/^6F16840F7378312E73682EC9E7BBE1B1A3D5CF[0-9A-F]+9000$/);
    expect(lines[2]).toBe('0709' + Buffer.from(p.card.number).toString('hex').toUpperCase() + '9000');
    expect(lines[3]).toBe('63C3');
  });
  it('accepts a fixture file path as well as a bundled id', async () => {
    const file = resolveCard('gen1').file;
    const r = await cli('apdu', '--card', file, '00A4040008A000000333010101');
    expect(r.out).toBe('6A82');
  });
  it('refuses a bad APDU before sending anything, naming which one and where', async () => {
    const r = await cli('apdu', '--card', 'gen2', SELECT, '00B2ZZ');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe("sscard: APDU 2 ('00B2ZZ'): not a hex digit 'Z' at position 5");
    const odd = await cli('apdu', '--card', 'gen2', '00A');
    expect(odd.err).toMatch(/APDU 1 \('00A'\): odd number of hex digits/);
  });
  it('a mistyped PIN command is reported without echoing the PIN', async () => {
    const r = await cli('apdu', '--card', 'gen3-active', '002000000325801G');
    expect(r.code).toBe(1);
    expect(r.err).not.toContain('258014');
    expect(r.err).toContain('position 16');
  });
  it('a malformed but hex APDU is the card’s business: it answers a status word', async () => {
    const r = await cli('apdu', '--card', 'gen2', '00', '00A4040002A0');
    expect(r.code).toBe(0);
    expect(r.out).toBe('6700\n6700');
  });
  it('a bad fixture file is reported with the file and the field', async () => {
    const dir = tmp();
    const profile = JSON.parse(readFileSync(resolveCard('gen2').file, 'utf8'));
    profile.holder.ssn = '440104197909230023';
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(profile));
    const r = await cli('apdu', '--card', join(dir, 'bad.json'), SELECT);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${join(dir, 'bad.json')}: holder.ssn: check character should be '2', not '3'`);
  });
  it('with --db a wrong PIN stays counted across runs, and the block survives', async () => {
    const db = join(tmp(), 'ledger.db');
    const wrong = ['apdu', '--card', 'gen3-active', '--db', db, SELECT, '0020000003111111'];
    expect((await cli(...wrong)).out.split('\n')[1]).toBe('63C2');
    expect((await cli(...wrong)).out.split('\n')[1]).toBe('63C1');
    expect((await cli(...wrong)).out.split('\n')[1]).toBe('63C0');
    const right = await cli('apdu', '--card', 'gen3-active', '--db', db, SELECT, '0020000003258014');
    expect(right.out.split('\n')[1]).toBe('6983');
    const other = await cli('apdu', '--card', 'gen3-active', SELECT, '0020000003258014');
    expect(other.out.split('\n')[1]).toBe('9000'); // without --db every run starts from the fixture
  });
  it('usage errors exit 64', async () => {
    expect((await cli('apdu', SELECT)).code).toBe(64);
    expect((await cli('apdu', '--card', 'gen2')).code).toBe(64);
    expect((await cli('frobnicate')).code).toBe(64);
    expect((await cli('apdu', '--bogus')).code).toBe(64);
  });
});

describe('sscard cards and read', () => {
  it('lists the bundled wallet, as text and as JSON', async () => {
    const text = await cli('cards');
    expect(text.out).toContain('gen3-initial-pin');
    expect(text.out).toContain('initial PIN');
    const json = JSON.parse((await cli('cards', '--json')).out);
    expect(json.map((c: { id: string }) => c.id)).toContain('gen3-hong-kong');
  });
  it('reads a card as a POS does, with --json', async () => {
    const r = await cli('read', '--card', 'gen3-hong-kong', '--json');
    expect(JSON.parse(r.out)).toMatchObject({ generation: 3, ssn: 'HKG012345678', name: '陳大文' });
  });
});

describe('the installed command', () => {
  it('bin/sscard.mjs runs as a program with the same output and exit codes', () => {
    const out = execFileSync(process.execPath, [BIN, 'apdu', '--card', 'gen1', SELECT, '00b2032c06'], {
      encoding: 'utf8',
    });
    expect(out).toBe('6118\n0304312E30309000\n');
    const bad = spawnSync(process.execPath, [BIN, 'apdu', '--card', 'nope', SELECT], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('no such card file');
  });
  it('demo reads every bundled card into the ledger file', () => {
    const db = join(tmp(), 'demo.db');
    const out = execFileSync(process.execPath, [BIN, 'demo', '--db', db], { encoding: 'utf8' });
    for (const { profile } of [resolveCard('gen1'), resolveCard('gen3-pin-blocked')])
      expect(out).toContain(profile.card.number);
    expect(out).toContain('blocked');
  });
});
