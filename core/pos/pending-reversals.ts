import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { HostError, type Host } from '../host/types.ts';

/**
 * Reversals of debits whose outcome the terminal never learnt (the host timed out, the card
 * was pulled while the host was being asked, or the till died while the debit was out). Each is
 * sent until the host either reverses the payment or says it never applied it; until then it
 * stays here, across restarts.
 *
 * Write-ahead: before an online debit leaves the till, its reversal is written here **armed**
 * (committed) with the writing process as its owner. The transaction that books the sale
 * deletes it; a definite answer from the host that nothing was applied deletes it; a lost
 * answer turns it into an ordinary **owed** reversal. An armed row whose owner process is gone
 * is a debit the till died with: `settleAll` reverses it (a host that never applied it answers
 * UNKNOWN_PAYMENT: `never-applied`, harmless). An armed row whose debit is still in flight — in
 * this process, or in another live till process on the same file — is left alone.
 */

/** The till process as it identifies itself in `owner`: host name, pid, start time, a nonce. */
interface Owner {
  host: string;
  pid: number;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  start: string;
  nonce: string;
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); a zombie is a process that can no longer do anything.
    if (fields[0] === 'Z') return 'zombie';
    return fields[19] ?? null;
  } catch {
    return null; // no such process, no /proc, or hidden from this user: process.kill decides
  }
}

const SELF: Owner = {
  host: hostname().replaceAll('|', '_'),
  pid: process.pid,
  start: startTimeOf(process.pid) ?? '-',
  nonce: randomBytes(6).toString('hex'),
};
const SELF_TOKEN = `${SELF.host}|${SELF.pid}|${SELF.start}|${SELF.nonce}`;

/** Payment ids of debits this process armed and has not finished with (sent, or about to be). */
const inFlight = new Set<string>();

function parseOwner(token: string | null): Owner | null {
  const parts = token?.split('|');
  if (!parts || parts.length !== 4) return null;
  const pid = Number(parts[1]);
  if (!Number.isSafeInteger(pid) || pid < 1) return null;
  return { host: parts[0]!, pid, start: parts[2]!, nonce: parts[3]! };
}

/**
 * Whether the till process that armed a debit may still be waiting for it. Unsure counts as
 * alive: a reversal left for later costs a delay, a reversal sent under a live debit could undo
 * a sale the till is booking.
 */
function ownerMayStillPay(token: string | null, paymentId: string): boolean {
  if (token === SELF_TOKEN) return inFlight.has(paymentId);
  const o = parseOwner(token);
  if (!o) return false; // no owner recorded: nobody can be waiting for it
  if (o.host !== SELF.host) return true; // another machine: its processes cannot be seen from here
  if (o.pid === process.pid) return false; // an earlier process that had this pid
  const start = startTimeOf(o.pid);
  if (start === 'zombie') return false;
  if (start !== null && o.start !== '-') return start === o.start; // else the pid was reused
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const DROP_ARMED = "DELETE FROM pending_host_reversals WHERE payment_id = ? AND state = 'armed'";

interface Row {
  reversal_id: string;
  payment_id: string;
  done_at: string | null;
  state: 'armed' | 'owed';
  owner: string | null;
}

export class PendingReversals {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** A prepared statement, prepared once per instance (the terminal keeps one instance). */
  private sql(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (!s) this.statements.set(text, (s = this.db.prepare(text)));
    return s;
  }

  /** This process's owner token, as written in the rows it arms. */
  static get owner(): string {
    return SELF_TOKEN;
  }

  /** The reversal id that undoes a payment id. */
  static reversalIdOf(paymentId: string): string {
    return `${paymentId}-R`;
  }

  /** Owes the reversal of a debit (an armed one of the same id becomes owed). */
  add(reversalId: string, paymentId: string, cardId: string, at: Date): void {
    this.sql(
      `INSERT INTO pending_host_reversals (reversal_id, payment_id, card_id, created_at)
       VALUES (?, ?, ?, ?)
       ON CONFLICT (reversal_id) DO UPDATE SET state = 'owed' WHERE state = 'armed'`,
    ).run(reversalId, paymentId, cardId, at.toISOString());
  }

  /**
   * Before an online debit leaves the till: writes (and commits, unless called inside a
   * transaction) that its reversal may be owed, owned by this process and marked in flight.
   * Throws when it cannot be written: the debit must not be sent then.
   */
  arm(paymentId: string, cardId: string, at: Date): void {
    inFlight.add(paymentId);
    try {
      this.sql(
        `INSERT INTO pending_host_reversals (reversal_id, payment_id, card_id, created_at, state, owner)
         VALUES (?, ?, ?, ?, 'armed', ?)`,
      ).run(PendingReversals.reversalIdOf(paymentId), paymentId, cardId, at.toISOString(), SELF_TOKEN);
    } catch (e) {
      inFlight.delete(paymentId);
      throw e;
    }
  }

  /** The sale is booked: drops its armed reversal. Runs inside the transaction that books it. */
  booked(paymentId: string): void {
    this.sql(DROP_ARMED).run(paymentId);
  }

  /**
   * The debit is over without a booking. `applied` false: the host answered that nothing was
   * applied (or nothing was sent), the armed reversal is dropped; true or unknown: it is owed.
   * The debit is no longer in flight either way.
   */
  settled(paymentId: string, applied: boolean | 'unknown'): void {
    try {
      if (applied === false) this.sql(DROP_ARMED).run(paymentId);
      else
        this.sql(
          "UPDATE pending_host_reversals SET state = 'owed' WHERE payment_id = ? AND state = 'armed'",
        ).run(paymentId);
    } finally {
      // Should the write fail, the armed row, no longer in flight, is settled by the next sync.
      inFlight.delete(paymentId);
    }
  }

  /** The debit's booking committed (booked() ran in it): it is no longer in flight. */
  landed(paymentId: string): void {
    inFlight.delete(paymentId);
  }

  /** Whether a debit of this process is in flight (armed, not finished). */
  static inFlight(paymentId: string): boolean {
    return inFlight.has(paymentId);
  }

  private row(reversalId: string): Row | undefined {
    return this.db
      .prepare<[string], Row>(
        'SELECT reversal_id, payment_id, done_at, state, owner FROM pending_host_reversals WHERE reversal_id = ?',
      )
      .get(reversalId);
  }

  /**
   * Tries one reversal now; true when it is settled with the host (reversed or never applied).
   * An armed one whose debit may still be paid (in flight here or in another live till process)
   * is not sent: false.
   */
  async settle(host: Host, reversalId: string, at: Date): Promise<boolean> {
    const row = this.row(reversalId);
    if (!row) return false;
    if (row.done_at) return true;
    if (row.state === 'armed' && ownerMayStillPay(row.owner, row.payment_id)) return false;
    let outcome: 'reversed' | 'never-applied';
    try {
      await host.reverse(reversalId, row.payment_id, at.toISOString());
      outcome = 'reversed';
    } catch (e) {
      if (e instanceof HostError && e.code === 'UNKNOWN_PAYMENT') outcome = 'never-applied';
      else {
        // An armed one of a till that is gone is owed from now on, whoever sends it.
        this.sql(
          `UPDATE pending_host_reversals SET attempts = attempts + 1, last_error = ?, state = 'owed'
           WHERE reversal_id = ?`,
        ).run(e instanceof Error ? e.message : String(e), reversalId);
        return false;
      }
    }
    this.sql(
      `UPDATE pending_host_reversals SET attempts = attempts + 1, done_at = ?, outcome = ?, state = 'owed'
       WHERE reversal_id = ?`,
    ).run(at.toISOString(), outcome, reversalId);
    return true;
  }

  /**
   * Sends every reversal still owed — armed ones left by a till process that is gone included —
   * and returns how many are settled now and how many remain owed. Debits still in flight (this
   * process's, or another live till's on the same file) are neither sent nor counted.
   */
  async settleAll(host: Host, at: Date): Promise<{ settled: number; pending: number }> {
    const rows = this.db
      .prepare<[], Row>(
        `SELECT reversal_id, payment_id, done_at, state, owner FROM pending_host_reversals
         WHERE done_at IS NULL ORDER BY created_at, reversal_id`,
      )
      .all();
    let settled = 0;
    let owed = 0;
    for (const r of rows) {
      if (r.state === 'armed' && ownerMayStillPay(r.owner, r.payment_id)) continue;
      owed++;
      if (await this.settle(host, r.reversal_id, at)) settled++;
    }
    return { settled, pending: owed - settled };
  }

  /** Armed reversals (debits in flight, or left by a till that died), for checks and tests. */
  armed(): { reversalId: string; paymentId: string; owner: string | null; inFlight: boolean }[] {
    return this.db
      .prepare<[], Row>(
        "SELECT reversal_id, payment_id, done_at, state, owner FROM pending_host_reversals WHERE state = 'armed'",
      )
      .all()
      .map((r) => ({
        reversalId: r.reversal_id,
        paymentId: r.payment_id,
        owner: r.owner,
        inFlight: ownerMayStillPay(r.owner, r.payment_id),
      }));
  }

  /** Payment ids the host applied and then reversed here, without the terminal ever booking them. */
  reversedUnbooked(): Set<string> {
    return new Set(
      this.db
        .prepare<[], string>("SELECT payment_id FROM pending_host_reversals WHERE outcome = 'reversed'")
        .pluck()
        .all(),
    );
  }
}
