import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openApp } from './harness.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('the app shell in a real browser', () => {
  it('opens in Chinese with every screen reachable, and switches to English', async () => {
    const app = await openApp(browser);
    try {
      const { page } = app;
      expect(await page.getByTestId('tab-till').textContent()).toBe('收银台');
      for (const tab of ['counter', 'ledger', 'trace', 'trainer', 'till']) {
        await page.getByTestId(`tab-${tab}`).click();
        await page.getByTestId(`panel-${tab}`).waitFor();
      }
      await page.getByTestId('lang-toggle').click();
      expect(await page.getByTestId('tab-till').textContent()).toBe('Till');
      await app.screenshot('shell-en');
    } finally {
      await app.close();
    }
  });
});
