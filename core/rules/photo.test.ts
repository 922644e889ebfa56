import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { checkPhoto, photoLessCardAdvice, PHOTO_HEIGHT, PHOTO_WIDTH } from './photo.ts';

/**
 * Photos generated here: a backdrop, a skin-coloured face and a dark top, like an ID photo.
 * Nothing is read from disk, so every case is exact.
 */
function makePhoto(
  opts: { width?: number; height?: number; background?: [number, number, number]; grey?: boolean } = {},
) {
  const width = opts.width ?? PHOTO_WIDTH;
  const height = opts.height ?? PHOTO_HEIGHT;
  const [br, bg, bb] = opts.background ?? [250, 250, 250];
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c: [number, number, number] = [br, bg, bb];
      const fx = (x - width / 2) / (width * 0.22);
      const fy = (y - height * 0.38) / (height * 0.2);
      if (fx * fx + fy * fy < 1) c = [224, 172, 140]; // face
      if (y > height * 0.62 && Math.abs(x - width / 2) < width * 0.38) c = [25, 35, 70]; // dark top
      if (opts.grey) {
        const l = Math.round(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]);
        c = [l, l, l];
      }
      const i = (y * width + x) * 4;
      data[i] = c[0];
      data[i + 1] = c[1];
      data[i + 2] = c[2];
      data[i + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ width, height, data }, 90).data);
}

const rules = (bytes: Uint8Array | null, age?: number) =>
  checkPhoto(bytes, age === undefined ? {} : { ageYears: age }).problems.map((p) => p.rule);

describe('R8 photo check', () => {
  it('R8: a correct photo (JPEG, 358×441, colour, white background) passes', () => {
    const r = checkPhoto(makePhoto());
    expect(r).toMatchObject({ ok: true, problems: [], width: 358, height: 441 });
  });
  it('R8: the wrong size is refused, naming the size', () => {
    const r = checkPhoto(makePhoto({ width: 400, height: 500 }));
    expect(r.problems.map((p) => p.rule)).toEqual(['R8.size']);
    expect(r.problems[0]!.zh).toContain('400×500');
  });
  it('R8: a PNG is refused: JPG/JPEG only', () => {
    const png = Uint8Array.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
    ]);
    const r = checkPhoto(png);
    expect(r.problems.map((p) => p.rule)).toEqual(['R8.format']);
    expect(r.problems[0]!.en).toContain('PNG');
  });
  it('R8: a black-and-white photo is refused', () => {
    expect(rules(makePhoto({ grey: true }))).toEqual(['R8.colour']);
  });
  it('R8: a dark background is refused', () => {
    expect(rules(makePhoto({ background: [40, 60, 140] }))).toEqual(['R8.background']);
  });
  it('R8: a truncated file is refused as unreadable', () => {
    const full = makePhoto();
    expect(rules(full.subarray(0, Math.floor(full.length / 2)))).toEqual(['R8.readable']);
    expect(rules(full.subarray(0, 20))).toEqual(['R8.readable']);
  });
  it('R8: garbage and huge declared dimensions are refused without decoding', () => {
    expect(rules(Uint8Array.from([1, 2, 3, 4]))).toEqual(['R8.format']);
    const huge = makePhoto();
    // Rewrite the frame header to claim 60000×60000: refused on size, never decoded.
    for (let i = 2; i < huge.length - 9; i++) {
      if (huge[i] === 0xff && huge[i + 1] === 0xc0) {
        huge[i + 5] = 0xea;
        huge[i + 6] = 0x60;
        huge[i + 7] = 0xea;
        huge[i + 8] = 0x60;
        break;
      }
    }
    expect(rules(huge)).toEqual(['R8.size']);
  });
  it('R8: under 7 a photo may be omitted; from 7 it is required', () => {
    expect(checkPhoto(null, { ageYears: 5 })).toMatchObject({ ok: true, problems: [] });
    expect(checkPhoto(null, { ageYears: 5 }).notes[0]!.zh).toContain('七周岁');
    expect(rules(null, 7)).toEqual(['R8.required']);
    expect(rules(null)).toEqual(['R8.required']);
  });
  it('R8: a child of 7 or more with a photo-less card is told to apply for one with a photo', () => {
    expect(photoLessCardAdvice(8, false)?.zh).toContain('换领印有相片的社保卡');
    expect(photoLessCardAdvice(6, false)).toBeNull();
    expect(photoLessCardAdvice(30, true)).toBeNull();
  });
});
