import type { RawData, WebSocket } from 'ws';
import { toFailure, type Core } from '../core/api/create-core.ts';
import type { ApiFailure } from '../core/api/define.ts';

/**
 * One browser's connection to the Api: each text message is one call `{id, method, args}`,
 * answered `{id, result}` or `{id, error: {code, zh, en}}`; the core's events go out as
 * `{event}`. Whatever a client sends, it gets an answer or its connection is closed with the
 * WebSocket code for what was wrong — the host itself never falls over (docs/security.md):
 *
 * - not JSON, JSON that is not an object, a binary frame, an id that is neither a number nor a
 *   short string, a method that is not a string: `BAD_ARGUMENTS`, with id null when the id
 *   cannot be trusted; the connection stays open;
 * - invalid UTF-8 in a text frame (1007), a message over the size limit (1009), a frame that
 *   breaks the protocol — unmasked, a reserved bit or opcode, a bad fragment (1002): the `ws`
 *   library closes that connection with the code and reports the error here, where it ends.
 */

/** A client that stops reading while events pile up beyond this is cut off, not buffered forever. */
export const SEND_BUFFER_MAX_BYTES = 64 * 1024 * 1024;

/** Ids are echoed back: a number, or a string this long at most. */
export const ID_MAX_CHARS = 64;

const bad = (zh: string, en: string): ApiFailure => ({ code: 'BAD_ARGUMENTS', zh, en });

type Parsed =
  | { ok: true; id: number | string | null; method: string; args: unknown }
  | { ok: false; id: number | string | null; error: ApiFailure };

/** Reads one text message as a call, or says what is wrong with it. */
export function parseCall(text: string): Parsed {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { ok: false, id: null, error: bad('消息不是 JSON', 'message is not JSON') };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    return {
      ok: false,
      id: null,
      error: bad(
        '消息须为 JSON 对象 {"id", "method", "args"}',
        'the message must be a JSON object {"id", "method", "args"}',
      ),
    };
  const { id, method, args } = msg as { id?: unknown; method?: unknown; args?: unknown };
  const goodId =
    id === undefined ||
    id === null ||
    (typeof id === 'number' && Number.isFinite(id)) ||
    (typeof id === 'string' && id.length <= ID_MAX_CHARS);
  if (!goodId)
    return {
      ok: false,
      id: null,
      error: bad(
        `id 须为数字或不超过 ${ID_MAX_CHARS} 个字符的字符串`,
        `id must be a number or a string of at most ${ID_MAX_CHARS} characters`,
      ),
    };
  const callId = (id ?? null) as number | string | null;
  if (typeof method !== 'string')
    return {
      ok: false,
      id: callId,
      error: bad('method 须为字符串（功能名）', 'method must be a string (the method name)'),
    };
  return { ok: true, id: callId, method, args };
}

function textOf(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.from(raw).toString('utf8');
}

/** Serves the Api on one accepted WebSocket until it closes. */
export function serveApi(core: Core, ws: WebSocket): void {
  /** Sends one message; a client that cannot keep up is cut off. Never throws. */
  const send = (message: unknown) => {
    if (ws.readyState !== ws.OPEN) return;
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (e) {
      // A result that cannot be written as JSON: the caller still gets an answer.
      const id = (message as { id?: unknown }).id ?? null;
      text = JSON.stringify({ id, error: toFailure(e) });
    }
    if (ws.bufferedAmount + text.length > SEND_BUFFER_MAX_BYTES) {
      ws.terminate();
      return;
    }
    ws.send(text);
  };

  const off = core.subscribe((event) => send({ event }));
  ws.on('close', off);
  // The library has already closed the connection with the code that says why (1002, 1007,
  // 1009): the error ends here instead of in an unhandled 'error' event that stops the process.
  ws.on('error', () => {});

  ws.on('message', (raw, isBinary) => {
    if (isBinary) {
      send({
        id: null,
        error: bad(
          '消息须为文本帧（JSON），不能是二进制帧',
          'messages must be text frames (JSON), not binary',
        ),
      });
      return;
    }
    // ws has checked the frame's UTF-8 (a text frame of invalid UTF-8 never reaches here).
    const parsed = parseCall(textOf(raw));
    if (!parsed.ok) {
      send({ id: parsed.id, error: parsed.error });
      return;
    }
    core.call(parsed.method, parsed.args).then(
      (result) => send({ id: parsed.id, result: result ?? null }),
      (e: unknown) => send({ id: parsed.id, error: toFailure(e) }),
    );
  });
}
