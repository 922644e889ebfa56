// npm run bench:driver's WebSocket client: one connection, one call at a time (as a browser
// HIS awaits each answer), for the given milliseconds after a warm-up; prints
// "<calls> <elapsed ms> <failures>". Usage: node ws-bench.mjs <ws url> <ms> <function> [iType]
import { WebSocket } from 'ws';

const [url, ms = '2000', fn = 'iReadCardBas', iType = '1'] = process.argv.slice(2);
const ws = new WebSocket(url);
await new Promise((ok, fail) => {
  ws.once('open', ok);
  ws.once('error', fail);
});
const request = JSON.stringify({ function: fn, iType: Number(iType) });
const call = () =>
  new Promise((ok) => {
    ws.once('message', (d) => ok(JSON.parse(String(d))));
    ws.send(request);
  });
for (let i = 0; i < 50; i++) {
  const a = await call();
  if (a.success !== '1') {
    console.error(`ws-bench: ${fn} answered ${a.success}`);
    process.exit(1);
  }
}
let calls = 0;
let failures = 0;
const start = performance.now();
let elapsed;
while ((elapsed = performance.now() - start) < Number(ms)) {
  const a = await call();
  calls += 1;
  if (a.success !== '1') failures += 1;
}
console.log(`${calls} ${elapsed.toFixed(1)} ${failures}`);
ws.close();
