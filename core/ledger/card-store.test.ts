import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCardStore } from './card-store.ts';
import { bundled } from '../../test/harness/card/cards.ts';
import { fromHex, toHex } from '../card/hex.ts';
import type { SocialSecurityCard } from '../card/social-security-card.ts';

const SELECT = fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'sscard-store-')), 'ledger.db');

function verify(c: SocialSecurityCard, pin: string): string {
  c.powerOn();
  c.transmit(SELECT);
  return toHex(c.transmit(fromHex('0020000003' + pin)));
}

describe('cards bound to the ledger', () => {
  it('PIN counters persist across closing and reopening the database; a block survives', () => {
    const file = dbFile();
    const p = bundled('gen3-active');
    let store = openCardStore(file);
    expect(verify(store.open(p), '111111')).toBe('63C2');
    expect(verify(store.open(p), '111111')).toBe('63C1');
    store.close();
    store = openCardStore(file);
    expect(store.security(p.card.number).pinTriesLeft).toBe(1);
    expect(verify(store.open(p), '111111')).toBe('63C0');
    store.close();
    store = openCardStore(file);
    expect(verify(store.open(p), p.pin)).toBe('6983');
    store.close();
  });

  it('a changed PIN survives reopening: the card object is rebuilt from the ledger, not the fixture', () => {
    const file = dbFile();
    const p = bundled('gen3-initial-pin');
    let store = openCardStore(file);
    const c = store.open(p);
    c.powerOn();
    c.transmit(SELECT);
    expect(toHex(c.transmit(fromHex('805E010007123456FF864209')))).toBe('9000');
    store.close();
    store = openCardStore(file);
    expect(store.security(p.card.number).pinInitial).toBe(false);
    expect(verify(store.open(p), '864209')).toBe('9000');
    expect(verify(store.open(p), '123456')).toBe('63C2');
    store.close();
  });

  it('imports opening balances once (R4.1: 95000 exists only when funded) and keeps a changed status', () => {
    const file = dbFile();
    const store = openCardStore(file);
    const gen2 = bundled('gen2');
    const initial = bundled('gen3-initial-pin');
    store.open(gen2);
    store.open(gen2);
    store.open(initial);
    expect(store.balances(gen2.card.number)).toEqual({
      reserve: 500000,
      medicalCurrent: 128000,
      medicalPrior: 35000,
    });
    expect(store.balances(initial.card.number)).toEqual({
      reserve: 100000,
      medicalCurrent: 50000,
      medicalPrior: null,
    });
    store.ledger.setCardStatus(gen2.card.number, 'loss-reported');
    store.open(gen2);
    expect(store.ledger.getCard(gen2.card.number)!.status).toBe('loss-reported');
    expect(store.ledger.checkConsistency()).toEqual([]);
    store.close();
  });

  it('never writes a PIN or transaction password in clear to the database file', () => {
    const file = dbFile();
    const store = openCardStore(file);
    const p = bundled('gen2');
    verify(store.open(p), '135790');
    store.close();
    const bytes =
      readFileSync(file).toString('latin1') + readFileSync(file + '-wal', { flag: 'a+' }).toString('latin1');
    expect(bytes).not.toContain(p.pin);
    expect(bytes).not.toContain(p.transactionPassword!);
    expect(bytes).not.toContain('"pin"');
  });
});
