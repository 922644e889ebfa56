/**
 * The central host's longer statements, each one round trip: the locks taken before a payment
 * is decided, the reads under them, and the one statement that writes decided records. Kept
 * apart from the code that runs them so the locking order can be read in one place.
 */

/** The host_records columns a HostRecordRow is read from. */
export const RECORD_COLUMNS = `payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status,
  method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
  created_at, business_date, applied_at`;

/**
 * Applies records, one or many, in one statement: $1–$18 the records (one array per column,
 * inserted in array order so that seq follows it), $19–$25 their legs, $26–$30 the balanced
 * postings, $31–$32 the card balance deltas (one per account, summed over the records).
 */
export const APPLY_SQL = `
WITH rec AS (
  INSERT INTO host_records (payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status,
    method, amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
    created_at, business_date, applied_at)
  SELECT r.payment_id, r.kind, r.ref_payment_id, r.mode, r.terminal_id, r.merchant_id, r.card_id, r.card_status,
    r.method, r.amount_fen, r.medical_current_fen, r.medical_prior_fen, r.reserve_fen, r.self_pay_fen,
    r.advanced_fen, r.created_at, r.business_date, r.applied_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
              $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
              $16::text[], $17::text[], $18::text[]) WITH ORDINALITY
    AS r (payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status, method,
          amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
          created_at, business_date, applied_at, ord)
  ORDER BY r.ord),
legs AS (
  INSERT INTO host_legs (payment_id, leg, part, account_id, advanced, amount_fen, ref_leg)
  SELECT l.payment_id, l.leg, l.part, l.account_id, l.advanced, l.amount_fen, l.ref_leg
  FROM unnest($19::text[], $20::smallint[], $21::text[], $22::bigint[], $23::boolean[], $24::bigint[], $25::smallint[])
    AS l (payment_id, leg, part, account_id, advanced, amount_fen, ref_leg)),
post AS (
  INSERT INTO host_postings (txn_id, line, kind, account_id, amount_fen, posted_at)
  SELECT p.txn_id, p.line, p.kind, p.account_id, p.amount_fen, now()
  FROM unnest($26::text[], $27::smallint[], $28::text[], $29::bigint[], $30::bigint[])
    AS p (txn_id, line, kind, account_id, amount_fen)),
bal AS (
  UPDATE host_accounts a SET balance_fen = a.balance_fen + d.delta
  FROM unnest($31::bigint[], $32::bigint[]) AS d (account_id, delta)
  WHERE a.account_id = d.account_id
  RETURNING a.account_id)
SELECT (SELECT count(*) FROM bal) AS updated`;

/**
 * A tombstone (migration 3), and whether its reversal id is already taken by another record
 * (then the voided payment cannot be applied and reversed under it).
 */
export const VOIDED_SELECT = `SELECT v.payment_id, v.reversal_id, v.reversed_at,
         EXISTS (SELECT 1 FROM host_records t WHERE t.payment_id = v.reversal_id) AS reversal_taken
  FROM host_voided_payments v`;

/** The advisory lock class (first key) of the payment-id locks; see PgHost. */
export const VOID_LOCK = 0x5653_4944; // 'VSID'

/**
 * Locks a card's row for a payment, with the shared lock on the payment id taken first: a
 * MATERIALIZED CTE is evaluated once, when the join first needs it, before LockRows above the
 * join locks any row.
 */
export const LOCK_CARD_FOR_PAYMENT_SQL = `
WITH id_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${VOID_LOCK}, hashtext($2)))
SELECT card_id, generation, status, password_hash, password_failures
FROM host_cards, id_lock
WHERE card_id = $1 FOR UPDATE OF host_cards`;

/**
 * Locks the cards of a batch in card_id order, with the shared locks on all its payment ids
 * taken first (once, before any row lock, as above).
 */
export const LOCK_CARDS_FOR_BATCH_SQL = `
WITH id_locks AS MATERIALIZED (
  SELECT count(pg_advisory_xact_lock_shared(${VOID_LOCK}, h)) AS n
  FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest($2::text[]) AS x) ids)
SELECT card_id, generation, status, password_hash, password_failures
FROM host_cards, id_locks
WHERE card_id = ANY($1::text[]) ORDER BY card_id FOR UPDATE OF host_cards`;

/**
 * After the cards' rows are locked (a separate, earlier statement: in READ COMMITTED a
 * statement reads the data committed when it starts), in one read: the records of these ids
 * (replays) and the accounts of these cards.
 */
export const READ_FOR_BATCH_SQL = `
SELECT COALESCE((SELECT json_agg(r) FROM (
          SELECT payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status, method,
                 amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
                 created_at, business_date, applied_at
          FROM host_records WHERE payment_id = ANY($2::text[])) r), '[]'::json) AS existing,
       COALESCE((SELECT json_agg(json_build_object('card_id', card_id, 'account_id', account_id, 'kind', kind,
                                                   'balance_fen', balance_fen))
                 FROM host_accounts WHERE card_id = ANY($1::text[])), '[]'::json) AS accounts,
       COALESCE((SELECT json_agg(v) FROM (${VOIDED_SELECT} WHERE v.payment_id = ANY($2::text[])) v),
                '[]'::json) AS voided`;

/** After the card row is locked: the record of this id (a replay) and the card's accounts, in one read. */
export const READ_FOR_PAYMENT_SQL = `
SELECT (SELECT row_to_json(r) FROM (
          SELECT payment_id, kind, ref_payment_id, mode, terminal_id, merchant_id, card_id, card_status, method,
                 amount_fen, medical_current_fen, medical_prior_fen, reserve_fen, self_pay_fen, advanced_fen,
                 created_at, business_date, applied_at
          FROM host_records WHERE payment_id = $2) r) AS existing,
       COALESCE((SELECT json_agg(json_build_object('account_id', account_id, 'kind', kind, 'balance_fen', balance_fen))
                 FROM host_accounts WHERE card_id = $1), '[]'::json) AS accounts,
       (SELECT row_to_json(v) FROM (${VOIDED_SELECT} WHERE v.payment_id = $2) v) AS voided`;
