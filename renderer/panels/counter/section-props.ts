import type { ResultOf } from '../../../core/api/contract.ts';
import type { Outcome } from './outcome.ts';

/**
 * What the shell gives every card section: the card chosen at the counter, where to put the
 * outcome, and how to move on to another card (a replacement, a new application).
 */

export type WalletEntry = ResultOf<'listCards'>[number];

export interface SectionProps {
  card: WalletEntry;
  setOutcome(o: Outcome | null): void;
  select(cardId: string): void;
}
