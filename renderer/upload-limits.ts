/**
 * How much the counter uploads, and what the operator is told above it. One place for the
 * numbers: the photo picker (renderer/panels/counter/application.tsx), the web client's check
 * before it sends (renderer/api-client.ts) and the web host's WebSocket (web/server.ts) read
 * them from here. docs/counter.md and docs/security.md explain the choice.
 *
 * The card takes one photo size: 358×441 pixels (R8, core/rules/photo.ts). Such a JPEG is tens
 * of kilobytes (a few hundred at the very most, with an editor's metadata), so 2 MB leaves room
 * for any real ID photo, while a camera's or phone's original (5–10 MB, thousands of pixels
 * across) is refused before it is even read, with the reason. The counter does not shrink such a
 * picture to 358×441 itself: R8 is about an ID photo taken to the standard (framing, white
 * background), which a resized snapshot is not.
 */

/** The largest photo file the counter takes: 2 MB (2,097,152 bytes). */
export const PHOTO_MAX_BYTES = 2 * 1024 * 1024;

/**
 * The largest WebSocket message the web host reads: 4 MB. Every call the Api can accept fits
 * (the largest is an application with its photo: the Api takes at most 3,000,000 base64
 * characters, 2.25 MB of JPEG); the host closes a connection that sends more (1009).
 */
export const API_MESSAGE_MAX_BYTES = 4 * 1024 * 1024;

/** 2097152 → "2 MB", 8808038 → "8.4 MB" (binary megabytes, as file managers show them). */
export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

/** A file's size for a refusal: in bytes when megabytes would round it to the limit itself. */
function sizeOf(bytes: number, limit: number, lang: 'zh' | 'en'): string {
  if (bytes - limit >= 0.05 * 1024 * 1024) return megabytes(bytes);
  return `${bytes.toLocaleString('en-US')} ${lang === 'zh' ? '字节' : 'bytes'}`;
}

/** The operator's message for a photo file over the limit, in both languages. */
export function photoTooLarge(bytes: number): { zh: string; en: string } {
  return {
    zh:
      `相片文件过大：${sizeOf(bytes, PHOTO_MAX_BYTES, 'zh')}，上限 ${megabytes(PHOTO_MAX_BYTES)}。` +
      '社保卡相片须为 358×441 像素的 JPG 证件照（通常几十 KB），相机或手机原图不能直接使用',
    en:
      `The photo file is too large: ${sizeOf(bytes, PHOTO_MAX_BYTES, 'en')}, the limit is ${megabytes(PHOTO_MAX_BYTES)}. ` +
      "The card takes a 358×441-pixel JPG ID photo (usually tens of KB), not a camera's or phone's original",
  };
}

/** The message for a call too large to send to the web host, in both languages. */
export function messageTooLarge(method: string, bytes: number): { zh: string; en: string } {
  return {
    zh: `${method} 的数据过大：${sizeOf(bytes, API_MESSAGE_MAX_BYTES, 'zh')}，终端每次最多接收 ${megabytes(API_MESSAGE_MAX_BYTES)}，未发送`,
    en: `${method}: too much data to send (${sizeOf(bytes, API_MESSAGE_MAX_BYTES, 'en')}); the till takes at most ${megabytes(API_MESSAGE_MAX_BYTES)} per call. Nothing was sent`,
  };
}
