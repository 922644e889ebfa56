/**
 * iReadCardBas calls per second through libSSCardDriver.so and the local service
 * (`sscard driver serve`'s transport and session) on a virtual gen 3 card, next to the same
 * transport answering a no-op function — a backend that returns a canned answer of the same
 * length at once, the transport's own ceiling — measured alternately in the same run (best of
 * 3 rounds each). Also the same pair over the WebSocket, as a browser HIS calls it.
 * Targets: the read ≥ 0.5 of the ceiling and ≥ 1,000 reads/s through the C library.
 * Run: npm run bench:driver  (BENCH_MS=<ms per round>, default 2000)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveCard } from '../core/card/wallet.ts';
import { startDriverService, type DriverBackend } from '../core/reader-interface-service/server.ts';
import { openDriverSession } from '../core/reader-interface-service/session.ts';
import { compileAgainstDriver } from '../test/harness/reader-interface/driver-support.ts';

const MS = Number(process.env.BENCH_MS ?? 2000);
const ROUNDS = 3;
const HERE = fileURLToPath(new URL('.', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'sscard-bench-driver-'));
const session = openDriverSession({
  dbPath: join(dir, 'ledger.db'),
  card: resolveCard('gen3-active').profile,
});
const real = await startDriverService({ backend: session.backend, port: 0 });

// The ceiling: the same transport, a backend that does nothing but answer.
const sample = await session.backend.call({ function: 'iReadCardBas', iType: 1 });
if (sample.code !== 0) throw new Error(`iReadCardBas answered ${sample.code}`);
const noop: DriverBackend = {
  call: async (r) => ({ functionName: r.function, code: 0, pOutInfo: sample.pOutInfo }),
  queuePinEntries: () => {},
  cardManagementAuth: () => '',
};
const ceiling = await startDriverService({ backend: noop, port: 0 });

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? ok(out.trim()) : fail(new Error(`${cmd} exited ${code}: ${err}`)),
    );
  });
}

const cBench = compileAgainstDriver(join(HERE, 'driver', 'driver-bench.c'), 'driver-bench');

async function cRate(url: string): Promise<number> {
  const [calls, ms, failures] = (await run(cBench, [String(MS)], { SSCARD_DRIVER_URL: url }))
    .split(' ')
    .map(Number);
  if (failures) throw new Error(`${failures} calls failed`);
  return calls! / (ms! / 1000);
}

async function wsRate(url: string): Promise<number> {
  const out = await run(process.execPath, [
    join(HERE, 'driver', 'ws-bench.mjs'),
    url,
    String(MS),
    'iReadCardBas',
    '1',
  ]);
  const [calls, ms, failures] = out.split(' ').map(Number);
  if (failures) throw new Error(`${failures} calls failed`);
  return calls! / (ms! / 1000);
}

async function best(measure: (url: string) => Promise<number>) {
  let read = 0;
  let top = 0;
  for (let i = 0; i < ROUNDS; i++) {
    read = Math.max(read, await measure(real.url));
    top = Math.max(top, await measure(ceiling.url));
  }
  return { read, top };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
try {
  console.log(
    `iReadCardBas on gen3-active (in-process virtual reader), ${ROUNDS} rounds of ${MS} ms each, best of each:`,
  );
  const c = await best(cRate);
  const connections = real.connectionsAccepted();
  console.log(
    `  libSSCardDriver.so (C, HTTP keep-alive): ${fmt(c.read)} reads/s; no-op ceiling ${fmt(c.top)} calls/s; ` +
      `ratio ${(c.read / c.top).toFixed(2)} (target ≥ 0.50) ${c.read / c.top >= 0.5 ? '✔' : '✘'}; ` +
      `≥ 1,000 reads/s ${c.read >= 1000 ? '✔' : '✘'}`,
  );
  console.log(
    `    (${connections} TCP connection(s) for ${ROUNDS} client processes: one kept-alive connection each)`,
  );
  const w = await best(wsRate);
  console.log(
    `  WebSocket (a browser HIS):               ${fmt(w.read)} reads/s; no-op ceiling ${fmt(w.top)} calls/s; ` +
      `ratio ${(w.read / w.top).toFixed(2)}`,
  );
} finally {
  await real.close();
  await ceiling.close();
  await session.close();
  rmSync(dir, { recursive: true, force: true });
}
