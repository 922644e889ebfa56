import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type pg from 'pg';
import type { Algorithm } from '../../../core/card/crypto.ts';
import { ROUTES } from '../../../core/host/server/protocol.ts';
import { enrolTerminal } from '../../../core/host/server/terminal-auth.ts';
import {
  AUTH_HEADERS,
  formatCredential,
  parseCredential,
  requestMac,
  signOnKey,
  unwrapKey,
  type TerminalCredential,
} from '../../../core/host/terminal-keys.ts';

/**
 * Test set-up for the central host's per-terminal credentials: enrol a till (as `sscard host
 * enrol` does) and, for tests that craft requests by hand, a till that signs on and signs raw
 * requests the way core/host/http-host.ts does.
 */

/** Enrols a till at the host behind `pool` (re-enrolling replaces its key); its credential text. */
export async function enrolTill(
  target: pg.Pool | { pool: pg.Pool } | { host: { pool: pg.Pool } },
  terminalId = 'T0001',
  alg: Algorithm = '3des',
): Promise<string> {
  const pool = 'host' in target ? target.host.pool : 'pool' in target ? target.pool : target;
  return formatCredential(await enrolTerminal(pool, terminalId, { alg, replace: true }));
}

export interface RawAnswer {
  readonly status: number;
  readonly json: { result?: unknown; error?: { code: string; message: string } } | null;
}

/** Sends one POST with the given body bytes and headers; resolves with the status and JSON. */
export function rawPost(
  url: string,
  path: string,
  payload: string | Buffer,
  headers: Record<string, string>,
) {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const req = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise<RawAnswer>((resolve, reject) => {
    const r = req(
      `${url}${path}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
        ...(url.startsWith('https:') ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: RawAnswer['json'];
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    r.on('error', (e) => ((e as { code?: string }).code === 'EPIPE' ? undefined : reject(e)));
    r.end(body);
  });
}

/** A till speaking the wire by hand: sign-on, then requests with sequence numbers and MACs. */
export class RawTill {
  readonly credential: TerminalCredential;
  session: { id: string; pinKey: Uint8Array; macKey: Uint8Array; seq: number } | null = null;

  constructor(
    readonly url: string,
    credential: string,
  ) {
    this.credential = parseCredential(credential);
  }

  get terminalId(): string {
    return this.credential.terminalId;
  }

  async signOn(): Promise<RawAnswer> {
    const c = this.credential;
    const payload = JSON.stringify({
      terminalId: c.terminalId,
      nonce: randomBytes(16).toString('hex'),
      at: new Date().toISOString(),
    });
    const mac = requestMac(signOnKey(c), {
      method: 'POST',
      path: ROUTES.signOn,
      terminalId: c.terminalId,
      sessionId: '-',
      seq: 0,
      body: payload,
    });
    const answer = await rawPost(this.url, ROUTES.signOn, payload, {
      [AUTH_HEADERS.terminal]: c.terminalId,
      [AUTH_HEADERS.mac]: mac,
    });
    if (answer.status === 200) {
      const r = answer.json!.result as { sessionId: string; pinKey: string; macKey: string };
      this.session = {
        id: r.sessionId,
        pinKey: unwrapKey(c.alg, c.masterKey, r.pinKey),
        macKey: unwrapKey(c.alg, c.masterKey, r.macKey),
        seq: 0,
      };
    }
    return answer;
  }

  /** The headers of a signed request (the next sequence number unless one is given). */
  headers(path: string, payload: string | Buffer, seq?: number): Record<string, string> {
    const s = this.session;
    if (!s) throw new Error('sign on first');
    const n = seq ?? ++s.seq;
    return {
      [AUTH_HEADERS.terminal]: this.credential.terminalId,
      [AUTH_HEADERS.session]: s.id,
      [AUTH_HEADERS.seq]: String(n),
      [AUTH_HEADERS.mac]: requestMac(s.macKey, {
        method: 'POST',
        path,
        terminalId: this.credential.terminalId,
        sessionId: s.id,
        seq: n,
        body: payload,
      }),
    };
  }

  /** A signed POST of a JSON body (or raw bytes). */
  async post(path: string, body: unknown): Promise<RawAnswer> {
    if (!this.session) await this.signOn();
    const payload = Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body);
    return rawPost(this.url, path, payload, this.headers(path, payload));
  }
}
