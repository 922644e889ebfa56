import { invalid } from '../request-checks.ts';
import { HostError } from '../types.ts';

/**
 * The bank's gen 2/3 transaction password (R1.2) as both hosts check it: which cards may be
 * asked, when the password is locked, and how many tries are left. The hosts keep the hash and
 * the failure counter in their own tables and run scrypt themselves.
 */

/** Refuses a card that has no transaction password to check. */
export function refusedPasswordCard(card: { cardId: string; generation: 1 | 2 | 3; status: string }): void {
  if (card.generation === 1) {
    throw invalid(
      `card ${card.cardId} is a gen 1 card: it has no financial account and no transaction password (R1.1)`,
    );
  }
  if (card.status !== 'active')
    throw new HostError('CARD_NOT_USABLE', `card ${card.cardId} is ${card.status}`);
}

export function noPasswordError(cardId: string): HostError {
  return invalid(`card ${cardId} has no transaction password at the bank`);
}

export function passwordLockedError(cardId: string, retryLimit: number): HostError {
  return new HostError(
    'PASSWORD_LOCKED',
    `transaction password of card ${cardId} is locked after ${retryLimit} wrong tries; ` +
      'reset it at the bank counter',
    0,
  );
}

/** Whether the password is locked before it is even tried. */
export function passwordLocked(failures: number, retryLimit: number): boolean {
  return failures >= retryLimit;
}

/** The refusal after a wrong password, given the failures counted now: locked or tries left. */
export function wrongPasswordError(cardId: string, failures: number, retryLimit: number): HostError {
  const triesLeft = Math.max(retryLimit - failures, 0);
  if (triesLeft === 0) return passwordLockedError(cardId, retryLimit);
  return new HostError(
    'WRONG_PASSWORD',
    `wrong transaction password for card ${cardId}: ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left`,
    triesLeft,
  );
}
