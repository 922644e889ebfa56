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

/** Waits until step n has run and the sequencer waits for 下一步 (or the demo is done). */
async function stepDone(page: Page, n: number) {
  await page
    .locator(
      `[data-testid="trainer-step"][data-step="${n}"]:is([data-status="waiting"], [data-status="done"], [data-status="failed"])`,
    )
    .waitFor({ timeout: 20_000 });
  const error = page.getByTestId('trainer-error');
  if (await error.count()) throw new Error(`step ${n} failed: ${await error.textContent()}`);
}

async function next(page: Page, n: number) {
  await page.getByTestId('trainer-next').click();
  await stepDone(page, n);
}

const active = (page: Page, state: string) =>
  page.locator(`[data-testid="state-chart"] [data-testid="state-${state}"][data-active="true"]`).waitFor();

async function caption(page: Page) {
  return (await page.getByTestId('trainer-caption').textContent()) ?? '';
}

describe('trainer mode in a real browser', () => {
  it('runs demo (b) step by step, then demo (c) with autoplay, in a sandbox the live books never see', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      const api = host.core.api;
      await page.getByTestId('tab-trainer').click();
      await page.getByTestId('panel-trainer').waitFor();
      // The chart is there before any demo: the terminal waits for a card.
      await active(page, 'idle');

      // ---- (b) 初始密码被拒并到柜台修改, by 下一步 ------------------------------------------------
      await page.getByTestId('trainer-demo-initial-pin').click();
      await stepDone(page, 0);
      await page.getByTestId('training-badge').waitFor();
      expect((await api.workspace({})).mode).toBe('training');
      expect(await caption(page)).toContain('初始密码 123456');
      expect(await page.getByTestId('trainer-next').textContent()).toContain('插入刚领取的三代卡');

      await next(page, 1);
      expect(await caption(page)).toContain('刚领取的三代社保卡');
      await active(page, 'session');
      await active(page, 'gen3');
      await active(page, 'holder');
      expect(await page.getByTestId('state-chart').getAttribute('data-generation')).toBe('3');

      await next(page, 2);
      expect(await caption(page)).toContain('外部认证');
      await active(page, 'awaitingPin');
      expect(await page.getByTestId('trainer-message').textContent()).toBe('请持卡人输入社保卡密码');
      expect(await page.getByTestId('trainer-last-sw').textContent()).toContain('9000 = 成功');

      await next(page, 3);
      expect(await caption(page)).toContain('初始密码不能交易（R1.4）');
      await active(page, 'removeCard');
      await page.locator('[data-testid="state-declined"][data-last="true"]').waitFor();
      expect(await page.getByTestId('trainer-message').textContent()).toContain('初始密码不能交易');
      expect(await page.getByTestId('trainer-last-sw').textContent()).toContain('本步没有与卡片的 APDU 交换');
      const checks = (await page.getByTestId('trainer-checks').textContent()) ?? '';
      expect(checks).toContain('卡片没有收到 VERIFY PIN');
      expect(checks).not.toContain('✗');
      await app.screenshot('trainer-initial-pin-step');
      await page.getByTestId('lang-toggle').click();
      expect(await caption(page)).toContain('The initial PIN cannot pay (R1.4)');
      expect(await page.getByTestId('trainer-message').textContent()).toContain(
        'initial PIN cannot be used to pay',
      );
      await app.screenshot('trainer-initial-pin-step-en');
      await page.getByTestId('lang-toggle').click();

      await next(page, 4);
      await active(page, 'idle');

      // A look at the trace in the middle of the demo, and back: the demo is where it was.
      await page.getByRole('button', { name: '在 APDU 跟踪中查看指令 →' }).click();
      await page.getByTestId('trace-list').waitFor();
      expect(await page.getByTestId('trace-list').textContent()).toContain('SELECT SSSE（选择社保应用）');
      await page.getByTestId('tab-trainer').click();
      await stepDone(page, 4);

      await next(page, 5);
      expect(await caption(page)).toContain('CHANGE PIN 80 5E');
      expect(await page.getByTestId('trainer-detail').textContent()).toBe('社保卡密码修改成功');
      await active(page, 'idle');

      await next(page, 6);
      await active(page, 'holder');
      await next(page, 7);
      await active(page, 'awaitingPin');
      await next(page, 8);
      expect(await caption(page)).toContain('卡片校验新密码');
      await active(page, 'removeCard');
      await page.locator('[data-testid="state-paid"][data-last="true"]').waitFor();
      expect(await page.getByTestId('trainer-message').textContent()).toBe('交易成功');
      expect(await page.getByTestId('trainer-last-sw').textContent()).toContain('9000 = 成功');
      expect(await page.getByTestId('trainer-outcome').textContent()).toContain('VERIFY PIN ******');

      await next(page, 9);
      await page.getByTestId('trainer-done').waitFor();
      await active(page, 'idle');
      expect(await page.getByTestId('trainer-next').isDisabled()).toBe(true);
      expect(await page.locator('.step-dots .dot.done').count()).toBe(9);
      await app.screenshot('trainer-done');
      // In the sandbox the card's PIN is changed and one payment is booked.
      expect((await api.listCards({})).find((c) => c.id === 'gen3-initial-pin')!.pin.initial).toBe(false);
      expect(await api.payments({})).toHaveLength(1);

      // ---- (c) 密码锁定与解锁, with autoplay, on a fresh sandbox ------------------------------------
      await page.getByTestId('trainer-demo-pin-blocked').click();
      await stepDone(page, 0);
      expect(await api.payments({})).toHaveLength(0);
      await page.getByTestId('trainer-speed').selectOption('600');
      await page.getByTestId('trainer-autoplay').click();
      // Along the way: the chart follows the till (a wrong PIN waits for the next try).
      await active(page, 'awaitingPinAgain');
      await page.getByTestId('trainer-done').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('trainer-step').getAttribute('data-step')).toBe('13');
      expect(await page.locator('.step-dots .dot.done').count()).toBe(13);
      expect(await page.getByTestId('trainer-autoplay').textContent()).toBe('自动播放');
      expect(await page.locator('[data-testid="panel-trainer"] .check.bad').count()).toBe(0);
      await app.screenshot('trainer-autoplay-done');
      const hostTrace = await api.trace({});
      expect(hostTrace.map((e) => e.sw)).toEqual(expect.arrayContaining(['63C2', '63C1', '63C0', '6983']));
      expect(JSON.stringify(hostTrace)).not.toMatch(/258014|111111/);

      // ---- 退出培训: back to the live till, whose books and cards the demos never touched ----------
      await page.getByTestId('trainer-exit').click();
      await page.getByTestId('panel-till').waitFor();
      await page.getByTestId('training-badge').waitFor({ state: 'detached' });
      expect((await api.workspace({})).mode).toBe('live');
      expect(await api.payments({})).toHaveLength(0);
      const cards = await api.listCards({});
      expect(cards.find((c) => c.id === 'gen3-initial-pin')!.pin.initial).toBe(true);
      expect(cards.find((c) => c.id === 'gen3-active')!.pin).toMatchObject({ triesLeft: 3, blocked: false });
    } finally {
      await app.close();
    }
  });

  it('runs demo (d) with autoplay in English: gen 2 declined, gen 3 approved offline and forwarded', async () => {
    const app = await openApp(browser, { lang: 'en' });
    try {
      const { page, host } = app;
      await page.getByTestId('tab-trainer').click();
      await page.getByTestId('trainer-demo-host-down').click();
      await stepDone(page, 0);
      expect(await caption(page)).toContain('host down');
      await page.getByTestId('trainer-speed').selectOption('600');
      await page.getByTestId('trainer-autoplay').click();
      // Gen 2 declined with the host down (its chart), then gen 3 approved offline.
      await page.locator('[data-testid="state-chart"][data-generation="2"]').waitFor();
      await page.getByTestId('trainer-done').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('trainer-caption').textContent()).toContain(
        'forwards the offline payment',
      );
      expect(await page.getByTestId('host-link').inputValue()).toBe('up');
      expect(await page.getByTestId('trainer-recap').textContent()).toContain('Approved offline');
      await app.screenshot('trainer-host-down-done-en');
      expect(await page.locator('[data-testid="panel-trainer"] .check.bad').count()).toBe(0);
      const payments = await host.core.api.payments({});
      expect(payments).toHaveLength(1);
      expect((await host.core.api.forwardQueue({})).pending).toHaveLength(0);
      await page.getByTestId('trainer-exit').click();
      await page.getByTestId('panel-till').waitFor();
      expect(await host.core.api.payments({})).toHaveLength(0);
    } finally {
      await app.close();
    }
  });
  it('says clearly when the app did not do what the step says, and retries the step', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      await page.getByTestId('tab-trainer').click();
      await page.getByTestId('trainer-demo-initial-pin').click();
      await stepDone(page, 0);
      await next(page, 1);
      // Behind the trainer's back the card is pulled: the till no longer asks for an amount.
      await host.core.api.removeCard({});
      await page.getByTestId('trainer-next').click();
      await page.getByTestId('trainer-error').waitFor();
      const error = (await page.getByTestId('trainer-error').textContent()) ?? '';
      expect(error).toContain('演示中断：应用没有按说明完成这一步');
      expect(error).toContain('终端现在不需要输入金额');
      expect(await page.getByTestId('panel-trainer').getAttribute('data-status')).toBe('failed');
      expect(await page.locator('.step-dots .dot.failed').count()).toBe(1);
      expect(await page.getByTestId('trainer-next').isDisabled()).toBe(true);
      await app.screenshot('trainer-step-error');

      // The card goes back in; 重试本步 does the step again, and the demo goes on.
      await host.core.api.insertCard({ cardId: 'gen3-initial-pin' });
      await host.core.workspace().pos.terminal.settled();
      await page.getByTestId('trainer-retry').click();
      await stepDone(page, 2);
      await active(page, 'awaitingPin');
      expect(await page.getByTestId('trainer-error').count()).toBe(0);
    } finally {
      await app.close();
    }
  });
});
