import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { API_MESSAGE_MAX_BYTES, PHOTO_MAX_BYTES } from '../../renderer/upload-limits.ts';
import { startWebHostChild } from '../../test/harness/web/host-child.ts';
import { paddedPhoto } from '../../test/harness/web/photos.ts';
import { launchChromium, openApp } from './harness.ts';

/**
 * Large photos at the counter, in Chromium on the web host (issue 16): a photo up to the limit
 * (2 MB) is uploaded, checked and sent with the application; a larger one — a camera's
 * original — is refused at once with the limit in the operator's language, and the host and
 * the page's connection carry on.
 */
const PHOTO = fileURLToPath(new URL('../../fixtures/applications/photo-358x441.jpg', import.meta.url));

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function shows(page: Page, testId: string, text: string | RegExp, timeout = 15_000) {
  await page.getByTestId(testId).filter({ hasText: text }).first().waitFor({ timeout });
}

const jpeg = (name: string, bytes: number) => ({ name, mimeType: 'image/jpeg', buffer: paddedPhoto(bytes) });

describe('uploading a large photo at the counter', () => {
  it(`takes a photo of exactly ${PHOTO_MAX_BYTES} bytes with the application, and refuses one byte more and a camera original in Chinese and English`, async () => {
    const app = await openApp(browser);
    try {
      const { page, host } = app;
      await page.getByTestId('tab-counter').click();
      await page.getByTestId('counter-tab-apply').click();
      await page.getByTestId('counter-apply-sample').click();

      // At the limit: read, checked by the host (R8 passes) and sent with the application.
      await page.getByTestId('apply-photo').setInputFiles(jpeg('at-the-limit.jpg', PHOTO_MAX_BYTES));
      await shows(page, 'apply-photo-check', '相片合格 358×441');
      await page.getByTestId('apply-make-ssn').click();
      await shows(page, 'apply-ssn', '440106199203154314');
      await page.getByTestId('counter-apply').click();
      await shows(page, 'counter-result', '受理成功');
      expect((await host.core.api.listCards({})).some((c) => c.source === 'issued')).toBe(true);

      // One byte over: refused before it is read, next to the field and in the result box.
      await page.getByTestId('apply-photo').setInputFiles(jpeg('one-over.jpg', PHOTO_MAX_BYTES + 1));
      await shows(
        page,
        'apply-photo-too-large',
        `相片文件过大：${(PHOTO_MAX_BYTES + 1).toLocaleString('en-US')} 字节，上限 2 MB`,
      );
      await shows(page, 'counter-result', '相片文件过大');
      expect(await page.getByTestId('counter-result-rule').textContent()).toBe('R8');
      expect(await page.getByTestId('apply-photo-check').count()).toBe(0);
      await app.screenshot('counter-photo-too-large');

      // A camera's original (8.4 MB), in English.
      await page.getByTestId('lang-toggle').click();
      await page.getByTestId('apply-photo').setInputFiles(jpeg('DSC_0042.jpg', 8_808_038));
      await shows(
        page,
        'apply-photo-too-large',
        "The photo file is too large: 8.4 MB, the limit is 2 MB. The card takes a 358×441-pixel JPG ID photo (usually tens of KB), not a camera's or phone's original",
      );
      await shows(page, 'counter-result', 'The photo file is too large: 8.4 MB');
      await app.screenshot('counter-photo-too-large-en');

      // The page's connection and the host carry on: the ordinary photo is checked.
      await page.getByTestId('apply-photo').setInputFiles(PHOTO);
      await shows(page, 'apply-photo-check', 'Photo passes 358×441');
      expect(await page.getByTestId('apply-photo-too-large').count()).toBe(0);
      expect((await host.core.api.readerState({})).kind).toBe('virtual');
    } finally {
      await app.close();
    }
  }, 90_000);

  it(`a message over ${API_MESSAGE_MAX_BYTES} bytes from the browser is closed with 1009; the host process and the app's own connection carry on`, async () => {
    // The real \`npm run web\` process: an uncaught error would end it (in this worker it would not).
    const dir = mkdtempSync(join(tmpdir(), 'sscard-ui-upload-'));
    const host = await startWebHostChild(join(dir, 'ledger.db'));
    const context = await browser.newContext({ locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      await page.goto(`${host.origin}/#token=${host.token}`);
      await page.getByTestId('app-ready').waitFor({ timeout: 15_000 });
      // Another connection from the same page and token, sending what the app never would.
      const code = await page.evaluate(async (size) => {
        const token = sessionStorage.getItem('sscard-token') ?? '';
        const ws = new WebSocket(
          `${location.origin.replace(/^http/, 'ws')}/api?token=${encodeURIComponent(token)}`,
        );
        await new Promise((resolve) => ws.addEventListener('open', resolve));
        return new Promise<number>((resolve) => {
          ws.addEventListener('close', (e) => resolve(e.code));
          ws.send(
            JSON.stringify({
              id: 1,
              method: 'counterCheckPhoto',
              args: { photoJpegBase64: 'A'.repeat(size) },
            }),
          );
        });
      }, API_MESSAGE_MAX_BYTES);
      expect(code).toBe(1009);
      // The app's own connection still answers: the counter checks a photo.
      await page.getByTestId('tab-counter').click();
      await page.getByTestId('counter-tab-apply').click();
      await page.getByTestId('apply-photo').setInputFiles(PHOTO);
      await shows(page, 'apply-photo-check', '相片合格 358×441');
      expect(host.alive(), host.output()).toBe(true);
    } finally {
      await context.close();
      await host.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
