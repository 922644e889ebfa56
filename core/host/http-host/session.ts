import { randomBytes } from 'node:crypto';
import { ROUTES } from '../server/protocol.ts';
import {
  AUTH_HEADERS,
  keyCheckValue,
  requestMac,
  signOnKey,
  unwrapKey,
  type TerminalCredential,
} from '../terminal-keys.ts';
import type { signOnWire } from './wire.ts';
import type { z } from 'zod';

/**
 * The till's side of sign-on (签到) and request signing (core/host/terminal-keys.ts): the
 * sign-on request, the working keys opened from its answer, and the headers of every request.
 */

/** The working keys of a sign-on. */
export interface Session {
  readonly id: string;
  readonly pinKey: Uint8Array;
  readonly macKey: Uint8Array;
  seq: number;
}

/** A sign-on request: a fresh nonce, MACed with the key derived from the master key. */
export function signOnRequest(credential: TerminalCredential): {
  payload: string;
  headers: Record<string, string>;
} {
  const payload = JSON.stringify({
    terminalId: credential.terminalId,
    nonce: randomBytes(16).toString('hex'),
    at: new Date().toISOString(),
  });
  const mac = requestMac(signOnKey(credential), {
    method: 'POST',
    path: ROUTES.signOn,
    terminalId: credential.terminalId,
    sessionId: '-',
    seq: 0,
    body: payload,
  });
  return { payload, headers: { [AUTH_HEADERS.terminal]: credential.terminalId, [AUTH_HEADERS.mac]: mac } };
}

/** The session of a sign-on answer, its keys checked against their check values; else why not. */
export function openSignOn(
  credential: TerminalCredential,
  keys: z.infer<typeof signOnWire>,
): Session | string {
  if (keys.alg !== credential.alg)
    return `sign-on: the host uses ${keys.alg}, this credential ${credential.alg}`;
  const pinKey = unwrapKey(credential.alg, credential.masterKey, keys.pinKey);
  const macKey = unwrapKey(credential.alg, credential.masterKey, keys.macKey);
  if (
    keyCheckValue(credential.alg, pinKey) !== keys.pinKeyCheck ||
    keyCheckValue(credential.alg, macKey) !== keys.macKeyCheck
  ) {
    return 'sign-on: the working keys do not match their check values (a different master key: enrol this till again)';
  }
  return { id: keys.sessionId, pinKey, macKey, seq: 0 };
}

/** The headers that bind a request to this till: terminal, session, a new sequence number, MAC. */
export function signedHeaders(
  credential: TerminalCredential,
  session: Session,
  path: string,
  payload: string,
): Record<string, string> {
  session.seq += 1;
  const seq = session.seq;
  return {
    [AUTH_HEADERS.terminal]: credential.terminalId,
    [AUTH_HEADERS.session]: session.id,
    [AUTH_HEADERS.seq]: String(seq),
    [AUTH_HEADERS.mac]: requestMac(session.macKey, {
      method: 'POST',
      path,
      terminalId: credential.terminalId,
      sessionId: session.id,
      seq,
      body: payload,
    }),
  };
}
