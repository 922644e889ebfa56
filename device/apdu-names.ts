import { toHex } from '../core/card/hex.ts';
import { DEBIT_AID, SSSE_AID } from '../core/card/layout.ts';

const SSSE_AID_HEX = toHex(SSSE_AID);
const DEBIT_AID_HEX = toHex(DEBIT_AID);
const SFI_NAMES: Record<number, string> = { 1: 'debit SFI 1', 5: 'EF05', 6: 'EF06', 7: 'EF07', 8: 'EF08' };

/** A short English name for a command APDU, as the trace shows it. */
export function describeCommand(c: Uint8Array): string {
  if (c.length < 4) return `malformed (${c.length} bytes)`;
  const [cla, ins, p1, p2] = [c[0]!, c[1]!, c[2]!, c[3]!];
  const data = c.length > 5 ? c.subarray(5, 5 + c[4]!) : new Uint8Array(0);
  const key = (cla << 8) | ins;
  switch (key) {
    case 0x00a4: {
      const d = toHex(data);
      if (p1 === 0x04)
        return d === SSSE_AID_HEX ? 'SELECT SSSE' : d === DEBIT_AID_HEX ? 'SELECT debit app' : `SELECT ${d}`;
      return data.length ? `SELECT ${d === '3F00' ? 'MF' : d}` : 'SELECT MF';
    }
    case 0x00b2: {
      const sfi = p2 >> 3;
      const file = sfi ? (SFI_NAMES[sfi] ?? `SFI ${sfi}`) : 'current EF';
      return (p2 & 7) === 0
        ? `READ RECORD ${file} tag ${p1.toString(16).toUpperCase().padStart(2, '0')}`
        : `READ RECORD ${file} rec ${p1}`;
    }
    case 0x00b0:
      return 'READ BINARY';
    case 0x00c0:
      return 'GET RESPONSE';
    case 0x0084:
      return 'GET CHALLENGE';
    case 0x0082:
      return 'EXTERNAL AUTHENTICATE';
    case 0x0088:
      return 'INTERNAL AUTHENTICATE';
    case 0x0020:
      return 'VERIFY PIN';
    case 0x0024:
      return 'CHANGE REFERENCE DATA';
    case 0x805e:
      return 'CHANGE PIN';
    case 0x845e:
      return 'RELOAD PIN';
    case 0x8424:
      return 'PIN UNBLOCK';
    case 0x80a8:
      return 'GET PROCESSING OPTIONS';
    default:
      return `${toHex(new Uint8Array([cla, ins]))} (unknown)`;
  }
}
