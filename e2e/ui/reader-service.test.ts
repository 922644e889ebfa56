import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openApp } from './harness.ts';

/**
 * 读卡服务 in the app, in a real browser: the operator starts the reader service from the
 * reader panel, a HIS calls iVerifyPIN over HTTP, the customer PIN pad asks the holder, the
 * holder types the PIN on it, the HIS gets 0; then the operator stops the service.
 */

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const TIMEOUT = 15_000;

async function waitText(page: Page, testId: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([id, s]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(s!) ?? false,
    [testId, text] as const,
    { timeout: TIMEOUT },
  );
}

interface Answer {
  functionName: string;
  success: string;
  pOutInfo: string;
}

async function his(url: string, fn: string, body: Record<string, unknown>): Promise<Answer> {
  const r = await fetch(`${url}/api/${fn}`, { method: 'POST', body: JSON.stringify(body) });
  return (await r.json()) as Answer;
}

describe('读卡服务 from the reader panel', () => {
  it('serves the card to a HIS; iVerifyPIN waits for the PIN typed on the customer PIN pad; stop ends it', async () => {
    const app = await openApp(browser);
    try {
      const { page } = app;
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.getByTestId('insert-gen3-active').click();
      await waitText(page, 'reader-card', '陈明');
      await waitText(page, 'reader-service-state', '已停止');

      await page.getByTestId('reader-service-toggle').click();
      await waitText(page, 'reader-service-state', '运行中');
      const url = ((await page.getByTestId('reader-service-url').textContent()) ?? '').trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+$/);
      // The reader stays the same while the service serves it.
      const choice = page.getByTestId('reader-choice');
      expect(await choice.isDisabled()).toBe(true);
      expect(await choice.getAttribute('title')).toContain('读卡服务正在运行');

      // A plain read answers at once.
      const read = await his(url, 'iReadCardBas', { iType: 1 });
      expect(read.success).toBe('1');
      expect(read.pOutInfo.split('|')[3]).toBe('440100D156000005A9196E043C8605FF');

      // The operator is elsewhere; the PIN request brings the till and its PIN pad forward.
      await page.getByTestId('tab-ledger').click();
      const verify = his(url, 'iVerifyPIN', { iType: 1 });
      await page.getByTestId('pin-pad').waitFor({ timeout: TIMEOUT });
      await waitText(page, 'pin-pad-kind', 'iVerifyPIN');
      await waitText(page, 'customer-prompt', '请输入密码');
      await waitText(page, 'reader-service-waiting', 'iVerifyPIN');
      for (const d of '258014') await page.getByTestId(`pin-key-${d}`).click();
      await app.screenshot('reader-service-pin-pad');
      expect(await page.content()).not.toContain('258014');
      await page.getByTestId('pin-confirm').click();
      expect(await verify).toMatchObject({ functionName: 'iVerifyPIN', success: '1' });
      await page.getByTestId('pin-pad-idle').waitFor({ timeout: TIMEOUT });

      // Cancel on the pad: -31.
      const cancelled = his(url, 'iVerifyPIN', { iType: 1 });
      await page.getByTestId('pin-pad').waitFor({ timeout: TIMEOUT });
      await page.getByTestId('pin-cancel').click();
      expect((await cancelled).success).toBe('-31');

      await page.getByTestId('reader-service-toggle').click();
      await waitText(page, 'reader-service-state', '已停止');
      expect(await page.getByTestId('reader-service-url').count()).toBe(0);
      await expect(fetch(`${url}/`)).rejects.toThrow();
      expect((await app.host.core.api.readerServiceState({})).running).toBe(false);
    } finally {
      await app.close();
    }
  });
});
