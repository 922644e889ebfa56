import { scrypt, timingSafeEqual } from 'node:crypto';
import type { SecretHash } from '../../../card/pin.ts';
import { invalid, requireText } from '../../request-checks.ts';
import { ADVANCED_BY, type AccountPart } from '../../rules/legs.ts';
import {
  noPasswordError,
  passwordLocked,
  passwordLockedError,
  refusedPasswordCard,
  wrongPasswordError,
} from '../../rules/password.ts';
import { HostError, type HostBalances, type PasswordCheck } from '../../types.ts';
import { accountsOf, balancesOf, type CardRow, type CardStatus, type PgBooks } from './books.ts';
import type { CardRegistration, RegistrationResult } from './public-types.ts';
import { post } from './writes.ts';

/**
 * The central host's cards: registration by the terminals (the first one funds the accounts),
 * the bank's transaction password with its failure counter, and card status and balances.
 */

/**
 * Registers a card. The first registration creates it and funds its accounts with the
 * opening balances; a later one (another terminal, a restart) changes nothing and answers
 * with the balances the host holds now.
 */
export function registerCard(books: PgBooks, reg: CardRegistration): Promise<RegistrationResult> {
  return books.tx(async (c) => {
    const at = books.now();
    const inserted = await c.query(
      `INSERT INTO host_cards (card_id, generation, status, password_hash, registered_by, registered_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (card_id) DO NOTHING RETURNING card_id`,
      [
        reg.cardId,
        reg.generation,
        reg.status,
        reg.passwordHash === null ? null : JSON.stringify(reg.passwordHash),
        reg.terminalId,
        at,
      ],
    );
    const created = (inserted.rowCount ?? 0) > 0;
    if (created) {
      const opening: [AccountPart, number | null][] = [
        ['reserve', reg.opening.reserve],
        ['medical_current', reg.opening.medicalCurrent],
        ['medical_prior', reg.opening.medicalPrior],
      ];
      for (const [kind, fen] of opening) {
        if (fen === null) continue;
        const a = await c.query<{ account_id: number }>(
          `INSERT INTO host_accounts (card_id, kind, balance_fen, opened_at) VALUES ($1, $2, $3, $4)
           RETURNING account_id`,
          [reg.cardId, kind, fen, at],
        );
        if (fen > 0) {
          await post(c, `opening:${reg.cardId}:${kind}`, 'funding', [
            [books.system(ADVANCED_BY[kind]), -fen],
            [a.rows[0]!.account_id, fen],
          ]);
        }
      }
    }
    return { created, balances: balancesOf(await accountsOf(c, reg.cardId)) };
  });
}

/** Checks a password against its salted scrypt hash without blocking the event loop. */
function verifyHash(h: SecretHash, secret: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const expected = Buffer.from(h.hash, 'hex');
    scrypt(
      secret,
      Buffer.from(h.salt, 'hex'),
      expected.length,
      { N: h.n, r: h.r, p: h.p, maxmem: 256 * 1024 * 1024 },
      (err, actual) => (err ? reject(err) : resolve(timingSafeEqual(expected, actual))),
    );
  });
}

export async function verifyPassword(
  books: PgBooks,
  cardId: string,
  password: string,
): Promise<PasswordCheck> {
  const { pool, passwordRetryLimit } = books;
  const id = requireText(cardId, 'cardId');
  if (typeof password !== 'string') throw invalid('password must be a string');
  const card = (
    await pool.query<CardRow>(
      'SELECT card_id, generation, status, password_hash, password_failures FROM host_cards WHERE card_id = $1',
      [id],
    )
  ).rows[0];
  if (!card) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
  refusedPasswordCard({ cardId: card.card_id, generation: card.generation, status: card.status });
  if (!card.password_hash) throw noPasswordError(card.card_id);
  if (passwordLocked(card.password_failures, passwordRetryLimit)) {
    throw passwordLockedError(card.card_id, passwordRetryLimit);
  }
  // scrypt runs outside any transaction; the counter update below is one atomic statement.
  if (await verifyHash(card.password_hash, password)) {
    await pool.query(
      'UPDATE host_cards SET password_failures = 0 WHERE card_id = $1 AND password_failures <> 0',
      [card.card_id],
    );
    return { ok: true };
  }
  const failures =
    (
      await pool.query<{ password_failures: number }>(
        'UPDATE host_cards SET password_failures = password_failures + 1 WHERE card_id = $1 RETURNING password_failures',
        [card.card_id],
      )
    ).rows[0]?.password_failures ?? 0;
  throw wrongPasswordError(card.card_id, failures, passwordRetryLimit);
}

export async function cardStatus(books: PgBooks, cardId: string): Promise<CardStatus> {
  const id = requireText(cardId, 'cardId');
  const r = await books.pool.query<{ status: CardStatus }>(
    'SELECT status FROM host_cards WHERE card_id = $1',
    [id],
  );
  const row = r.rows[0];
  if (!row) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
  return row.status;
}

export async function balances(books: PgBooks, cardId: string): Promise<HostBalances> {
  const id = requireText(cardId, 'cardId');
  const known = await books.pool.query('SELECT 1 FROM host_cards WHERE card_id = $1', [id]);
  if (known.rowCount === 0) throw new HostError('UNKNOWN_CARD', `no card ${id} at the host`);
  return balancesOf(await accountsOf(books.pool, id));
}
