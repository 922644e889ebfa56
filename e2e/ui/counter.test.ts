import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openApp, type AppSession } from './harness.ts';

const PHOTO = fileURLToPath(new URL('../../fixtures/applications/photo-358x441.jpg', import.meta.url));

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

async function openCounter(app: AppSession) {
  await app.page.getByTestId('tab-counter').click();
  await app.page.getByTestId('panel-counter').waitFor();
}

async function changePin(page: Page, oldPin: string, newPin: string, again = newPin) {
  await page.getByTestId('counter-old-pin').fill(oldPin);
  await page.getByTestId('counter-new-pin').fill(newPin);
  await page.getByTestId('counter-new-pin-again').fill(again);
  await page.getByTestId('counter-change-pin').click();
}

async function card(app: AppSession, id: string) {
  return (await app.host.core.api.listCards({})).find((c) => c.id === id)!;
}

describe('the bank counter in a real browser', () => {
  it('changes a PIN by clicking and typing: 123456 refused as the new PIN (R1.4), a wrong old PIN counts, then 864209 pays', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      await openCounter(app);
      // The card sits in the till's reader: the counter says it will take it out.
      await host.core.api.insertCard({ cardId: 'gen3-initial-pin' });
      await page.getByTestId('counter-card-select').selectOption('gen3-initial-pin');
      await page.getByTestId('counter-in-reader').waitFor();
      const pinInputs = page.locator('input[type="password"]');
      expect(await pinInputs.count()).toBe(3);

      await changePin(page, '123456', '123456');
      await shows(page, 'counter-result', 'R1.4');
      const refused = (await page.getByTestId('counter-result').textContent()) ?? '';
      expect(refused).toContain('不能改为初始密码 123456');
      expect(await page.getByTestId('counter-took-from-till').count()).toBe(1);
      expect((await host.core.api.readerState({})).cardPresent).toBe(false);
      // The inputs are cleared after every attempt.
      expect(await page.getByTestId('counter-old-pin').inputValue()).toBe('');
      await app.screenshot('counter-initial-pin-refused');

      await changePin(page, '000000', '864209');
      await shows(page, 'counter-result', '还可尝试 2 次');
      await app.screenshot('counter-wrong-old-pin');

      // The two new PINs must agree before the button is enabled.
      await page.getByTestId('counter-old-pin').fill('123456');
      await page.getByTestId('counter-new-pin').fill('864209');
      await page.getByTestId('counter-new-pin-again').fill('864208');
      await page.getByTestId('counter-pin-mismatch').waitFor();
      expect(await page.getByTestId('counter-change-pin').isDisabled()).toBe(true);

      await changePin(page, '123456', '864209');
      await shows(page, 'counter-result', '社保卡密码修改成功');
      await shows(page, 'counter-card-info', '密码可尝试 3 次');
      await app.screenshot('counter-pin-changed');
      expect(await page.content()).not.toContain('864209');

      expect((await card(app, 'gen3-initial-pin')).pin.initial).toBe(false);
      await host.core.api.insertCard({ cardId: 'gen3-initial-pin' });
      await host.core.workspace().pos.terminal.settled();
      await host.core.api.enterAmount({ amountFen: 1250, method: 'medical' });
      expect((await host.core.api.enterPin({ pin: '864209' })).last?.result).toBe('paid');
      await host.core.api.removeCard({});

      await page.getByTestId('lang-toggle').click();
      await changePin(page, '864209', '123456');
      await shows(page, 'counter-result', 'The new PIN cannot be the initial PIN 123456');
      await app.screenshot('counter-initial-pin-refused-en');
    } finally {
      await app.close();
    }
  });

  it('unblocks a blocked PIN (密码解锁); the PIN itself is unchanged', async () => {
    const app = await openApp(browser);
    try {
      const { page } = app;
      await openCounter(app);
      await page.getByTestId('counter-tab-unblock').click();
      await page.getByTestId('counter-card-select').selectOption('gen3-pin-blocked');
      await shows(page, 'counter-card-info', '密码已锁定');
      await page.getByTestId('counter-unblock').click();
      await shows(page, 'counter-result', '社保卡密码已解锁');
      await shows(page, 'counter-card-info', '密码可尝试 3 次');
      await app.screenshot('counter-unblocked');
      expect((await card(app, 'gen3-pin-blocked')).pin.blocked).toBe(false);
      const r = await app.host.core.api.counterChangePin({
        cardId: 'gen3-pin-blocked',
        oldPin: '731904',
        newPin: '864209',
      });
      expect(r.ok).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('an application: every problem next to its field, then accepted with a photo, issued and activated', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      await openCounter(app);
      await page.getByTestId('counter-tab-apply').click();
      await page.getByTestId('apply-doc-number').fill('440106199203154315');
      await page.getByTestId('counter-apply').click();
      await shows(page, 'counter-result', '未受理');
      await shows(page, 'counter-problem-docNumber', 'R3.3');
      await shows(page, 'counter-problem-name', 'R9');
      await shows(page, 'counter-problem-idImagesUploaded', 'R9');
      await shows(page, 'counter-problem-photo', 'R8');
      await app.screenshot('counter-apply-problems');

      await page.getByTestId('counter-apply-sample').click();
      await page.getByTestId('apply-photo').setInputFiles(PHOTO);
      await shows(page, 'apply-photo-check', '358×441');
      await page.getByTestId('apply-make-ssn').click();
      await shows(page, 'apply-ssn', '440106199203154314');
      await page.getByTestId('counter-apply').click();
      await shows(page, 'counter-result', '受理成功');
      await shows(page, 'counter-receipt', '社会保障卡申领回执');
      expect(await page.getByTestId('counter-problem-photo').count()).toBe(0);
      await app.screenshot('counter-apply-receipt');

      const issued = (await host.core.api.listCards({})).find((c) => c.source === 'issued')!;
      expect(issued).toMatchObject({ holderName: '赵敏', status: 'not-activated' });

      await page.getByTestId('counter-go-issue').click();
      await shows(page, 'counter-progress-state', '制卡中');
      await page.getByTestId('counter-advance-CITY_BRANCH_RECEIVED').click();
      await shows(page, 'counter-progress-state', '市分行已接收');
      await page.getByTestId('counter-advance-OUTLET_RECEIVED').click();
      await shows(page, 'counter-progress-state', '网点已接收');

      const activate = async (pin: string) => {
        await page.getByTestId('counter-activate-pin').fill(pin);
        await page.getByTestId('counter-activate-pin-again').fill(pin);
        await page.getByTestId('counter-activate-password').fill('246810');
        await page.getByTestId('counter-activate-password-again').fill('246810');
        await page.getByTestId('counter-activate').click();
      };
      await activate('123456');
      await shows(page, 'counter-result', 'R1.4');
      await activate('864209');
      await shows(page, 'counter-result', '领卡启用完成');
      await shows(page, 'counter-progress-state', '领卡启用');
      await app.screenshot('counter-activated');
      expect(await card(app, issued.id)).toMatchObject({ status: 'active', pin: { initial: false } });

      await page.getByTestId('counter-tab-history').click();
      await shows(page, 'counter-history', '领卡启用');
      await shows(page, 'counter-history', 'R1.4');
      await app.screenshot('counter-history');
    } finally {
      await app.close();
    }
  });

  it('loss report, replacement and closing show the rules that refuse them', async () => {
    const app = await openApp(browser);
    try {
      const { page } = app;
      await openCounter(app);
      await page.getByTestId('counter-card-select').selectOption('gen3-active');
      await page.getByTestId('counter-tab-replace').click();
      await page.getByTestId('counter-replace').click();
      await shows(page, 'counter-result', 'R13');
      await shows(page, 'counter-result', '须先挂失');

      await page.getByTestId('counter-tab-close').click();
      await page.getByTestId('counter-close').click();
      await shows(page, 'counter-result', 'R14');
      await app.screenshot('counter-close-refused');

      await page.getByTestId('counter-tab-loss').click();
      await page.getByTestId('counter-report-loss').click();
      await shows(page, 'counter-result', '挂失成功');
      await shows(page, 'counter-card-info', '已挂失');

      await page.getByTestId('counter-tab-replace').click();
      await page.getByTestId('counter-replace').click();
      await shows(page, 'counter-result', '补换卡成功');
      await shows(page, 'counter-receipt', '补换卡回执');
      await app.screenshot('counter-replaced');
      expect((await card(app, 'gen3-active')).status).toBe('closed');
    } finally {
      await app.close();
    }
  });
});
