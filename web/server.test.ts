import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWebHost, type WebHost } from './server.ts';

let dir: string;
let host: WebHost;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-web-'));
  host = await startWebHost({ dbPath: join(dir, 'ledger.db'), port: 0 });
});
afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A client as the renderer is one: the page's origin and the token. */
async function client() {
  const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api?token=${host.token}`, { origin: host.origin });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m)) as Record<string, unknown>));
  let next = 1;
  const call = async (method: string, args: unknown) => {
    const id = next++;
    ws.send(JSON.stringify({ id, method, args }));
    for (;;) {
      const reply = messages.find((m) => m.id === id);
      if (reply) return reply;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { ws, messages, call };
}

describe('npm run web: the web host', () => {
  it('serves the renderer: the page, its script and its styles', async () => {
    const page = await fetch(`${host.origin}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    for (const [file, type] of [
      ['app.js', 'text/javascript'],
      ['app.css', 'text/css'],
    ] as const) {
      const r = await fetch(`${host.origin}/${file}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
    }
    expect((await fetch(`${host.origin}/../package.json`)).status).toBe(404);
    expect((await fetch(`${host.origin}/`, { method: 'POST' })).status).toBe(405);
  });

  it('prints an address on 127.0.0.1 with the token in the fragment, which browsers never send', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/#token=${host.token}`);
    expect(host.token.length).toBeGreaterThanOrEqual(32);
  });

  it('answers Api calls over the WebSocket with results, typed failures and live events', async () => {
    const c = await client();
    try {
      const cards = (await c.call('listCards', {})) as { result: { id: string }[] };
      expect(cards.result.map((x) => x.id)).toContain('gen3-active');
      const bad = (await c.call('enterPin', { pin: 'abc' })) as { error: { code: string } };
      expect(bad.error.code).toBe('BAD_ARGUMENTS');
      const unknown = (await c.call('dropTables', {})) as { error: { code: string } };
      expect(unknown.error.code).toBe('UNKNOWN_METHOD');
      await c.call('insertCard', { cardId: 'gen2' });
      const events = c.messages.filter((m) => 'event' in m).map((m) => (m.event as { type: string }).type);
      expect(events).toContain('reader');
      expect(events).toContain('till');
      expect(events).toContain('trace');
      c.ws.send('not json');
      await new Promise((r) => setTimeout(r, 50));
      expect(
        c.messages.some((m) => m.id === null && (m.error as { code: string }).code === 'BAD_ARGUMENTS'),
      ).toBe(true);
    } finally {
      c.ws.close();
    }
  });
});
