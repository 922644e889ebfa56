/**
 * Whole-card read in-process: SELECT SSSE, every EF05 record and every EF06 record (gen 3
 * adds GET CHALLENGE + EXTERNAL AUTHENTICATE with the PSAM cryptogram, which it needs to
 * read EF06), through the in-process virtual reader. Printed next to a baseline measured in
 * the same run: the same number of APDUs answered by a trivial echo card through the same
 * reader. Not a timed test: run `npm run bench`.
 */
import { VirtualReader } from '../device/virtual-reader.ts';
import type { VirtualCard } from '../device/reader.ts';
import { SocialSecurityCard } from '../core/card/social-security-card.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { PsamSimulator } from '../core/card/psam.ts';
import { chipSerialFromAtr } from '../core/card/atr.ts';
import { fromHex } from '../core/card/hex.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const SELECT_SSSE = fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF');

class EchoCard implements VirtualCard {
  readonly atr = fromHex('3B00');
  private readonly ok = Uint8Array.of(0x90, 0x00);
  powerOn() {
    return this.atr;
  }
  powerOff() {}
  reset() {
    return this.atr;
  }
  transmit() {
    return this.ok;
  }
}

/** One whole-card read; returns the number of APDUs it sent. */
function readWholeCard(
  reader: VirtualReader,
  gen: number,
  psam: PsamSimulator,
  serial: Uint8Array,
  alg: '3des' | 'sm4',
): number {
  let n = 0;
  const t = (c: Uint8Array) => {
    n++;
    return reader.transmitSync(c);
  };
  t(SELECT_SSSE);
  for (let r = 1; r <= 7; r++) t(Uint8Array.of(0x00, 0xb2, r, 0x2c, 0x00));
  if (gen === 3) {
    const ch = t(Uint8Array.of(0x00, 0x84, 0x00, 0x00, 0x08));
    const crypt = psam.externalAuthenticate(alg, serial, ch.subarray(0, 8));
    t(Uint8Array.of(0x00, 0x82, 0x00, 0x0a, 0x10, ...crypt));
  }
  const ef06 = gen === 1 ? 6 : 7;
  for (let r = 1; r <= ef06; r++) t(Uint8Array.of(0x00, 0xb2, r, 0x34, 0x00));
  return n;
}

function measure(fn: () => void): number {
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn();
    count += 100;
  }
  return count / SECONDS;
}

/** Replays a list of commands (the same count as a card read) against the echo card. */
function echoRead(reader: VirtualReader, commands: Uint8Array[]): void {
  for (const c of commands) reader.transmitSync(c);
}

const psam = new PsamSimulator();
console.log(`Whole-card read, in-process (${SECONDS}s per measurement, best of 3)`);
console.log(
  'card              APDUs/read   reads/s    echo reads/s   ratio (card/echo)   target ≥ 20,000 reads/s',
);
for (const id of ['gen1', 'gen2', 'gen3-initial-pin', 'gen3-active']) {
  const profile = resolveCard(id).profile;
  const reader = new VirtualReader();
  const card = new SocialSecurityCard(profile);
  reader.insert(card);
  await reader.connect();
  const serial = chipSerialFromAtr(card.atr)!;
  const apdus = readWholeCard(reader, profile.generation, psam, serial, profile.algorithm);
  const commands = Array.from({ length: apdus }, () => SELECT_SSSE);
  const echo = new VirtualReader();
  echo.insert(new EchoCard());
  await echo.connect();
  let best = 0;
  let bestEcho = 0;
  for (let round = 0; round < 3; round++) {
    best = Math.max(
      best,
      measure(() => readWholeCard(reader, profile.generation, psam, serial, profile.algorithm)),
    );
    bestEcho = Math.max(
      bestEcho,
      measure(() => echoRead(echo, commands)),
    );
  }
  console.log(
    `${id.padEnd(18)}${String(apdus).padStart(6)}   ${Math.round(best).toLocaleString('en').padStart(10)}   ${Math.round(bestEcho).toLocaleString('en').padStart(12)}   ${(best / bestEcho).toFixed(3).padStart(10)}          ${best >= 20000 ? 'met' : 'NOT met'}`,
  );
}
