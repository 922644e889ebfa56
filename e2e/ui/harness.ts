import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWebHost, type WebHost } from '../../web/server.ts';
import { buildRenderer, type RendererBundle } from '../../renderer/build.ts';
import type { CoreOptions } from '../../core/api/create-core.ts';

/** Debian's Chromium (apt package `chromium`); `npx playwright install` cannot run here. */
export const CHROMIUM = process.env.SSCARD_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Screenshots are test artefacts: artifacts/screenshots/<name>.png (CI keeps the folder). */
export const SCREENSHOTS = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

let bundle: Promise<RendererBundle> | null = null;
/** One renderer build per test file. */
export function sharedBundle(): Promise<RendererBundle> {
  bundle ??= buildRenderer();
  return bundle;
}

export interface AppSession {
  host: WebHost;
  page: Page;
  /** Saves artifacts/screenshots/<name>.png of the whole page. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A fresh web host (its own ledger in a temporary folder) and a page on it, in Chinese
 * unless `lang` says otherwise.
 */
export async function openApp(
  browser: Browser,
  options: Partial<CoreOptions> & { lang?: 'zh' | 'en' } = {},
): Promise<AppSession> {
  const dir = mkdtempSync(join(tmpdir(), 'sscard-ui-'));
  const { lang, ...core } = options;
  const host = await startWebHost({
    dbPath: join(dir, 'ledger.db'),
    port: 0,
    bundle: await sharedBundle(),
    ...core,
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
  if (lang === 'en') await context.addInitScript(() => localStorage.setItem('sscard-lang', 'en'));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(host.url);
  await page.getByTestId('app-ready').waitFor({ timeout: 15_000 });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    host,
    page,
    async screenshot(name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      await host.close();
      rmSync(dir, { recursive: true, force: true });
      if (errors.length) throw new Error(`page errors: ${errors.join(' | ')}`);
    },
  };
}
