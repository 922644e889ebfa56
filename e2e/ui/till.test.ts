import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openApp, type AppSession } from './harness.ts';
import { parseYuanToFen, sanitizeAmount } from '../../renderer/panels/till.tsx';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const TIMEOUT = 15_000;

/** Waits until the element with this test id contains the text. */
async function waitText(page: Page, testId: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([id, s]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(s!) ?? false,
    [testId, text] as const,
    { timeout: TIMEOUT },
  );
}

/** Waits for the terminal machine's state, kept as an attribute: the cashier never sees its name. */
async function waitState(page: Page, state: string): Promise<void> {
  await page.waitForFunction(
    (s) => document.querySelector('[data-testid="till-state"]')?.getAttribute('data-machine-state') === s,
    state,
    { timeout: TIMEOUT },
  );
}

async function waitEnabled(page: Page, testId: string): Promise<void> {
  await page.locator(`[data-testid="${testId}"]:enabled`).waitFor({ timeout: TIMEOUT });
}

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent()) ?? '';
}

/** Inserts a card with its 插卡 button and keys the amount (keyboard, Enter). */
async function startSale(page: Page, cardId: string, amount: string): Promise<void> {
  await page.getByTestId(`insert-${cardId}`).click();
  await waitEnabled(page, 'amount-input');
  await page.keyboard.type(amount);
  await page.keyboard.press('Enter');
}

async function medicalTotal(app: AppSession, cardId: string): Promise<number> {
  const card = (await app.host.core.api.listCards({})).find((c) => c.id === cardId)!;
  return (card.balances.medicalCurrent ?? 0) + (card.balances.medicalPrior ?? 0);
}

async function withApp(run: (app: AppSession) => Promise<void>, lang?: 'zh' | 'en'): Promise<void> {
  const app = await openApp(browser, lang ? { lang } : {});
  try {
    await run(app);
  } finally {
    await app.close();
  }
}

describe('amount entry rules (no floating point)', () => {
  it('parses yuan text to integer fen and refuses what is not an amount', () => {
    expect(parseYuanToFen('12.50')).toBe(1250);
    expect(parseYuanToFen('12.5')).toBe(1250);
    expect(parseYuanToFen('0.01')).toBe(1);
    expect(parseYuanToFen('19.99')).toBe(1999);
    expect(parseYuanToFen('9999999.99')).toBe(999_999_999);
    expect(parseYuanToFen('1.')).toBe(100);
    for (const bad of ['', '0', '0.00', '.', '1.234', '10000000', '-1', '1e3', '1,5'])
      expect(parseYuanToFen(bad)).toBeNull();
    expect(sanitizeAmount('.5')).toBe('0.5');
    expect(sanitizeAmount('007')).toBe('7');
    expect(sanitizeAmount('12.505')).toBeNull();
    expect(sanitizeAmount('1.2.3')).toBeNull();
    expect(sanitizeAmount('12a')).toBeNull();
  });
});

describe('the till in a real browser', () => {
  it('takes a gen 3 payment: click to insert, keyboard amount, PIN by keys and keyboard, receipt, print', async () => {
    await withApp(async (app) => {
      const { page } = app;
      const before = await medicalTotal(app, 'gen3-active');
      await waitText(page, 'till-message', '请插入社保卡');
      expect(await page.getByTestId('amount-input').isDisabled()).toBe(true);
      expect(await page.getByTestId('amount-confirm').getAttribute('title')).toContain('请先插卡');

      await page.getByTestId('insert-gen3-active').click();
      await waitText(page, 'reader-card', '陈明');
      await waitEnabled(page, 'amount-input');
      await waitText(page, 'till-message', '请输入金额');
      // Keyboard first: the amount field has the focus; a third decimal is refused.
      await page.keyboard.type('12.505');
      expect(await page.getByTestId('amount-input').inputValue()).toBe('12.50');
      await waitText(page, 'amount-preview', '¥12.50');
      expect(await page.getByTestId('method-medical').getAttribute('aria-checked')).toBe('true');
      await page.keyboard.press('Enter');

      await page.getByTestId('pin-pad').waitFor({ timeout: TIMEOUT });
      await waitEnabled(page, 'pin-key-2');
      await waitText(page, 'till-message', '请持卡人输入社保卡密码');
      await waitText(page, 'customer-display', '请输入密码');
      await waitText(page, 'customer-amount', '¥12.50');
      // The cashier sees what the till waits for, in words; the machine's state names stay for the trainer.
      const screen =
        (await page.locator('.till-screen').innerText()) + (await text(page, 'customer-display'));
      expect(screen).toContain('等待持卡人输入密码');
      for (const internal of ['awaitingPin', 'session.gen3', 'idle', 'removeCard'])
        expect(screen).not.toContain(internal);
      expect(await page.getByTestId('till-state').getAttribute('data-machine-state')).toBe(
        'session.gen3/awaitingPin',
      );
      expect(await page.getByTestId('pin-confirm').isDisabled()).toBe(true);

      // 2, 5, 8 on the pad; a wrong 9 corrected with 更正; 0, 1 (Backspace), 1, 4 from the keyboard.
      await page.getByTestId('pin-key-2').click();
      await page.getByTestId('pin-key-5').click();
      await page.getByTestId('pin-key-8').click();
      await page.getByTestId('pin-key-9').click();
      await page.getByTestId('pin-correct').click();
      await page.keyboard.type('01');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('14');
      // A seventh digit is ignored.
      await page.keyboard.type('7');
      expect((await text(page, 'pin-dots')).match(/●/g)?.length).toBe(6);
      // The PIN is never in the page: not as text, not as a field's value.
      expect(await page.content()).not.toContain('258014');
      const values = await page.evaluate(() => [...document.querySelectorAll('input')].map((i) => i.value));
      expect(values.join('|')).not.toContain('258014');
      await app.screenshot('till-pin-pad');

      await page.getByTestId('pin-confirm').click();
      await waitText(page, 'till-message', '交易成功');
      await page.getByTestId('receipt').waitFor({ timeout: TIMEOUT });
      expect(await text(page, 'till-amount')).toContain('¥12.50');
      expect(await text(page, 'receipt-text')).toContain('¥12.50');
      expect(await text(page, 'receipt-amount')).toContain('12.50');
      expect(await text(page, 'receipt-mode')).toContain('联机');
      expect(await text(page, 'split-current')).toContain('12.50');
      await waitText(page, 'customer-display', '交易成功');
      await waitText(page, 'customer-display', '请取卡');
      expect(await page.content()).not.toContain('258014');

      const after = await medicalTotal(app, 'gen3-active');
      expect(before - after).toBe(1250);
      const payments = await app.host.core.api.payments({});
      expect(payments).toHaveLength(1);
      expect(payments[0]!.amountFen).toBe(1250);
      // The wallet refreshed: 95000 shows the new balance.
      await waitText(page, 'balances-gen3-active', '847.50');
      await app.screenshot('till-gen3-paid');

      // 打印: window.print with the receipt-only print CSS.
      await page.evaluate(() => {
        const w = window as unknown as { print: () => void; printed: boolean[] };
        w.printed = [];
        w.print = () => w.printed.push(document.body.classList.contains('printing-receipt'));
      });
      await page.getByTestId('print-receipt').click();
      expect(await page.evaluate(() => (window as unknown as { printed: boolean[] }).printed)).toEqual([
        true,
      ]);
      await page.emulateMedia({ media: 'print' });
      expect(await page.getByTestId('receipt-text').isVisible()).toBe(true);
      for (const hidden of ['till-message', 'print-receipt', 'pull-card', 'customer-display', 'amount-input'])
        expect(await page.getByTestId(hidden).isVisible()).toBe(false);
      await app.screenshot('till-receipt-print');
      await page.emulateMedia({ media: 'screen' });

      // New sale: the till goes back to idle when the card is removed; the receipt stays for printing.
      await page.getByTestId('new-sale').click();
      await waitState(page, 'idle');
      await waitText(page, 'till-message', '请插入社保卡');
      await waitText(page, 'till-last-result', '交易成功');
      expect(await page.getByTestId('receipt').isVisible()).toBe(true);
      expect(await page.getByTestId('pull-card').isDisabled()).toBe(true);
      await app.screenshot('till-new-sale');
    });
  });

  it('refuses the initial PIN 123456 and records nothing', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await waitText(page, 'pin-state-gen3-initial-pin', '初始密码');
      const before = await medicalTotal(app, 'gen3-initial-pin');
      await startSale(page, 'gen3-initial-pin', '8.80');
      await waitEnabled(page, 'pin-key-1');
      await page.keyboard.type('123456');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', '初始密码不能交易');
      await waitText(page, 'customer-display', '请取卡');
      expect(await page.getByTestId('pin-pad').count()).toBe(0);
      expect(await page.getByTestId('receipt').count()).toBe(0);
      expect(await app.host.core.api.payments({})).toHaveLength(0);
      expect(await medicalTotal(app, 'gen3-initial-pin')).toBe(before);
      const till = await app.host.core.api.tillState({});
      expect(till.last?.result).toBe('declined');
      await app.screenshot('till-initial-pin-refused');
    });
  });

  it('shows the tries left after a wrong PIN (63Cx), then pays with the right one', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await startSale(page, 'gen3-active', '3');
      await waitEnabled(page, 'pin-key-1');
      await page.keyboard.type('111111');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', '密码错误，还可尝试 2 次');
      await waitText(page, 'pin-tries', '63C2');
      await waitEnabled(page, 'pin-key-1');
      expect((await text(page, 'pin-dots')).match(/●/g)).toBeNull();
      await app.screenshot('till-wrong-pin');
      await page.keyboard.type('258014');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', '交易成功');
      expect(await text(page, 'receipt-amount')).toContain('3.00');
    });
  });

  it('stops the sale when the card is pulled at the PIN prompt', async () => {
    await withApp(async (app) => {
      const { page } = app;
      const before = await medicalTotal(app, 'gen3-active');
      await startSale(page, 'gen3-active', '45.00');
      await waitEnabled(page, 'pin-key-1');
      await page.getByTestId('pin-key-2').click();
      await page.getByTestId('pin-key-5').click();
      await waitEnabled(page, 'pull-card');
      await page.getByTestId('pull-card').click();
      await waitState(page, 'idle');
      await waitText(page, 'till-last-result', '卡片已拔出，交易未完成');
      await waitText(page, 'till-message', '请插入社保卡');
      await waitText(page, 'customer-display', '请插入社保卡');
      await waitText(page, 'reader-card', '空');
      expect(await page.getByTestId('pin-pad').count()).toBe(0);
      expect(await page.getByTestId('amount-input').isDisabled()).toBe(true);
      expect(await app.host.core.api.payments({})).toHaveLength(0);
      expect(await medicalTotal(app, 'gen3-active')).toBe(before);
      const till = await app.host.core.api.tillState({});
      expect(till.waitingFor).toBe('card');
      expect(till.last?.result).toBe('pulled');
      await app.screenshot('till-card-pulled');
    });
  });

  it('inserts a card dragged onto the reader slot', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await waitText(page, 'pcsc-unavailable', 'PC/SC');
      await page.getByTestId('wallet-card-gen3-hong-kong').dragTo(page.getByTestId('reader-slot'));
      await waitText(page, 'reader-card', '陳大文');
      await waitEnabled(page, 'amount-input');
      await waitText(page, 'wallet-card-gen3-hong-kong', '在读卡器中');
      expect(await page.getByTestId('insert-gen3-hong-kong').isDisabled()).toBe(true);
      expect((await app.host.core.api.readerState({})).cardId).toBe('gen3-hong-kong');
      await app.screenshot('till-drag-inserted');
    });
  });

  it('declines gen 2 with the host down, saying why', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await page.getByTestId('host-link').selectOption('down');
      await expect.poll(async () => (await app.host.core.api.workspace({})).hostLink).toBe('down');
      await startSale(page, 'gen2', '5');
      await waitEnabled(page, 'pin-key-1');
      await waitText(page, 'pin-pad-kind', '交易密码');
      await waitText(page, 'till-message', '请输入交易密码');
      await page.keyboard.type('246810');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', '主机不可达');
      expect(await text(page, 'till-message')).toContain('二代卡的交易密码须联机由银行验证');
      // The host could not be asked about this card: its status is unknown, and the screen says why.
      expect(await text(page, 'till-card-status')).toBe('未知（主机不可达）');
      await waitText(page, 'customer-display', '请取卡');
      expect(await app.host.core.api.payments({})).toHaveLength(0);
      await app.screenshot('till-gen2-host-down');
    });
  });

  it('approves gen 3 medical offline with the host down', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await page.getByTestId('host-link').selectOption('down');
      await expect.poll(async () => (await app.host.core.api.workspace({})).hostLink).toBe('down');
      await startSale(page, 'gen3-active', '20');
      await waitEnabled(page, 'pin-key-1');
      await page.keyboard.type('258014');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', '交易成功（脱机');
      expect(await text(page, 'receipt-mode')).toContain('脱机');
      expect(await text(page, 'receipt-text')).toContain('脱机');
      await app.screenshot('till-gen3-offline');
    });
  });

  it('declines gen 1: no medical application, apply for a gen 3 card', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await startSale(page, 'gen1', '10');
      await waitText(page, 'till-message', '一代社保卡仅有社保应用，不能进行医保支付');
      // R1.1: the host is up; a gen 1 card has no financial account, so nothing says "host unreachable".
      expect(await text(page, 'till-card-status')).toBe('不适用（一代卡无金融账户）');
      expect(await text(page, 'till-card')).not.toContain('主机不可达');
      expect(await page.getByTestId('pin-pad').count()).toBe(0);
      expect(await app.host.core.api.payments({})).toHaveLength(0);
      await app.screenshot('till-gen1-declined');
    });
  });

  it('refuses an expired card at once, and Esc cancels a sale', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await page.getByTestId('insert-gen3-expired').click();
      await waitText(page, 'till-message', '社保卡已过有效期');
      expect(await page.getByTestId('amount-input').isDisabled()).toBe(true);
      await page.getByTestId('pull-card').click();
      await waitState(page, 'idle');

      await page.getByTestId('insert-gen3-active').click();
      await waitEnabled(page, 'amount-input');
      await page.keyboard.type('7');
      await page.keyboard.press('Escape');
      await waitText(page, 'till-message', '交易已取消');
      expect(await app.host.core.api.payments({})).toHaveLength(0);
    });
  });

  it('Esc at the PIN pad goes back to the amount (kept), the sale goes on with the corrected amount', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await startSale(page, 'gen3-active', '12.50');
      await waitEnabled(page, 'pin-key-1');
      await waitText(page, 'pin-pad', 'Esc 返回修改金额');
      await page.keyboard.type('25');
      await page.keyboard.press('Escape');
      await waitEnabled(page, 'amount-input');
      await waitText(page, 'till-message', '请输入金额');
      expect(await page.getByTestId('till-message').textContent()).not.toContain('交易已取消');
      expect(await page.getByTestId('amount-input').inputValue()).toBe('12.50');
      await waitState(page, 'session.gen3/holder');
      // Correct it: Backspace ×5, 9.90, Enter; the PIN pad starts empty.
      for (let i = 0; i < 5; i++) await page.keyboard.press('Backspace');
      await page.keyboard.type('9.90');
      await page.keyboard.press('Enter');
      await waitEnabled(page, 'pin-key-1');
      await waitText(page, 'customer-amount', '¥9.90');
      expect(await page.getByTestId('pin-confirm').isDisabled()).toBe(true);
      await app.screenshot('till-esc-back-to-amount');
      await page.keyboard.type('258014');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', '交易成功');
      const payments = await app.host.core.api.payments({});
      expect(payments).toHaveLength(1);
      expect(payments[0]!.amountFen).toBe(990);
    });
  });

  it('speaks English after the toggle', async () => {
    await withApp(async (app) => {
      const { page } = app;
      await waitText(page, 'till-message', 'Insert the social security card');
      await startSale(page, 'gen3-active', '1.20');
      await waitEnabled(page, 'pin-key-1');
      await waitText(page, 'customer-display', 'Please enter your PIN');
      await page.keyboard.type('258014');
      await page.keyboard.press('Enter');
      await waitText(page, 'till-message', 'Approved');
      await waitText(page, 'customer-display', 'Please remove your card');
      await app.screenshot('till-en-paid');
    }, 'en');
  });
});
