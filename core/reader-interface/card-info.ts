import { RC } from './codes.ts';
import { failWith, type OpenedCard } from './card-access.ts';

/**
 * pCardInfo, as the PIN and debit functions take it: the card's basic information as the
 * caller got it from iReadCardBas (or its HSM Step 2). Checked against the card in the reader:
 * the card identification code (field 4) must be the card's; the card number (field 3) too
 * when the caller has it (a plain gen 3 read leaves it empty). -22 when they differ.
 */
export function checkCardInfo(pCardInfo: string, card: OpenedCard): void {
  const f = pCardInfo.split('|');
  if (f.length < 5)
    failWith(
      RC.BAD_PARAMETER,
      'pCardInfo must be the output of iReadCardBas: at least 4 fields each followed by "|"',
    );
  const [, , cardNumber, cardId] = f as [string, string, string, string];
  if (!/^[0-9]{6}D156000005[0-9A-F]{16}$/i.test(cardId))
    failWith(
      RC.CARD_ID_FORMAT,
      `pCardInfo field 4 ("${cardId.slice(0, 40)}") is not a card identification code`,
    );
  if (cardId.toUpperCase() !== card.cardId)
    failWith(RC.CARD_MISMATCH, 'pCardInfo is not the card in the reader (card identification code differs)');
  if (cardNumber !== '' && cardNumber !== card.cardNumber)
    failWith(RC.CARD_MISMATCH, 'pCardInfo is not the card in the reader (card number differs)');
}
