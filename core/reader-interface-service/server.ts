import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { isPositional, positionalAnswer, positionalRequest } from './positional.ts';

/**
 * The local reader service (`sscard driver serve`): the national reader interface over
 * WebSocket and HTTP on 127.0.0.1, as browser HIS pages and the native libSSCardDriver.so call
 * it (docs/reader-interface.md, "The local service").
 *
 *   WebSocket `/`        {"function":"iReadCardBas","iType":1}
 *                        → {"functionName":"iReadCardBas","success":"1","pOutInfo":"…"}
 *                        or by position (positional.ts): {"func":"iReadCardBas","in":["1"]}
 *                        → {"result":"0","out":["…"]}
 *   POST /api/<function> the same JSON body (its `function` optional) → the same answer
 *   POST /pinpad         {"entries":["258014"]} queues PIN-pad entries ("CANCEL" cancels)
 *   GET  /pinpad         {"waiting":true,"functionName":"iVerifyPIN","prompt":"pin","queued":0}
 *   POST /cardmgmt/auth  {"step1":"<Step 1 pOutInfo>"} → {"pKey":"…"}
 *   GET  /               what the service is and the functions it answers
 *
 * This file is the transport only: the interface itself, the PIN pad and the card-management
 * centre come in as a DriverBackend. Calls run one at a time (one reader, one card session:
 * an HSM Step 2 must follow its Step 1), in the order they arrive, whatever the connection.
 * A request that is not JSON, too big or not an object gets an answer, never a crash.
 */

/** What the interface answers: code 0 for success, else the negative error code. */
export interface DriverCallResult {
  functionName: string;
  code: number;
  pOutInfo: string;
  /** Outputs besides pOutInfo (iGetCardType's pCardType, iGetReaderInfo's pReaderSN …). */
  [output: string]: unknown;
}

export interface DriverCallRequest {
  function: string;
  [param: string]: unknown;
}

export interface DriverBackend {
  /** The one dispatcher of the interface: never throws for a card or parameter problem. */
  call(request: DriverCallRequest): Promise<DriverCallResult>;
  /** Queues PIN-pad entries (digits, or "CANCEL"); throws a message for a bad entry. */
  queuePinEntries(entries: string[]): void;
  /** What the PIN pad is doing: whether a function waits for the holder, entries queued. */
  pinPadState?(): { waiting: boolean; functionName: string | null; prompt: string | null; queued: number };
  /** The card-management centre: Step 1's pOutInfo → Step 2's pKey; throws a message when it cannot. */
  cardManagementAuth(step1: string): Promise<string> | string;
}

export interface DriverServiceOptions {
  backend: DriverBackend;
  /** Address to bind (default 127.0.0.1: loopback only). */
  host?: string;
  /** Port (default 12342; 0 picks a free one). */
  port?: number;
  /** Browser origins allowed to call it (default: any, as the vendors' services do). */
  allowedOrigins?: string[];
  /** Largest request body or WebSocket message in bytes (default 64 KiB). */
  maxBodyBytes?: number;
  /** One line per notable event (never a PIN, never a request body). */
  log?: (line: string) => void;
}

export interface DriverService {
  url: string;
  wsUrl: string;
  host: string;
  port: number;
  /** TCP connections accepted so far (kept-alive clients open one for many calls). */
  connectionsAccepted(): number;
  close(): Promise<void>;
}

export const DEFAULT_DRIVER_PORT = 12342;
export const DEFAULT_MAX_BODY = 64 * 1024;

/** Codes the transport itself answers with (the reference's table). */
export const TRANSPORT_CODES = { UNSUPPORTED: -13, BAD_PARAMETERS: -14, READER_CONNECTION: -11 } as const;

/** Members of a request that belong to the transport, not to the function's parameters. */
const TRANSPORT_MEMBERS = new Set(['function', 'id']);

const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** The wire form of an answer: `success` "1" or the error code as text. */
export function wireAnswer(r: DriverCallResult, id?: unknown): Record<string, unknown> {
  const { functionName, code, pOutInfo, ...outputs } = r;
  return {
    ...(id !== undefined ? { id } : {}),
    functionName,
    success: code === 0 ? '1' : String(code),
    pOutInfo,
    ...outputs,
  };
}

function failure(functionName: string, code: number, message: string): DriverCallResult {
  return { functionName, code, pOutInfo: message };
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new BodyError(413, `request body over ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyError(413, `request body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const buf = Buffer.concat(chunks);
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
      try {
        resolve(text.decode(buf));
      } catch {
        reject(new BodyError(400, 'request body is not UTF-8'));
      }
    });
    req.on('error', (e) => {
      if (!failed) reject(new BodyError(400, e.message));
      failed = true;
    });
  });
}

/** Parses a request's JSON into an object, or says what is wrong with it. */
function parseObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `请求不是 JSON (request is not JSON: ${(e as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return '请求不是 JSON 对象 (request is not a JSON object)';
  }
  return value as Record<string, unknown>;
}

export async function startDriverService(options: DriverServiceOptions): Promise<DriverService> {
  const { backend } = options;
  const bindHost = options.host ?? '127.0.0.1';
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const log = options.log ?? (() => {});
  const allowed = options.allowedOrigins ? new Set(options.allowedOrigins) : null;

  // One call at a time, in arrival order.
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = (request: DriverCallRequest): Promise<DriverCallResult> => {
    const run = queue.then(async () => {
      try {
        return await backend.call(request);
      } catch (e) {
        log(`${request.function}: internal error: ${(e as Error).message}`);
        return failure(
          request.function,
          TRANSPORT_CODES.READER_CONNECTION,
          `内部错误 internal error: ${(e as Error).message}`,
        );
      }
    });
    queue = run.catch(() => {});
    return run;
  };

  /** Turns a parsed request (function from the body or the path) into the interface's answer. */
  const answer = async (
    body: Record<string, unknown> | string,
    pathFunction?: string,
  ): Promise<{ result: DriverCallResult; id?: unknown }> => {
    if (typeof body === 'string') {
      return { result: failure(pathFunction ?? '', TRANSPORT_CODES.BAD_PARAMETERS, body) };
    }
    const id = body.id;
    const named = body.function;
    if (pathFunction !== undefined && named !== undefined && named !== pathFunction) {
      return {
        id,
        result: failure(
          pathFunction,
          TRANSPORT_CODES.BAD_PARAMETERS,
          `function 与地址不符 (the body names ${JSON.stringify(named)}, the path ${pathFunction})`,
        ),
      };
    }
    const fn = pathFunction ?? named;
    if (typeof fn !== 'string' || !FUNCTION_NAME.test(fn)) {
      return {
        id,
        result: failure(
          typeof fn === 'string' ? fn.slice(0, 64) : '',
          typeof fn === 'string' ? TRANSPORT_CODES.UNSUPPORTED : TRANSPORT_CODES.BAD_PARAMETERS,
          typeof fn === 'string'
            ? `不支持该命令 (unknown function ${JSON.stringify(fn.slice(0, 64))})`
            : '缺少 function (the request names no function: {"function":"iReadCardBas",…})',
        ),
      };
    }
    const request: DriverCallRequest = { function: fn };
    for (const [k, v] of Object.entries(body)) if (!TRANSPORT_MEMBERS.has(k)) request[k] = v;
    return { id, result: await serialised(request) };
  };

  const corsHeaders = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin) return {};
    if (allowed && !allowed.has(origin)) return {};
    return {
      'access-control-allow-origin': allowed ? origin : '*',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'content-type',
      'access-control-allow-private-network': 'true',
      'access-control-max-age': '600',
      vary: 'origin',
    };
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, value: unknown) => {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...corsHeaders(req),
    });
    res.end(body);
  };

  const originRefused = (req: IncomingMessage): boolean =>
    allowed !== null && req.headers.origin !== undefined && !allowed.has(req.headers.origin);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (originRefused(req)) {
      send(req, res, 403, { error: `origin ${req.headers.origin ?? ''} is not allowed` });
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, corsHeaders(req)).end();
      return;
    }
    if (req.method === 'GET' && (path === '/' || path === '/api')) {
      send(req, res, 200, {
        service: 'SSCard Lab reader interface (社保卡读卡服务)',
        websocket: `ws://${req.headers.host ?? ''}/`,
        http: 'POST /api/<function> with the parameters by their C names',
        pinpad: 'POST /pinpad {"entries":["<PIN>"|"CANCEL",…]}',
        cardManagement: 'POST /cardmgmt/auth {"step1":"<Step 1 pOutInfo>"}',
      });
      return;
    }
    if (req.method === 'GET' && path === '/pinpad' && backend.pinPadState) {
      send(req, res, 200, backend.pinPadState());
      return;
    }
    const apiMatch = /^\/api\/([^/]*)$/.exec(path);
    const known = apiMatch !== null || path === '/pinpad' || path === '/cardmgmt/auth';
    if (!known) {
      send(req, res, 404, { error: `no such address ${path.slice(0, 100)}` });
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS');
      send(req, res, 405, { error: `${path.slice(0, 100)} takes POST` });
      return;
    }
    let text: string;
    try {
      text = await readBody(req, limit);
    } catch (e) {
      const status = e instanceof BodyError ? e.status : 400;
      res.setHeader('connection', 'close');
      if (apiMatch) {
        const fn = decodePath(apiMatch[1]!);
        send(req, res, status, wireAnswer(failure(fn, TRANSPORT_CODES.BAD_PARAMETERS, (e as Error).message)));
      } else send(req, res, status, { error: (e as Error).message });
      return;
    }
    if (apiMatch) {
      const fn = decodePath(apiMatch[1]!);
      const { result, id } = await answer(text.trim() === '' ? {} : parseObject(text), fn);
      send(req, res, 200, wireAnswer(result, id));
      return;
    }
    const body = parseObject(text);
    if (typeof body === 'string') {
      send(req, res, 400, { error: body });
      return;
    }
    if (path === '/pinpad') {
      const entries = body.entries;
      if (!Array.isArray(entries) || entries.length === 0 || !entries.every((x) => typeof x === 'string')) {
        send(req, res, 400, {
          error: 'entries must be a non-empty array of strings: {"entries":["258014"]} ("CANCEL" cancels)',
        });
        return;
      }
      try {
        backend.queuePinEntries(entries as string[]);
      } catch (e) {
        send(req, res, 400, { error: (e as Error).message });
        return;
      }
      log(`PIN pad: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} queued`);
      send(req, res, 200, { queued: entries.length });
      return;
    }
    // /cardmgmt/auth
    if (typeof body.step1 !== 'string' || body.step1 === '') {
      send(req, res, 400, { error: 'step1 must be the pOutInfo of the HSM Step 1 call: {"step1":"…"}' });
      return;
    }
    try {
      const pKey = await backend.cardManagementAuth(body.step1);
      send(req, res, 200, { pKey });
    } catch (e) {
      send(req, res, 422, { error: (e as Error).message });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`request failed: ${(e as Error).message}`);
      if (!res.headersSent) send(req, res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  let connections = 0;
  server.on('connection', () => (connections += 1));
  // Native clients keep one connection for many calls (libSSCardDriver.so does).
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  // PIN entry waits for the holder: no request timeout of the server's own.
  server.requestTimeout = 0;

  const wss = new WebSocketServer({ noServer: true, maxPayload: limit });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/' || originRefused(req)) {
      socket.write(
        `HTTP/1.1 ${path !== '/' ? '404 Not Found' : '403 Forbidden'}\r\nConnection: close\r\n\r\n`,
      );
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  const serveSocket = (ws: WebSocket) => {
    ws.on('error', (e) => log(`WebSocket: ${e.message}`));
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const text = isBinary ? null : rawText(raw);
      const body =
        text === null ? '请求不是 UTF-8 文本 (send the request as a UTF-8 text message)' : parseObject(text);
      const reply = (value: unknown) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(value));
      };
      if (typeof body !== 'string' && isPositional(body)) {
        // The positional shape: {"func":…,"in":[…]} → {"result":…,"out":[…]}.
        const request = positionalRequest(body);
        const done =
          typeof request === 'string'
            ? Promise.resolve(
                failure(
                  typeof body.func === 'string' ? body.func : '',
                  TRANSPORT_CODES.BAD_PARAMETERS,
                  request,
                ),
              )
            : serialised(request);
        void done.then((r) => reply(positionalAnswer(r)));
        return;
      }
      void answer(body).then(({ result, id }) => reply(wireAnswer(result, id)));
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DRIVER_PORT, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log(`server: ${e.message}`));
  const { port } = server.address() as AddressInfo;
  const shown = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  return {
    url: `http://${shown}:${port}`,
    wsUrl: `ws://${shown}:${port}/`,
    host: bindHost,
    port,
    connectionsAccepted: () => connections,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // A call still running (a PIN entry waiting for the holder) is given a moment to end.
      await Promise.race([queue, new Promise((r) => setTimeout(r, 3000).unref())]);
    },
  };
}

function rawText(raw: RawData): string | null {
  const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
