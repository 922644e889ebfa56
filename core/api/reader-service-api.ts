import { z } from 'zod';
import { ApiError, method } from './define.ts';
import { DEFAULT_PIN_TIMEOUT_S, DEFAULT_SERVICE_HOST } from './reader-service.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** `host:port`, `[::1]:port` or `host` alone; the port 0 picks a free one. */
function parseListen(listen: string): { host: string; port: number | null } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+))(?::([0-9]{1,5}))?$/.exec(listen.trim());
  if (!m)
    throw new ApiError(
      'BAD_ARGUMENTS',
      `监听地址格式不对：应为 127.0.0.1:12342`,
      `listen: expected an address like 127.0.0.1:12342`,
      [{ field: 'listen', problem: 'expected host:port' }],
    );
  const host = m[1] ?? m[2]!;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && port > 65535)
    throw new ApiError(
      'BAD_ARGUMENTS',
      `端口 ${port} 超出范围 (0–65535)`,
      `listen: port ${port} is over 65535`,
      [{ field: 'listen', problem: 'port over 65535' }],
    );
  if (!LOOPBACK.has(host.toLowerCase()))
    throw new ApiError(
      'BAD_ARGUMENTS',
      `应用中的读卡服务只在本机监听（127.0.0.1、::1），不能用 ${host}；需要网络访问请用 sscard driver serve --listen`,
      `The app's reader service listens on loopback only (127.0.0.1, ::1), not ${host}; for the network use sscard driver serve --listen`,
      [{ field: 'listen', problem: 'not a loopback address' }],
    );
  return { host: host.toLowerCase() === 'localhost' ? DEFAULT_SERVICE_HOST : host, port };
}

/**
 * 读卡服务: the national reader interface served on 127.0.0.1 for HIS / POS software, on the
 * app's reader (the card in the reader panel) and till (its host and books); PINs come from
 * the customer PIN pad (docs/reader-interface-service.md, "From the app").
 */
export const readerServiceMethods = {
  readerServiceState: method(z.object({}).strict(), (ctx) => ctx.readerService.view()),

  /**
   * Starts the service. `listen` defaults to 127.0.0.1:12342, and when that port is taken a
   * free one is used (the answer's url says which); a port given explicitly that is taken is
   * refused (CONFLICT).
   */
  startReaderService: method(
    z
      .object({
        listen: z.string().min(1).max(64).optional(),
        pinTimeoutSeconds: z.number().int().min(5).max(600).optional(),
      })
      .strict(),
    async (ctx, { listen, pinTimeoutSeconds }) => {
      const at = listen === undefined ? { host: DEFAULT_SERVICE_HOST, port: null } : parseListen(listen);
      return ctx.readerService.start({
        host: at.host,
        port: at.port,
        pinTimeoutSeconds: pinTimeoutSeconds ?? DEFAULT_PIN_TIMEOUT_S,
      });
    },
  ),

  /** Stops it: connections closed, a function waiting for the PIN cancelled (-31). */
  stopReaderService: method(z.object({}).strict(), (ctx) => ctx.readerService.stop()),

  /**
   * The customer PIN pad answering a service function that waits for the holder: the PIN's
   * digits, or CANCEL (-31). The PIN goes into the card's APDU only: never echoed, logged or
   * put in an event.
   */
  readerServicePinPad: method(
    z
      .object({
        entry: z.union([
          z.string().regex(/^[0-9]{1,12}$/, { message: 'a PIN is 1 to 12 digits' }),
          z.literal('CANCEL'),
        ]),
      })
      .strict(),
    (ctx, { entry }) => ctx.readerService.enter(entry),
  ),
};
