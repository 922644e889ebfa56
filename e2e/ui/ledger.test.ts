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

/** Waits until the element with the test id shows the text. */
async function shows(page: Page, testId: string, text: string | RegExp, timeout = 10_000) {
  await page.getByTestId(testId).filter({ hasText: text }).first().waitFor({ timeout });
}

/** A gen 3 medical payment through the Api, as the till would take it. */
async function pay(app: AppSession, amountFen: number) {
  const api = app.host.core.api;
  await api.insertCard({ cardId: 'gen3-active' });
  await app.host.core.workspace().pos.terminal.settled();
  await api.enterAmount({ amountFen, method: 'medical' });
  expect((await api.enterPin({ pin: '258014' })).last?.result).toBe('paid');
  await api.removeCard({});
}

async function section(page: Page, id: string) {
  await page.getByTestId(`ledger-tab-${id}`).click();
}

describe('the ledger in a real browser', () => {
  it('shows the payment, its journal entry, the balances, the settlement and reconciliation agreeing', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      await pay(app, 1250);
      await page.getByTestId('tab-ledger').click();
      await page.getByTestId('panel-ledger').waitFor();

      const row = page.getByTestId('ledger-payment-row').first();
      await row.waitFor();
      const rowText = (await row.textContent()) ?? '';
      expect(rowText).toContain('12.50');
      expect(rowText).toContain('消费');
      expect(rowText).toContain('联机');
      expect(rowText).toContain('已上送');
      await row.click();
      await shows(page, 'ledger-receipt', '医保当年(95000) ¥12.50');
      await app.screenshot('ledger-payments');

      await page.getByTestId('ledger-show-journal').click();
      const entry = page.getByTestId('ledger-journal-entry');
      await entry.waitFor();
      const entryText = (await entry.textContent()) ?? '';
      expect(entryText).toContain('销售收入');
      expect(entryText).toContain('应收·医保当年 95000');
      expect(entryText).toContain('95000 当年医保');
      expect(entryText).toContain('借贷平衡');
      expect(entryText.match(/12\.50/g)?.length).toBeGreaterThanOrEqual(4);
      await app.screenshot('ledger-journal');

      await section(page, 'balances');
      await shows(page, 'ledger-balances', '陈明');
      expect(await page.getByTestId('ledger-balances-card').inputValue()).toBe('gen3-active');
      const b = await host.core.api.balances({ cardId: 'gen3-active' });
      expect(b.medicalCurrent).toBe(84750);
      await shows(page, 'ledger-balance-95000', '847.50');
      await shows(page, 'ledger-balance-95001', '120.50');
      await shows(page, 'ledger-balance-reserve', '2000.00');
      await app.screenshot('ledger-balances');

      await section(page, 'settle');
      await shows(page, 'ledger-settle-payments', '12.50');
      expect(await page.getByTestId('ledger-settle-payments').textContent()).toContain('1');
      await shows(page, 'ledger-settle-total', '12.50');
      await page.getByTestId('ledger-close-day').click();
      await shows(page, 'ledger-close-result', '日结完成');
      await shows(page, 'ledger-settle-closed', '已日结');
      await app.screenshot('ledger-settle');

      await section(page, 'reconcile');
      await shows(page, 'ledger-reconcile-verdict', '对账一致');
      await app.screenshot('ledger-reconcile');

      // 退费 from the transaction's detail.
      await section(page, 'payments');
      await page.getByTestId('ledger-payment-row').first().click();
      await page.getByTestId('ledger-refund-amount').fill('2.50');
      await page.getByTestId('ledger-refund').click();
      await shows(page, 'ledger-refund-result', '退费 2.50 元成功');
      await shows(page, 'ledger-payments', '退费');
      expect((await host.core.api.payments({}))[0]).toMatchObject({ kind: 'refund', amountFen: 250 });
    } finally {
      await app.close();
    }
  });

  it('an offline payment waits in the queue, reconciliation lists it, and 立即上送 sends it', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      await pay(app, 1250);
      await host.core.api.setHostLink({ link: 'down' });
      await pay(app, 300);
      await page.getByTestId('tab-ledger').click();
      await shows(page, 'ledger-payments', '脱机');
      expect(await page.getByTestId('ledger-payment-row').first().textContent()).toContain('待上送');

      await section(page, 'queue');
      const pending = page.getByTestId('ledger-queue-pending').getByTestId('ledger-queue-row');
      await pending.first().waitFor();
      expect(await pending.count()).toBe(1);
      expect(await pending.first().textContent()).toContain('3.00');
      expect(await pending.first().getAttribute('data-state')).toBe('pending');
      await app.screenshot('ledger-queue');

      // The host is still down: the button says so and nothing leaves.
      await page.getByTestId('ledger-sync').click();
      await shows(page, 'ledger-sync-result', '主机未连通');

      await section(page, 'reconcile');
      await shows(page, 'ledger-reconcile-error', '无法连接');

      await host.core.api.setHostLink({ link: 'up' });
      await page.getByTestId('ledger-reconcile-run').click();
      await shows(page, 'ledger-reconcile-verdict', '对账不一致');
      await shows(page, 'ledger-mismatches', '尚未上送');
      await app.screenshot('ledger-reconcile-mismatch');

      await section(page, 'queue');
      await page.getByTestId('ledger-sync').click();
      await shows(page, 'ledger-sync-result', '已上送 1 笔');
      await page.getByTestId('ledger-queue-empty').waitFor();
      await shows(page, 'ledger-queue-sent', '3.00');
      await app.screenshot('ledger-queue-sent');
      expect((await host.core.api.forwardQueue({})).pending).toEqual([]);

      await section(page, 'reconcile');
      await shows(page, 'ledger-reconcile-verdict', '对账一致');
      await section(page, 'settle');
      await shows(page, 'ledger-settle-total', '15.50');
      await shows(page, 'ledger-settle-pending', '0');
    } finally {
      await app.close();
    }
  });
});
