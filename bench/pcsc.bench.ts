/**
 * APDU round trips per second through pcscd + vpcd: our gen 3 card on slot 0 against a bare
 * echo card on slot 1, measured alternately in the same run (best of 3 rounds each), as a
 * ratio. Also shows what TCP_QUICKACK buys by measuring a few APDUs without it.
 * Starts a pcscd of its own when none is running. Run: npm run bench:pcsc
 */
import { VpcdBridge, vpcdReaderName } from '../device/vpcd-bridge.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import { waitForCard } from '../device/pcsc.ts';
import type { VirtualCard } from '../device/reader.ts';
import { SocialSecurityCard } from '../core/card/social-security-card.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { fromHex } from '../core/card/hex.ts';
import { ensurePcscd } from '../e2e/pcscd.ts';

const N = Number(process.env.BENCH_APDUS ?? 2000);
const READ = fromHex('00B2072C0B'); // READ RECORD EF05 rec 7 (card number): 11 bytes + SW

/** Answers every APDU with its own bytes and 9000: the cheapest card there is. */
class EchoCard implements VirtualCard {
  readonly atr = fromHex('3B6F00008055454348300100000000000000000000');
  powerOn() {
    return this.atr;
  }
  powerOff() {}
  reset() {
    return this.atr;
  }
  transmit(c: Uint8Array) {
    const out = new Uint8Array(c.length + 2);
    out.set(c, 0);
    out[c.length] = 0x90;
    return out;
  }
}

async function rate(reader: PcscReader, cmd: Uint8Array, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await reader.transmit(cmd);
  return n / ((performance.now() - t) / 1000);
}

const { status, stop } = await ensurePcscd();
if (!status.ok) {
  console.error(`bench:pcsc needs pcscd with vpcd: ${status.reason}`);
  process.exit(1);
}
const gen3 = new SocialSecurityCard(resolveCard('gen3-active').profile);
const cardBridge = new VpcdBridge({ card: gen3, slot: 0 });
const echoBridge = new VpcdBridge({ card: new EchoCard(), slot: 1 });
for (const b of [cardBridge, echoBridge]) b.start();
await Promise.all([cardBridge.waitConnected(), echoBridge.waitConnected()]);
await Promise.all([waitForCard(vpcdReaderName(0)), waitForCard(vpcdReaderName(1))]);
const cardReader = new PcscReader(vpcdReaderName(0));
const echoReader = new PcscReader(vpcdReaderName(1));
await cardReader.connect();
await echoReader.connect();
await cardReader.transmit(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));

let best = 0;
let bestEcho = 0;
await rate(cardReader, READ, 200); // warm-up
await rate(echoReader, READ, 200);
for (let round = 0; round < 3; round++) {
  best = Math.max(best, await rate(cardReader, READ, N));
  bestEcho = Math.max(bestEcho, await rate(echoReader, READ, N));
}
console.log(
  `Through pcscd + vpcd (${status.owned ? 'our own pcscd' : 'the running pcscd'}), ${N} APDUs per round, best of 3, TCP_QUICKACK ${cardBridge.quickAck ? 'on' : 'MISSING'}`,
);
console.log(
  `  gen 3 card (READ RECORD EF05 rec 7): ${Math.round(best).toLocaleString('en')} APDU/s   target ≥ 2,000: ${best >= 2000 ? 'met' : 'NOT met'}`,
);
console.log(`  echo card (same APDU):               ${Math.round(bestEcho).toLocaleString('en')} APDU/s`);
console.log(
  `  ratio card/echo: ${(best / bestEcho).toFixed(3)}   target ≥ 0.90: ${best / bestEcho >= 0.9 ? 'met' : 'NOT met'}`,
);

await cardReader.close();
await cardBridge.stop();
await waitForCard(vpcdReaderName(0), false);
// The same card without TCP_QUICKACK, for comparison (few APDUs: each waits for a delayed ACK).
const slowBridge = new VpcdBridge({ card: gen3, slot: 0, quickAck: false });
slowBridge.start();
await slowBridge.waitConnected();
await waitForCard(vpcdReaderName(0));
const slowReader = new PcscReader(vpcdReaderName(0));
await slowReader.connect();
await slowReader.transmit(fromHex('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'));
const slow = await rate(slowReader, READ, 40);
console.log(
  `  gen 3 card without TCP_QUICKACK:     ${Math.round(slow).toLocaleString('en')} APDU/s (quick ACK is ×${(best / slow).toFixed(0)})`,
);
await slowReader.close();
await echoReader.close();
await slowBridge.stop();
await echoBridge.stop();
await stop();
