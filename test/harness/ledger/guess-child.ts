/**
 * One process guessing at a card kept in a ledger file (core/ledger/card-store.concurrency.test.ts).
 *
 *   node --import tsx test/harness/ledger/guess-child.ts --db <file> --card <bundled id>
 *        --mode pin|key --guesses <M> --index <i>
 *
 * Opens the card store and the card, powers the card and selects SSSE, then tells the parent
 * (IPC) it is ready and waits for "go", so that every process has loaded the card's state
 * before any of them guesses: a card that decided on the state it loaded at open would let
 * each process spend the whole retry limit. Then it sends M wrong guesses — VERIFY with a wrong
 * PIN, or GET CHALLENGE + EXTERNAL AUTHENTICATE with a wrong cryptogram — and reports each
 * status word.
 */
import { parseArgs } from 'node:util';
import { openCardStore } from '../../../core/ledger/card-store.ts';
import { fromHex, toHex } from '../../../core/card/hex.ts';
import { bundled, SELECT_SSSE } from '../card/cards.ts';

export interface GuessReport {
  index: number;
  sws: string[];
}
export type GuessMessage = { type: 'ready' } | { type: 'report'; report: GuessReport };

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    card: { type: 'string' },
    mode: { type: 'string' },
    guesses: { type: 'string' },
    index: { type: 'string' },
  },
});
const { db, card: cardId, mode } = values;
const guesses = Number(values.guesses);
const index = Number(values.index);
if (!db || !cardId || (mode !== 'pin' && mode !== 'key') || !Number.isSafeInteger(guesses) || !process.send) {
  console.error(
    'usage: guess-child.ts --db <file> --card <id> --mode pin|key --guesses <M> --index <i> (forked with IPC)',
  );
  process.exit(64);
}
const send = (m: GuessMessage) => process.send!(m);

const store = openCardStore(db);
const card = store.open(bundled(cardId));
card.powerOn();
const tx = (hex: string) => toHex(card.transmit(fromHex(hex)));
if (tx(SELECT_SSSE).slice(-4) !== '9000') throw new Error('SELECT SSSE refused');

/** A wrong six-digit PIN per process and guess (never the card's own). */
function wrongPin(i: number): string {
  const own = bundled(cardId!).pin;
  for (let k = 0; ; k++) {
    const pin = String((index * 1000 + i * 10 + k) % 1_000_000).padStart(6, '9');
    if (pin !== own && pin !== '123456') return pin;
  }
}

function guess(i: number): string {
  if (mode === 'pin') return tx('0020000003' + wrongPin(i)).slice(-4);
  const challenge = tx('0084000008');
  if (challenge.slice(-4) !== '9000') return challenge.slice(-4);
  return tx('0082000A10' + '00'.repeat(16)).slice(-4);
}

process.on('message', (m: unknown) => {
  if (m !== 'go') return;
  const sws: string[] = [];
  for (let i = 0; i < guesses; i++) sws.push(guess(i));
  card.powerOff();
  store.close();
  send({ type: 'report', report: { index, sws } });
  process.disconnect();
});
send({ type: 'ready' });
