import { readFileSync } from 'node:fs';
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

const row = (page: Page, sw: string) => page.locator(`[data-testid="trace-row"][data-sw="${sw}"]`);

describe('the APDU trace panel in a real browser', () => {
  it('shows a payment live, decoded in Chinese and English, PINs masked; filters, exports and clears', async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      const api = host.core.api;
      await page.getByTestId('tab-trace').click();
      await page.getByTestId('trace-empty').waitFor();

      // A gen 3 payment with one wrong PIN first, through the Api, while the panel watches.
      await api.insertCard({ cardId: 'gen3-active' });
      await host.core.workspace().pos.terminal.settled();
      await api.enterAmount({ amountFen: 1250, method: 'medical' });
      expect((await api.enterPin({ pin: '111111' })).triesLeft).toBe(2);
      expect((await api.enterPin({ pin: '258014' })).last?.result).toBe('paid');
      const total = (await api.trace({})).length;

      await page.getByTestId('trace-list').waitFor();
      await page.locator(`[data-testid="trace-row"][data-seq="${total}"]`).waitFor();
      expect(await page.getByTestId('trace-row').count()).toBe(total);

      const list = (await page.getByTestId('trace-list').textContent()) ?? '';
      expect(list).toContain('SELECT SSSE（选择社保应用）');
      expect(list).toContain('9000 = 成功');
      expect(list).toContain('按标识读 EF05 记录 07（卡号）');
      expect(list).toContain('按标识读 EF06 记录 08（社会保障号码）');
      expect(list).toContain('EXTERNAL AUTHENTICATE');

      const wrong = row(page, '63C2');
      expect(await wrong.count()).toBe(1);
      expect(await wrong.getAttribute('data-severity')).toBe('warn');
      expect(await wrong.getByTestId('trace-decoded').textContent()).toContain(
        '63C2 = 密码错误，还可尝试 2 次',
      );
      expect(await wrong.getByTestId('trace-decoded').textContent()).toContain('VERIFY PIN ******');
      expect(await wrong.getByTestId('trace-command').textContent()).toBe('0020000003******');
      const verifies = page.locator('[data-testid="trace-row"][data-kind="pin"]');
      expect(await verifies.count()).toBe(2);
      for (const cmd of await verifies.getByTestId('trace-command').allTextContents())
        expect(cmd).toMatch(/^0020000003\*{6}$/);
      const html = await page.content();
      expect(html).not.toContain('111111');
      expect(html).not.toContain('258014');
      await app.screenshot('trace-decoded');

      // Filters: warnings and errors only, then PIN commands only.
      await page.getByTestId('trace-filter-severity').selectOption('problems');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="trace-row"]').length === 1);
      expect(await page.getByTestId('trace-row').getAttribute('data-sw')).toBe('63C2');
      await page.getByTestId('trace-filter-severity').selectOption('all');
      await page.getByTestId('trace-filter-kind').selectOption('pin');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="trace-row"]').length === 2);
      await page.getByTestId('trace-filter-kind').selectOption('all');
      await page.getByTestId('trace-search').fill('EF06');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="trace-row"]').length === 7);
      await page.getByTestId('trace-search').fill('');

      // English.
      await page.getByTestId('lang-toggle').click();
      expect(await wrong.getByTestId('trace-decoded').textContent()).toContain(
        '63C2 = wrong PIN, 2 tries left',
      );
      const en = (await page.getByTestId('trace-list').textContent()) ?? '';
      expect(en).toContain('SELECT SSSE (the social security application)');
      expect(en).toContain('READ RECORD EF05 tag 07 (card number)');
      await app.screenshot('trace-decoded-en');
      await page.getByTestId('lang-toggle').click();

      // Text export: the core's exportTrace, saved through a Blob link.
      const [txt] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId('trace-export').click(),
      ]);
      expect(txt.suggestedFilename()).toMatch(/^sscard-trace-\d{8}-\d{6}\.txt$/);
      const text = readFileSync((await txt.path())!, 'utf8');
      expect(text.trim().split('\n')).toHaveLength(total);
      expect(text).toContain('SELECT SSSE');
      expect(text).toContain('0020000003******');
      expect(text).not.toMatch(/111111|258014/);

      // JSON export: the entries with their decoding in both languages.
      const [json] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId('trace-export-json').click(),
      ]);
      expect(json.suggestedFilename()).toMatch(/\.json$/);
      const entries = JSON.parse(readFileSync((await json.path())!, 'utf8')) as {
        seq: number;
        sw: string;
        command: string;
        severity: string;
        decoded: { zh: string; en: string };
      }[];
      expect(entries).toHaveLength(total);
      const w = entries.find((e) => e.sw === '63C2')!;
      expect(w).toMatchObject({ command: '0020000003******', severity: 'warn' });
      expect(w.decoded.zh).toContain('密码错误，还可尝试 2 次');
      expect(w.decoded.en).toContain('wrong PIN, 2 tries left');

      // Clear: the core's trace and the panel empty together.
      await page.getByTestId('trace-clear').click();
      await page.getByTestId('trace-empty').waitFor();
      expect(await api.trace({})).toHaveLength(0);
      await api.removeCard({});
    } finally {
      await app.close();
    }
  });

  it('keeps following new exchanges, and stops when paused', async () => {
    const app = await openApp(browser, { lang: 'en' });
    try {
      const { page, host } = app;
      const api = host.core.api;
      await page.getByTestId('tab-trace').click();
      await api.insertCard({ cardId: 'gen2' });
      await host.core.workspace().pos.terminal.settled();
      const first = (await api.trace({})).length;
      await page.locator(`[data-testid="trace-row"][data-seq="${first}"]`).waitFor();
      // Followed: the list is scrolled to its end.
      const atEnd = () =>
        page
          .getByTestId('trace-list')
          .evaluate((el) => Math.abs(el.scrollHeight - el.scrollTop - el.clientHeight) < 4);
      const scrollable = await page
        .getByTestId('trace-list')
        .evaluate((el) => el.scrollHeight > el.clientHeight + 4);
      if (scrollable) expect(await atEnd()).toBe(true);

      await page.getByTestId('trace-follow').click();
      expect(await page.getByTestId('trace-follow').getAttribute('aria-pressed')).toBe('false');
      await page.getByTestId('trace-list').evaluate((el) => (el.scrollTop = 0));
      await api.insertCard({ cardId: 'gen3-active' });
      await host.core.workspace().pos.terminal.settled();
      const second = (await api.trace({})).length;
      await page.locator(`[data-testid="trace-row"][data-seq="${second}"]`).waitFor({ state: 'attached' });
      expect(await page.getByTestId('trace-list').evaluate((el) => el.scrollTop)).toBe(0);
      expect(await page.getByTestId('trace-follow').textContent()).toContain(`${second - first} new`);
      await page.getByTestId('trace-follow').click();
      await page.waitForFunction(() => {
        const el = document.querySelector('[data-testid="trace-list"]')!;
        return Math.abs(el.scrollHeight - el.scrollTop - el.clientHeight) < 4;
      });
      await api.removeCard({});
    } finally {
      await app.close();
    }
  });
});
