import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openApp } from './harness.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function shows(page: Page, testId: string, text: string | RegExp, timeout = 10_000) {
  await page.getByTestId(testId).filter({ hasText: text }).first().waitFor({ timeout });
}

async function typePin(page: Page, pin: string) {
  await page.getByTestId('pin-pad').waitFor();
  for (const d of pin) await page.getByTestId(`pin-key-${d}`).click();
  await page.getByTestId('pin-confirm').click();
}

describe('the whole story in the browser (issue 6, "done when")', () => {
  it('R1.4: initial PIN refused, changed at the counter, 12.50 paid from the medical accounts, then receipt, journal entry and APDU trace', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      // 1. The gen 3 card with the initial PIN is refused at the till.
      await page.getByTestId('insert-gen3-initial-pin').click();
      await page.getByTestId('amount-input').waitFor();
      await page.getByTestId('method-medical').click();
      await page.getByTestId('amount-input').click();
      await page.keyboard.type('12.50');
      await page.keyboard.press('Enter');
      await typePin(page, '123456');
      await shows(page, 'till-message', '初始密码不能交易');
      await app.screenshot('journey-1-initial-pin-refused');
      await page.getByTestId('pull-card').click();

      // 2. The holder changes the PIN at the bank counter.
      await page.getByTestId('tab-counter').click();
      await page.getByTestId('counter-card-select').selectOption('gen3-initial-pin');
      await page.getByTestId('counter-old-pin').fill('123456');
      await page.getByTestId('counter-new-pin').fill('864209');
      await page.getByTestId('counter-new-pin-again').fill('864209');
      await page.getByTestId('counter-change-pin').click();
      await shows(page, 'counter-result', '社保卡密码修改成功');
      await app.screenshot('journey-2-pin-changed-at-counter');

      // 3. Back at the till: 12.50 from the medical accounts with the new PIN.
      await page.getByTestId('tab-till').click();
      await page.getByTestId('insert-gen3-initial-pin').click();
      await page.getByTestId('amount-input').waitFor();
      await page.getByTestId('amount-input').click();
      await page.keyboard.type('12.50');
      await page.keyboard.press('Enter');
      await typePin(page, '864209');
      await shows(page, 'till-message', '交易成功');
      await shows(page, 'receipt', '12.50');
      await app.screenshot('journey-3-paid-receipt');
      const [payment] = await host.core.api.payments({});
      expect(payment).toMatchObject({ amountFen: 1250, method: 'medical', kind: 'payment' });
      expect(payment!.split.medicalCurrentFen + payment!.split.medicalPriorFen).toBe(1250);

      // 4. The journal entry of that payment in the ledger screen.
      await page.getByTestId('tab-ledger').click();
      await page.getByTestId('ledger-payment-row').first().click();
      await page.getByTestId('ledger-show-journal').first().click();
      await shows(page, 'ledger-journal-entry', '12.50');
      await app.screenshot('journey-4-journal-entry');

      // 5. The APDU trace: the card read, the PIN commands masked, the answers decoded.
      await page.getByTestId('tab-trace').click();
      await shows(page, 'trace-list', /SELECT SSSE|选择社保应用/);
      const trace = (await page.getByTestId('trace-list').textContent()) ?? '';
      // The till refused 123456 itself (R1.4), so the only VERIFY is the new PIN's, masked.
      expect(trace).toContain('0020000003******');
      expect(trace).toMatch(/9000/);
      // The new PIN never reaches the page (123456 is in the on-screen rule text, by design).
      expect(await page.content()).not.toContain('864209');
      await app.screenshot('journey-5-apdu-trace');
    } finally {
      await app.close();
    }
  });
});
