import type { CardRegistration } from '../server/pg-host.ts';
import type { TerminalCredential } from '../terminal-keys.ts';
import type { LinkState } from '../types.ts';

/** How a till's client of the central host (core/host/http-host.ts) is set up. */
export interface HttpHostOptions {
  /** The host's base URL, e.g. http://127.0.0.1:7400 */
  readonly url: string;
  /**
   * The operator's token (for status), or the till's credential `sscard-terminal:…` (default:
   * SSCARD_HOST_TOKEN from the environment, if set).
   */
  readonly token?: string;
  /** The till's credential, when not given as the token. */
  readonly credential?: TerminalCredential | string;
  /**
   * For an https:// host: the certificate (PEM) to trust besides the system's, e.g. the host's
   * self-signed cert.pem (default: the file named by SSCARD_HOST_CA, if set).
   */
  readonly ca?: string | Buffer;
  /** How long the terminal waits for an answer; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Immediate resends of an idempotent call after a connection reset; default 2. */
  readonly retries?: number;
  readonly link?: LinkState;
  /** When a 'slow' link answers; default 5000 ms (past the default timeout). */
  readonly slowDelayMs?: number;
  /**
   * The registration of a card this terminal knows (from its own store), for a card the host
   * answers UNKNOWN_CARD about: e.g. a payment taken offline by an earlier run of the terminal
   * while the host was down. The call is retried once after registering it.
   */
  readonly cardSource?: (cardId: string) => CardRegistration | null;
  /** Queued payments per forward-batch request (default 200; 1 sends them one by one). */
  readonly batchSize?: number;
}
