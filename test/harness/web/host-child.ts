import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/**
 * `npm run web` as a real child process, for the tests that try to knock the web host over: an
 * uncaught exception kills a process (it would only be reported inside Vitest's own worker), so
 * "the host stays up" is proved on the process the operator runs.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface WebHostChild {
  port: number;
  token: string;
  origin: string;
  child: ChildProcess;
  /** Everything the host printed (stdout and stderr). */
  output(): string;
  /** Still running (no exit, no signal). */
  alive(): boolean;
  stop(): Promise<number | null>;
}

export async function startWebHostChild(dbPath: string): Promise<WebHostChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'web/main.ts', '--port', '0', '--db', dbPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SSCARD_HOST_URL: '', SSCARD_TERMINAL_ID: '', SSCARD_HOST_TOKEN: '' },
  });
  let out = '';
  let exited = false;
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const [, port, token] = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the web host did not start within 60 s:\n${out}`)),
      60_000,
    );
    const check = () => {
      const m = /open http:\/\/127\.0\.0\.1:(\d+)\/#token=([\w-]+)/.exec(out);
      // Both start-up lines printed: anything after them is the host reacting to the test.
      if (m && /Ctrl-C stops\n/.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m);
      }
    };
    child.stdout!.on('data', check);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the web host exited (${code}) before it listened:\n${out}`));
    });
  });
  return {
    port: Number(port),
    token: token!,
    origin: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    alive: () => !exited && child.exitCode === null && child.signalCode === null,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A client as the renderer is one: the page's origin and the token; replies by id, events kept. */
export async function apiClient(host: { port: number; token: string; origin: string }) {
  const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api?token=${host.token}`, { origin: host.origin });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m)) as Record<string, unknown>));
  let next = 1;
  const call = async (method: string, args: unknown, timeoutMs = 10_000) => {
    const id = next++;
    ws.send(JSON.stringify({ id, method, args }));
    const until = Date.now() + timeoutMs;
    for (;;) {
      const reply = messages.find((m) => m.id === id);
      if (reply) return reply;
      if (Date.now() > until) throw new Error(`no reply to ${method} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, messages, call, closed };
}

/**
 * A normal session, as the operator's browser has one: the page, the WebSocket with the
 * token, an Api call answered, and a live event. Throws (with what failed) otherwise.
 */
export async function normalSession(host: { port: number; token: string; origin: string }): Promise<void> {
  const page = await fetch(`${host.origin}/`);
  if (page.status !== 200 || !(await page.text()).includes('<div id="root">'))
    throw new Error(`the page was not served (status ${page.status})`);
  const c = await apiClient(host);
  try {
    const cards = (await c.call('listCards', {})) as { result?: { id: string }[] };
    if (!cards.result?.some((x) => x.id === 'gen3-active'))
      throw new Error(`listCards did not answer the wallet: ${JSON.stringify(cards).slice(0, 200)}`);
    const inserted = (await c.call('insertCard', { cardId: 'gen2' })) as { error?: unknown };
    if (inserted.error) throw new Error(`insertCard failed: ${JSON.stringify(inserted.error)}`);
    const until = Date.now() + 10_000;
    while (!c.messages.some((m) => (m.event as { type?: string } | undefined)?.type === 'reader')) {
      if (Date.now() > until) throw new Error('no reader event after insertCard');
      await new Promise((r) => setTimeout(r, 5));
    }
    const removed = (await c.call('removeCard', {})) as { error?: unknown };
    if (removed.error) throw new Error(`removeCard failed: ${JSON.stringify(removed.error)}`);
  } finally {
    c.ws.close();
  }
}
