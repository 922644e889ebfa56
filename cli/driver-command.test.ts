import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './main.ts';
import type { CliIo } from './io.ts';
import { cli } from './run-for-test.ts';

/** `sscard driver serve` in-process: its usage, its errors, its banner, a call, its stop. */
function io() {
  const out: string[] = [];
  const err: string[] = [];
  const sink: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  return { sink, out, err };
}

async function waitFor(lines: string[], pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const l of lines) {
      const m = pattern.exec(l);
      if (m) return m;
    }
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sscard driver serve', () => {
  it('serves the bundled gen3-active card by default, prints its URL, answers, and stops on abort', async () => {
    const { sink, out } = io();
    const stop = new AbortController();
    const done = run(['driver', 'serve', '--listen', '127.0.0.1:0', '--db', ':memory:'], sink, stop.signal);
    const m = await waitFor(out, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const url = m[1]!;
    expect(out.join('\n')).toContain('gen3-active (gen 3, card C44010048) in the in-process reader');
    expect(out.join('\n')).toContain('Loopback only');
    const r = (await (
      await fetch(`${url}/api/iReadCardBas`, { method: 'POST', body: '{"iType":1}' })
    ).json()) as Record<string, string>;
    expect(r).toMatchObject({ functionName: 'iReadCardBas', success: '1' });
    expect(r.pOutInfo!.split('|')).toHaveLength(12);
    stop.abort();
    expect(await done).toBe(0);
    expect(out.at(-1)).toBe('Reader service stopped (abort).');
    await expect(fetch(`${url}/`)).rejects.toThrow();
  });

  it('refuses wrong usage (exit 64) and bad input (exit 1) with a clear message', async () => {
    const both = await cli('driver', 'serve', '--card', 'gen2', '--reader', 'PCD');
    expect(both.code).toBe(64);
    expect(both.err).toContain('either --card or --reader');
    const timeout = await cli('driver', 'serve', '--pin-timeout', 'soon');
    expect(timeout.code).toBe(64);
    expect(timeout.err).toContain("--pin-timeout must be seconds, above 0 and at most 3600 (got 'soon')");
    const listen = await cli('driver', 'serve', '--listen', 'localhost');
    expect(listen.code).toBe(64);
    const origin = await cli('driver', 'serve', '--allow-origin', 'his.example');
    expect(origin.code).toBe(64);
    const card = await cli('driver', 'serve', '--card', 'no-such-card', '--db', ':memory:');
    expect(card.code).toBe(1);
    expect(card.err).toContain('no-such-card');
    const dir = mkdtempSync(join(tmpdir(), 'sscard-driver-cli-'));
    writeFileSync(join(dir, 's.json'), '{"amountUnit":"cents"}');
    const settings = await cli('driver', 'serve', '--settings', join(dir, 's.json'), '--db', ':memory:');
    expect(settings.code).toBe(1);
    expect(settings.err).toContain('amountUnit');
    expect((await cli('driver', 'frobnicate')).code).toBe(64);
    const help = await cli('driver', 'serve', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('--pin-timeout');
  });

  it('says so when the port is taken (exit 1), leaving nothing open', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await cli('driver', 'serve', '--listen', `127.0.0.1:${port}`, '--db', ':memory:');
      expect(r.code).toBe(1);
      expect(r.err).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      busy.close();
    }
  });
});
