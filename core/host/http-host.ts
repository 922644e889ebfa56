import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates as tlsRootCertificates } from 'node:tls';
import { z } from 'zod';
import {
  HostError,
  type Host,
  type HostBalances,
  type HostErrorCode,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type PasswordCheck,
} from './types.ts';
import { MAX_BATCH, ROUTES, TOKEN_ENV, wireErrorSchema } from './server/protocol.ts';
import {
  isCredentialText,
  parseCredential,
  PIN_RE,
  pinBlock,
  type TerminalCredential,
} from './terminal-keys.ts';
import { openSignOn, signedHeaders, signOnRequest, type Session } from './http-host/session.ts';
import { sendOnce, Timeout } from './http-host/transport.ts';
import type { HttpHostOptions } from './http-host/options.ts';

export type { HttpHostOptions } from './http-host/options.ts';
import { balancesWire, HOST_CODES, recordWire, signOnWire, statusWire } from './http-host/wire.ts';
import type { CardRegistration, HostStatus, RegistrationResult, TerminalReport } from './server/pg-host.ts';

/**
 * The terminal's client of the central host (core/host/server/): the Host contract over HTTP +
 * JSON. Failures map to the contract's codes:
 * - connection refused / no route / unknown host → HOST_DOWN (nothing reached the host);
 * - no answer within timeoutMs, a connection lost mid-request, a host-side failure →
 *   HOST_TIMEOUT (the request may or may not have been applied: every call that moves money
 *   is idempotent by its id, so the retry gets the host's first answer back);
 * - the host's typed refusals come back as the same HostError (WRONG_PASSWORD with triesLeft…).
 * A connection reset on a reused keep-alive socket is retried at once (`retries`) for the
 * idempotent calls; a password check is never resent (a lost wrong try must not count twice).
 *
 * The link can be switched locally like the in-process host's ('down': refuse at once;
 * 'slow': answers take slowDelayMs, and past timeoutMs the request is not sent).
 *
 * Credentials: a till's requests are signed with the working keys of its sign-on (签到), made
 * with the terminal credential `sscard host enrol` printed (given as `credential`, or as the
 * token: --host-token / SSCARD_HOST_TOKEN). The client signs on before its first request and
 * again when the host asks for it (a new host, a dropped session); every request carries a new
 * sequence number and its MAC; the password leaves only as a PIN block under the PIN key.
 *
 * Cards: the central host learns a card when a terminal registers it (enrol). Registration is
 * idempotent at the host; the client sends it before the first call about the card and again
 * after a failure, so a card enrolled while the host was down is registered when it returns.
 */

const LINK_STATES: readonly LinkState[] = ['up', 'down', 'slow'];

/** A PEM file of a certificate the till trusts for an https:// host (its self-signed cert.pem). */
export const CA_ENV = 'SSCARD_HOST_CA';

/** Nothing left the terminal: the host was not reached. */
const REFUSED = /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNABORTED)$/;
/** The connection broke after the request may have been sent. */
const LOST = /^(ECONNRESET|EPIPE|ETIMEDOUT)$/;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A request body, or one built from the session's keys (a PIN block). */
type Body = unknown | ((session: Session | null) => unknown);

interface Registration {
  readonly reg: CardRegistration;
  confirmed: boolean;
  inflight: Promise<RegistrationResult> | null;
}

export class HttpHost implements Host {
  readonly url: string;
  private readonly base: URL;
  private readonly token: string | null;
  private readonly credential: TerminalCredential | null;
  private session: Session | null = null;
  private signingOn: Promise<Session> | null = null;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly slowDelayMs: number;
  private readonly agent: http.Agent;
  private readonly registrations = new Map<string, Registration>();
  private readonly cardSource: (cardId: string) => CardRegistration | null;
  /** Records the host returned for a forwarded batch, handed out by forward() without a round trip. */
  private readonly prefetched = new Map<string, HostRecord>();
  readonly batchSize: number;
  private linkState: LinkState;

  constructor(options: HttpHostOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new TypeError(
        `host URL must be an http(s) URL such as http://127.0.0.1:7400, got '${options.url}'`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`host URL must start with http:// or https://, got '${options.url}'`);
    }
    const { timeoutMs = 2000, retries = 2, slowDelayMs = 5000, link = 'up' } = options;
    for (const [name, ms] of [
      ['timeoutMs', timeoutMs],
      ['slowDelayMs', slowDelayMs],
    ] as const) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`${name} must be a non-negative number of ms`);
    }
    if (!Number.isSafeInteger(retries) || retries < 0)
      throw new RangeError('retries must be a whole number ≥ 0');
    if (!LINK_STATES.includes(link)) throw new TypeError(`link must be one of ${LINK_STATES.join(', ')}`);
    this.base = base;
    this.url = base.toString().replace(/\/$/, '');
    const token = options.token ?? process.env[TOKEN_ENV];
    const credentialText = options.credential ?? (token && isCredentialText(token) ? token : undefined);
    this.credential =
      credentialText === undefined
        ? null
        : typeof credentialText === 'string'
          ? parseCredential(credentialText)
          : credentialText;
    this.token = token && token.length > 0 && !isCredentialText(token) ? token : null;
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    this.slowDelayMs = slowDelayMs;
    this.linkState = link;
    this.cardSource = options.cardSource ?? (() => null);
    this.batchSize = options.batchSize ?? 200;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > MAX_BATCH) {
      throw new RangeError(`batchSize must be a whole number from 1 to ${MAX_BATCH}`);
    }
    let ca = options.ca;
    const caFile = process.env[CA_ENV];
    if (ca === undefined && base.protocol === 'https:' && caFile) {
      try {
        ca = readFileSync(caFile);
      } catch {
        throw new TypeError(`${CA_ENV} names ${caFile}, which cannot be read`);
      }
    }
    this.agent =
      base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 16,
            ...(ca ? { ca: [...tlsRootCertificates, ca.toString()] } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  get link(): LinkState {
    return this.linkState;
  }

  setLink(state: LinkState): void {
    if (!LINK_STATES.includes(state)) {
      throw new TypeError(`link state must be one of ${LINK_STATES.join(', ')}, not ${String(state)}`);
    }
    this.linkState = state;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  // ---- transport ---------------------------------------------------------------------------

  private once(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown }> {
    const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extraHeaders };
    return sendOnce(this.url, this.agent, this.timeoutMs, method, path, payload, headers);
  }

  /** One call to the host, mapped to the contract's errors. */
  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body: Body,
    parse: (result: unknown) => T,
    idempotent = true,
  ): Promise<T> {
    const signed = this.credential !== null && method === 'POST';
    let signedOnAgain = false;
    const link = this.linkState;
    if (link === 'down')
      throw new HostError('HOST_DOWN', 'host link is down: the request never left the terminal');
    if (link === 'slow') {
      if (this.slowDelayMs >= this.timeoutMs) {
        await sleep(this.timeoutMs);
        throw new HostError(
          'HOST_TIMEOUT',
          `no answer from the host within ${this.timeoutMs} ms (slow link); the request may or may not have been applied`,
        );
      }
      await sleep(this.slowDelayMs);
    }
    for (let attempt = 0; ; attempt++) {
      let answer: { status: number; json: unknown };
      try {
        const session = signed ? await this.signedOn() : null;
        const value = typeof body === 'function' ? (body as (s: Session | null) => unknown)(session) : body;
        const payload = value === undefined ? undefined : JSON.stringify(value);
        answer = await this.once(
          method,
          path,
          payload,
          session ? signedHeaders(this.credential!, session, path, payload ?? '') : {},
        );
      } catch (e) {
        if (e instanceof HostError) throw e;
        if (e instanceof Timeout) {
          throw new HostError(
            'HOST_TIMEOUT',
            `no answer from the host at ${this.url} within ${this.timeoutMs} ms; the request may or may not have been applied`,
          );
        }
        const code = (e as { code?: unknown }).code;
        const text = typeof code === 'string' ? code : '';
        if (REFUSED.test(text)) {
          throw new HostError('HOST_DOWN', `host at ${this.url} unreachable (${text}): nothing was sent`);
        }
        // A reset (often a kept-alive socket the host closed): an idempotent call is resent.
        if (idempotent && attempt < this.retries && (LOST.test(text) || /socket hang up/i.test(String(e)))) {
          await sleep(20 * 2 ** attempt);
          continue;
        }
        throw new HostError(
          'HOST_TIMEOUT',
          `connection to the host at ${this.url} lost (${text || (e as Error).message}); the request may or may not have been applied`,
        );
      }
      // The host dropped this session (restarted on a new database, too many sign-ons): the
      // request was refused before anything was read, so it is signed on again and resent once.
      if (
        signed &&
        !signedOnAgain &&
        answer.status === 401 &&
        this.codeOf(answer.json) === 'SIGN_ON_REQUIRED'
      ) {
        signedOnAgain = true;
        this.session = null;
        continue;
      }
      return this.answer(answer, parse);
    }
  }

  private codeOf(json: unknown): string | null {
    const wire = wireErrorSchema.safeParse(json);
    return wire.success ? wire.data.error.code : null;
  }

  /** The current session, signing on first if there is none (one sign-on at a time). */
  private signedOn(): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    if (!this.signingOn) {
      this.signingOn = this.signOn().finally(() => {
        this.signingOn = null;
      });
    }
    return this.signingOn;
  }

  /**
   * Sign-on (签到): new working keys from the host, wrapped under this till's master key; their
   * check values are verified before they are used. Called by itself when needed.
   */
  async signOn(): Promise<Session> {
    const credential = this.credential;
    if (!credential) {
      throw new HostError(
        'INVALID_REQUEST',
        `this till has no terminal credential for the central host (set it with --host-token or ${TOKEN_ENV})`,
      );
    }
    const { payload, headers } = signOnRequest(credential);
    let answer: { status: number; json: unknown };
    try {
      answer = await this.once('POST', ROUTES.signOn, payload, headers);
    } catch (e) {
      if (e instanceof Timeout)
        throw new HostError(
          'HOST_TIMEOUT',
          `no answer to sign-on from the host at ${this.url} within ${this.timeoutMs} ms`,
        );
      const code = String((e as { code?: unknown }).code ?? '');
      if (REFUSED.test(code))
        throw new HostError('HOST_DOWN', `host at ${this.url} unreachable (${code}): nothing was sent`);
      throw new HostError('HOST_TIMEOUT', `sign-on at ${this.url} failed (${code || (e as Error).message})`);
    }
    const opened = openSignOn(
      credential,
      this.answer(answer, (r) => signOnWire.parse(r)),
    );
    if (typeof opened === 'string') throw new HostError('INVALID_REQUEST', opened);
    this.session = opened;
    return this.session;
  }

  private answer<T>({ status, json }: { status: number; json: unknown }, parse: (r: unknown) => T): T {
    if (status === 200 && json !== null && typeof json === 'object' && 'result' in json) {
      try {
        return parse((json as { result: unknown }).result);
      } catch (e) {
        throw new HostError(
          'HOST_TIMEOUT',
          `the host at ${this.url} sent an answer this terminal cannot read: ${(e as Error).message}`,
        );
      }
    }
    const wire = wireErrorSchema.safeParse(json);
    if (!wire.success) {
      throw new HostError(
        'HOST_TIMEOUT',
        `the host at ${this.url} answered HTTP ${status} without a readable error`,
      );
    }
    const { code, message, triesLeft } = wire.data.error;
    if (code === 'UNAUTHORIZED') {
      throw new HostError(
        'INVALID_REQUEST',
        `the central host refused this terminal: ${message} (set the host token with --host-token or ${TOKEN_ENV})`,
      );
    }
    if (/^(NOT_ENROLLED|TERMINAL_REVOKED|SIGN_ON_REQUIRED|BAD_MAC|REPLAYED|FORBIDDEN)$/.test(code)) {
      throw new HostError('INVALID_REQUEST', `the central host refused this request (${code}): ${message}`);
    }
    if (code === 'HOST_FAILED') throw new HostError('HOST_TIMEOUT', message);
    if (HOST_CODES.has(code)) throw new HostError(code as HostErrorCode, message, triesLeft);
    throw new HostError('INVALID_REQUEST', `${code}: ${message}`);
  }

  private post<T>(path: string, body: Body, parse: (r: unknown) => T, idempotent = true): Promise<T> {
    return this.request('POST', path, body, parse, idempotent);
  }

  // ---- cards --------------------------------------------------------------------------------

  /**
   * Registers a card with the central host now if it can, and in any case before the first
   * call about it. Resolves with the host's answer, or null when the host could not be reached
   * (it is sent again before the next call about the card).
   */
  async enrol(reg: CardRegistration): Promise<RegistrationResult | null> {
    const known = this.registrations.get(reg.cardId);
    if (!known || known.confirmed)
      this.registrations.set(reg.cardId, { reg, confirmed: false, inflight: null });
    try {
      return await this.ensureRegistered(reg.cardId);
    } catch (e) {
      if (e instanceof HostError && (e.code === 'HOST_DOWN' || e.code === 'HOST_TIMEOUT')) return null;
      throw e;
    }
  }

  private async ensureRegistered(cardId: string): Promise<RegistrationResult | null> {
    const r = this.registrations.get(cardId);
    if (!r || r.confirmed) return null;
    if (!r.inflight) {
      r.inflight = this.post(ROUTES.registerCard, r.reg, (x) => x as RegistrationResult)
        .then((result) => {
          r.confirmed = true;
          return result;
        })
        .finally(() => {
          r.inflight = null;
        });
    }
    return r.inflight;
  }

  /**
   * A call about one card: registered first if this client enrolled it; on UNKNOWN_CARD,
   * registered from the card source (or the enrolment) and tried once more.
   */
  private async aboutCard<T>(cardId: string, call: () => Promise<T>): Promise<T> {
    await this.ensureRegistered(cardId);
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof HostError) || e.code !== 'UNKNOWN_CARD') throw e;
      const known = this.registrations.get(cardId)?.reg ?? this.cardSource(cardId);
      if (!known) throw e;
      this.registrations.set(cardId, { reg: known, confirmed: false, inflight: null });
      await this.ensureRegistered(cardId);
      return call();
    }
  }

  /** Registers a card directly (idempotent at the host). */
  registerCard(reg: CardRegistration): Promise<RegistrationResult> {
    return this.post(ROUTES.registerCard, reg, (x) => x as RegistrationResult);
  }

  // ---- the Host contract ----------------------------------------------------------------------

  /**
   * The password leaves the till only as a PIN block under the session's PIN key (ISO 9564
   * format 0; SM4: widened to 16 bytes). One that cannot be a PIN (not 4–12 digits) is refused
   * here, without a try at the bank.
   */
  verifyPassword(cardId: string, password: string): Promise<PasswordCheck> {
    if (typeof password !== 'string' || !PIN_RE.test(password)) {
      return Promise.reject(
        new HostError('INVALID_REQUEST', 'the transaction password must be 4 to 12 digits'),
      );
    }
    const alg = this.credential?.alg ?? '3des';
    return this.aboutCard(cardId, () =>
      this.post(
        ROUTES.verifyPassword,
        (session: Session | null) => {
          if (!session) {
            throw new HostError(
              'INVALID_REQUEST',
              `a password goes to the central host only as a PIN block, after sign-on: this till has no terminal credential (--host-token or ${TOKEN_ENV})`,
            );
          }
          return { cardId, pinBlock: pinBlock(alg, session.pinKey, password, cardId) };
        },
        () => ({ ok: true as const }),
        false,
      ),
    );
  }

  balances(cardId: string): Promise<HostBalances> {
    return this.aboutCard(cardId, () => this.post(ROUTES.balances, { cardId }, (r) => balancesWire.parse(r)));
  }

  cardStatus(cardId: string): Promise<'active' | 'not-activated' | 'loss-reported' | 'closed'> {
    return this.aboutCard(cardId, () => this.post(ROUTES.cardStatus, { cardId }, (r) => statusWire.parse(r)));
  }

  /** Online payment. The host cannot share the terminal's transaction: onApplied is not called. */
  pay(request: HostPaymentRequest): Promise<HostRecord> {
    return this.aboutCard(request.cardId, () => this.post(ROUTES.pay, request, (r) => recordWire.parse(r)));
  }

  forward(request: HostPaymentRequest): Promise<HostRecord> {
    const ready = this.prefetched.get(request.paymentId);
    if (
      ready &&
      ready.cardId === request.cardId &&
      ready.terminalId === request.terminalId &&
      ready.amountFen === request.amountFen &&
      ready.method === request.method
    ) {
      this.prefetched.delete(request.paymentId);
      return Promise.resolve(ready);
    }
    return this.aboutCard(request.cardId, () =>
      this.post(ROUTES.forward, request, (r) => recordWire.parse(r)),
    );
  }

  /**
   * Sends queued offline payments in batches (one request and one host transaction per batch);
   * the records come back to forward() when the forwarder asks for each payment in its order,
   * so the queue's bookkeeping (sent, retries, refunds after their payment) is unchanged.
   * Cards are registered first as for a single call: those this client enrolled and has not
   * confirmed yet, and, when the host answers UNKNOWN_CARD for some (payments taken offline by
   * an earlier run while the host was down), from the card source — those payments are then
   * sent again in one more batch. A payment the batch still refused goes the one-by-one way.
   * Returns how many records are ready; a host that cannot be reached leaves everything to the
   * forwarder.
   */
  async prefetchForwards(
    requests: readonly HostPaymentRequest[],
    batchSize = this.batchSize,
  ): Promise<number> {
    if (batchSize <= 1) return 0;
    const size = Math.min(batchSize, MAX_BATCH);
    let ready = 0;
    try {
      for (let i = 0; i < requests.length; i += size) {
        const chunk = requests.slice(i, i + size);
        for (const cardId of new Set(chunk.map((r) => r.cardId))) await this.ensureRegistered(cardId);
        const { records, refused } = await this.sendBatch(chunk);
        ready += records;
        // Cards the host does not know yet: registered from what this terminal knows, and sent once more.
        const asked = new Set<string>();
        const registered = new Set<string>();
        for (const { code, request } of refused) {
          if (code !== 'UNKNOWN_CARD' || asked.has(request.cardId)) continue;
          asked.add(request.cardId);
          const known = this.registrations.get(request.cardId)?.reg ?? this.cardSource(request.cardId);
          if (!known) continue;
          this.registrations.set(known.cardId, { reg: known, confirmed: false, inflight: null });
          await this.ensureRegistered(known.cardId);
          registered.add(known.cardId);
        }
        const again = refused.filter((r) => registered.has(r.request.cardId)).map((r) => r.request);
        if (again.length > 0) ready += (await this.sendBatch(again)).records;
      }
    } catch (e) {
      if (e instanceof HostError) return ready;
      throw e;
    }
    return ready;
  }

  /** One forward-batch request: keeps the records; returns how many, and the payments the host refused. */
  private async sendBatch(
    chunk: readonly HostPaymentRequest[],
  ): Promise<{ records: number; refused: { request: HostPaymentRequest; code: string }[] }> {
    const outcomes = await this.post(ROUTES.forwardBatch, { requests: chunk }, (r) =>
      z
        .array(
          z
            .object({
              paymentId: z.string(),
              record: recordWire.optional(),
              error: z.object({ code: z.string() }).passthrough().optional(),
            })
            .passthrough(),
        )
        .parse(r),
    );
    const byId = new Map(chunk.map((r) => [r.paymentId, r]));
    const refused: { request: HostPaymentRequest; code: string }[] = [];
    let records = 0;
    for (const o of outcomes) {
      const request = byId.get(o.paymentId);
      if (!request) continue;
      if (o.record) {
        this.prefetched.set(o.paymentId, o.record);
        records += 1;
      } else {
        refused.push({ request, code: o.error?.code ?? 'ERROR' });
      }
    }
    return { records, refused };
  }

  /** Forgets records prefetched and not asked for (after a sync). */
  clearPrefetched(): void {
    this.prefetched.clear();
  }

  reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
    return this.post(ROUTES.reverse, { reversalId, paymentId, at }, (r) => recordWire.parse(r));
  }

  refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
    return this.post(ROUTES.refund, { refundId, paymentId, amountFen, at }, (r) => recordWire.parse(r));
  }

  records(terminalId: string, date?: string): Promise<HostRecord[]> {
    return this.post(ROUTES.records, date === undefined ? { terminalId } : { terminalId, date }, (r) =>
      z.array(recordWire).parse(r),
    );
  }

  // ---- operations ----------------------------------------------------------------------------

  /** Tells the host this terminal's queue depth, last sync and reconciliation state. */
  async report(report: TerminalReport): Promise<void> {
    await this.post(ROUTES.report, report, () => undefined);
  }

  status(): Promise<HostStatus> {
    return this.request('GET', ROUTES.status, undefined, (r) => r as HostStatus);
  }

  /** True when the host and its database answer. */
  /** The terminal this client's credential is for, if it has one. */
  get terminalId(): string | null {
    return this.credential?.terminalId ?? null;
  }

  async health(): Promise<{ ok: boolean; database: string }> {
    const r = await this.once('GET', ROUTES.health, undefined).catch(() => null);
    if (!r || r.json === null || typeof r.json !== 'object') return { ok: false, database: 'unknown' };
    return r.json as { ok: boolean; database: string };
  }
}
