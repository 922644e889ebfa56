import { crashPoint } from '../../crash-points.ts';
import {
  CARRY_OVER_KEY,
  carryOverMove,
  carryOverTxnId,
  carryOverYears,
  type CarryOverResult,
} from '../rules/carry-over.ts';
import type { InProcessBooks } from './books.ts';

/**
 * The in-process host's 21 June carry-over (R4.2), inside the caller's write transaction: the
 * years due (rules/carry-over.ts) each move every card's 95000 balance into 95001 as ledger
 * postings, opening 95001 also for cards whose 95000 is empty.
 */
export function carryOverInTx(
  books: InProcessBooks,
  now: Date,
): { done: number; results: CarryOverResult[] } {
  const { s } = books;
  const stored = s.getMeta.get(CARRY_OVER_KEY);
  const { years, done, store } = carryOverYears(stored, now);
  const results = years.map((year) => carryOverYear(books, year));
  if (store) s.setMeta.run(CARRY_OVER_KEY, store.value);
  return { done, results };
}

function carryOverYear(books: InProcessBooks, year: number): CarryOverResult {
  const { ledger, s } = books;
  let cards = 0;
  let movedFen = 0;
  for (const a of s.medicalCurrentAccounts.all()) {
    const prior = ledger.openAccount(a.card_id, 'medical_prior');
    const txnId = carryOverTxnId(year, a.card_id);
    const fen = carryOverMove(a.balance_fen, a.balance_fen > 0 && ledger.journal({ txnId }).length > 0);
    if (fen === 0) continue;
    ledger.post({
      txnId,
      kind: 'carry-over',
      memo: `21 June ${year}: 95000 carried over into 95001`,
      lines: [
        { accountId: a.account_id, amountFen: -fen },
        { accountId: prior, amountFen: fen },
      ],
    });
    cards += 1;
    movedFen += fen;
    crashPoint('during-carry-over');
  }
  s.insertCarryOver.run(year, books.now(), cards, movedFen);
  return { year, cards, movedFen };
}
