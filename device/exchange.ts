import type { CardReader } from './reader.ts';
import { parseApdu } from '../core/card/apdu.ts';
import { concatBytes } from '../core/card/hex.ts';

/** The same command with its Le set to `le` (appended when the command had none). */
function withLe(command: Uint8Array, le: number): Uint8Array {
  const parsed = parseApdu(command);
  const hasLe = parsed.ok && (parsed.apdu.case === 2 || parsed.apdu.case === 4);
  const out = new Uint8Array(hasLe ? command.length : command.length + 1);
  out.set(hasLe ? command.subarray(0, command.length - 1) : command, 0);
  out[out.length - 1] = le;
  return out;
}

export interface Exchange {
  data: Uint8Array;
  sw: number;
}

/**
 * Terminal-side transport handling: follows 61xx with GET RESPONSE (collecting every
 * chunk) and re-issues a command answered 6Cxx with the Le the card asked for.
 */
export async function exchange(reader: CardReader, command: Uint8Array): Promise<Exchange> {
  let resp = await reader.transmit(command);
  let sw = swOf(resp);
  if (sw >> 8 === 0x6c && command.length >= 4) {
    resp = await reader.transmit(withLe(command, sw & 0xff));
    sw = swOf(resp);
  }
  const chunks: Uint8Array[] = [resp.subarray(0, resp.length - 2)];
  for (let guard = 0; sw >> 8 === 0x61 && guard < 64; guard++) {
    resp = await reader.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, sw & 0xff));
    sw = swOf(resp);
    chunks.push(resp.subarray(0, resp.length - 2));
  }
  return { data: concatBytes(...chunks), sw };
}

function swOf(resp: Uint8Array): number {
  if (resp.length < 2) return 0x6f00;
  return (resp[resp.length - 2]! << 8) | resp[resp.length - 1]!;
}
