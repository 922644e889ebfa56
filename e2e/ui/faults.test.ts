import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openApp, type AppSession } from './harness.ts';

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

async function waitEnabled(page: Page, testId: string): Promise<void> {
  await page.locator(`[data-testid="${testId}"]:enabled`).waitFor({ timeout: TIMEOUT });
}

async function medicalTotal(app: AppSession, cardId: string): Promise<number> {
  const card = (await app.host.core.api.listCards({})).find((c) => c.id === cardId)!;
  return (card.balances.medicalCurrent ?? 0) + (card.balances.medicalPrior ?? 0);
}

describe('fault injection in a real browser (故障注入 in the sidebar)', () => {
  it('"pull the card at APDU n" armed in the panel ends a gen 3 payment at the PIN with 卡片已拔出 and charges nothing', async () => {
    const app = await openApp(browser);
    try {
      const { page } = app;
      const before = await medicalTotal(app, 'gen3-active');
      await page.getByTestId('fault-panel-toggle').click();
      await waitText(page, 'fault-state', '无故障');
      // A gen 3 sale: 20 APDUs to read the card, 3 to authenticate it (PSAM), the 24th is VERIFY.
      await page.getByTestId('fault-remove-at').fill('24');
      await page.getByTestId('fault-reader-arm').click();
      await waitText(page, 'fault-state', '第 24 条 APDU 时拔卡');

      await page.getByTestId('insert-gen3-active').click();
      await waitEnabled(page, 'amount-input');
      await page.getByTestId('amount-input').fill('12.50');
      await page.keyboard.press('Enter');
      await waitEnabled(page, 'pin-key-2');
      await page.keyboard.type('258014');
      await page.getByTestId('pin-confirm').click();

      // The card left the reader: the till is back at 请插入社保卡, the sale shown as pulled.
      await waitText(page, 'till-last-result', '卡片已拔出，交易未完成');
      await waitText(page, 'till-message', '请插入社保卡');
      await waitText(page, 'reader-card', '空');
      // The removal fired once: nothing is armed any more.
      await waitText(page, 'fault-state', '无故障');
      await app.screenshot('faults-card-pulled-at-verify');
      expect(await app.host.core.api.payments({})).toHaveLength(0);
      expect(await medicalTotal(app, 'gen3-active')).toBe(before);
      const till = await app.host.core.api.tillState({});
      expect(till.last?.result).toBe('pulled');

      // The host fault selector and 清除全部故障.
      await page.getByTestId('fault-host').selectOption('error');
      await waitText(page, 'fault-state', '主机对交易请求返回错误');
      expect((await app.host.core.api.faultState({})).host).toEqual({ kind: 'error', code: 'DECLINED' });
      await page.getByTestId('fault-corrupt').click();
      await waitText(page, 'fault-state', '卡片损坏');
      await page.getByTestId('fault-clear').click();
      await waitText(page, 'fault-state', '无故障');
      expect(await app.host.core.api.faultState({})).toMatchObject({ host: null, corruptions: [] });
    } finally {
      await app.close();
    }
  });
});
