import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzCases, type FuzzCase } from '../test/harness/web/fuzz-cases.ts';
import { normalSession, startWebHostChild, type WebHostChild } from '../test/harness/web/host-child.ts';
import { rawExchange } from '../test/harness/web/raw.ts';

/**
 * Fuzzing `npm run web`'s raw socket on loopback: random request lines, headers, bodies and
 * WebSocket frames (test/harness/web/fuzz-cases.ts), a bounded number of cases in a bounded
 * time, a few connections at once. After them the host process must still be up, must have
 * printed no stack trace, and must still serve a normal session (the page, the token, an Api
 * call, an event). The seed is printed on failure: `SSCARD_FUZZ_SEED=<seed>` replays the run.
 */
const SEED = Number(process.env.SSCARD_FUZZ_SEED ?? 20_261_208);
const CASES = Number(process.env.SSCARD_FUZZ_CASES ?? 400);
const BUDGET_MS = Number(process.env.SSCARD_FUZZ_MS ?? 25_000);
const AT_ONCE = 6;
/** How long each connection is given to be answered or closed. */
const WAIT_MS = 200;

let dir: string;
let host: WebHostChild;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-web-fuzz-'));
  host = await startWebHostChild(join(dir, 'ledger.db'));
}, 70_000);
afterAll(async () => {
  await host?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('fuzzing the web host', () => {
  it(`survives ${CASES} random connections (seed ${SEED}) and then serves a normal session`, async () => {
    const started = Date.now();
    const cases = fuzzCases(SEED, host);
    const startup = host.output();
    let sent = 0;
    const kinds = { http: 0, ws: 0, answered: 0, closed: 0 };
    while (sent < CASES && Date.now() - started < BUDGET_MS) {
      const batch: { index: number; c: FuzzCase }[] = [];
      for (let i = 0; i < AT_ONCE && sent < CASES; i++) batch.push({ index: sent++, c: cases.next().value! });
      const results = await Promise.all(batch.map(({ c }) => rawExchange(host.port, c.chunks, WAIT_MS)));
      results.forEach((r, i) => {
        if (batch[i]!.c.what.startsWith('HTTP')) kinds.http++;
        else kinds.ws++;
        if (r.data.length > 0) kinds.answered++;
        if (r.closed) kinds.closed++;
      });
      if (!host.alive()) {
        const which = batch.map(({ index, c }) => `#${index}: ${c.what}`).join('\n');
        throw new Error(
          `the web host died (seed ${SEED}, replay with SSCARD_FUZZ_SEED=${SEED}) in one of:\n${which}\n${host.output()}`,
        );
      }
    }
    const elapsed = Date.now() - started;
    console.log(
      `web host fuzz: seed ${SEED}, ${sent} cases (${kinds.http} HTTP, ${kinds.ws} WebSocket) in ${elapsed} ms; ` +
        `${kinds.answered} answered, ${kinds.closed} closed by the host`,
    );
    // A bounded run that still covers a fair share of what it was asked to.
    expect(sent).toBeGreaterThanOrEqual(Math.min(CASES, 100));
    expect(host.alive()).toBe(true);
    await normalSession(host);
    expect(host.output().slice(startup.length), `seed ${SEED}`).toBe('');
  }, 90_000);
});
