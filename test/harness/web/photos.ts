import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The bundled applicant's photo: a JPEG that passes every R8 check (358×441, colour, white). */
export const PHOTO_358x441 = readFileSync(
  fileURLToPath(new URL('../../../fixtures/applications/photo-358x441.jpg', import.meta.url)),
);

/**
 * The same photo grown to exactly `totalBytes` with APP15 segments after SOI — metadata that
 * every JPEG reader skips, as a camera's or an editor's EXIF/XMP blocks are — so a large upload
 * still carries a photo that passes R8.
 */
export function paddedPhoto(totalBytes: number, base: Buffer = PHOTO_358x441): Buffer {
  let need = totalBytes - base.length;
  if (need !== 0 && need < 4) throw new Error(`cannot pad ${base.length} bytes to ${totalBytes}`);
  const segments: Buffer[] = [];
  while (need > 0) {
    let size = Math.min(need, 65_537);
    if (need - size > 0 && need - size < 4) size -= 4;
    const seg = Buffer.alloc(size, 0x20);
    seg[0] = 0xff;
    seg[1] = 0xef;
    seg.writeUInt16BE(size - 2, 2);
    segments.push(seg);
    need -= size;
  }
  return Buffer.concat([base.subarray(0, 2), ...segments, base.subarray(2)]);
}
