/**
 * Which host a till talks to, as the app's launchers take it from flags or the environment:
 * SSCARD_HOST_URL (the central host, docs/central-host.md; unset: the in-process host),
 * SSCARD_HOST_TOKEN and SSCARD_TERMINAL_ID (which till this is; default T0001).
 */
export interface HostChoice {
  hostUrl?: string;
  hostToken?: string;
  terminalId?: string;
}

import { isCredentialText, parseCredential } from '../host/terminal-keys.ts';

const TERMINAL_ID_RE = /^[A-Za-z0-9_.]{1,32}$/;

export class HostChoiceError extends Error {
  override name = 'HostChoiceError';
}

/**
 * Checks a host choice; throws HostChoiceError naming the setting and what it must be. A till's
 * credential as the token (sscard-terminal:…, from sscard host enrol) must be well formed and for
 * the terminal id given; without a terminal id, the credential's is the till's.
 */
export function hostChoice(
  values: { hostUrl?: string | undefined; hostToken?: string | undefined; terminalId?: string | undefined },
  names: { hostUrl: string; terminalId: string; hostToken?: string } = {
    hostUrl: '--host-url',
    terminalId: '--terminal-id',
  },
): HostChoice {
  const { hostUrl, hostToken } = values;
  let { terminalId } = values;
  if (hostToken && isCredentialText(hostToken)) {
    const tokenName = names.hostToken ?? '--host-token';
    let credentialTerminal: string;
    try {
      credentialTerminal = parseCredential(hostToken).terminalId;
    } catch (e) {
      throw new HostChoiceError(`${tokenName}: ${(e as Error).message}`);
    }
    if (terminalId !== undefined && terminalId !== '' && terminalId !== credentialTerminal)
      throw new HostChoiceError(
        `${tokenName} is the credential of terminal ${credentialTerminal}, but ${names.terminalId} is '${terminalId}'`,
      );
    terminalId = credentialTerminal;
  }
  if (hostUrl && !/^https?:\/\/[^/\s]+/.test(hostUrl))
    throw new HostChoiceError(`${names.hostUrl} must be the central host's http:// URL (got '${hostUrl}')`);
  if (terminalId !== undefined && terminalId !== '' && !TERMINAL_ID_RE.test(terminalId))
    throw new HostChoiceError(
      `${names.terminalId} must be 1–32 letters, digits, '_' or '.' (got '${terminalId}')`,
    );
  return {
    ...(hostUrl ? { hostUrl } : {}),
    ...(hostToken ? { hostToken } : {}),
    ...(terminalId ? { terminalId } : {}),
  };
}

/** The same, from the environment alone (the Electron app). */
export function hostChoiceFromEnv(env: NodeJS.ProcessEnv): HostChoice {
  return hostChoice(
    { hostUrl: env.SSCARD_HOST_URL, hostToken: env.SSCARD_HOST_TOKEN, terminalId: env.SSCARD_TERMINAL_ID },
    { hostUrl: 'SSCARD_HOST_URL', terminalId: 'SSCARD_TERMINAL_ID', hostToken: 'SSCARD_HOST_TOKEN' },
  );
}

/** One line for a launcher to print: which host the till uses. */
export function describeHostChoice(choice: HostChoice): string {
  const till = choice.terminalId ?? 'T0001';
  return choice.hostUrl
    ? `till ${till} · central host ${choice.hostUrl}`
    : `till ${till} · in-process host (no central host)`;
}
