import jpeg from 'jpeg-js';

/**
 * R8 photo check (照片审核): JPG/JPEG, exactly 358×441 pixels, colour (not black-and-white),
 * white background, readable. Children under 7 may have no photo; a child of 7 or more holding
 * a photo-less card should apply for a card with a photo. Each failure names the rule it broke.
 */
export const PHOTO_WIDTH = 358;
export const PHOTO_HEIGHT = 441;

export type PhotoRule =
  'R8.required' | 'R8.format' | 'R8.size' | 'R8.readable' | 'R8.colour' | 'R8.background';

export interface PhotoProblem {
  rule: PhotoRule;
  zh: string;
  en: string;
}

export interface PhotoCheck {
  ok: boolean;
  problems: PhotoProblem[];
  /** Informational lines (e.g. a child under 7 without a photo). */
  notes: { zh: string; en: string }[];
  width: number | null;
  height: number | null;
}

const problem = (rule: PhotoRule, zh: string, en: string): PhotoProblem => ({ rule, zh, en });

/** Width, height and colour components from the JPEG's frame header, without decoding. */
export function jpegFrameInfo(
  bytes: Uint8Array,
): { width: number; height: number; components: number } | null {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        height: (bytes[i + 5]! << 8) | bytes[i + 6]!,
        width: (bytes[i + 7]! << 8) | bytes[i + 8]!,
        components: bytes[i + 9]!,
      };
    }
    i += 2 + len;
  }
  return null;
}

function kindOf(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'PNG';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'GIF';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'BMP';
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46) return 'WebP';
  return 'unknown';
}

export interface PhotoOptions {
  /** The applicant's age in whole years; under 7 a missing photo is allowed. */
  ageYears?: number;
}

export function checkPhoto(bytes: Uint8Array | null, options: PhotoOptions = {}): PhotoCheck {
  const result: PhotoCheck = { ok: false, problems: [], notes: [], width: null, height: null };
  const age = options.ageYears;
  if (!bytes || bytes.length === 0) {
    if (age !== undefined && age < 7) {
      result.ok = true;
      result.notes.push({
        zh: '未满七周岁的学龄前儿童可不采集和印刷相片，相片区域空置',
        en: 'Children under 7 may have no photo; the photo area stays blank',
      });
    } else {
      result.problems.push(
        problem('R8.required', '须提供相片（年满七周岁）', 'A photo is required (7 years or older)'),
      );
    }
    return result;
  }
  if (!(bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)) {
    const kind = kindOf(bytes);
    result.problems.push(
      problem(
        'R8.format',
        `相片格式须为 JPG/JPEG（此文件为 ${kind === 'unknown' ? '未知格式' : kind}）`,
        `The photo must be JPG/JPEG (this file is ${kind === 'unknown' ? 'not an image format we know' : kind})`,
      ),
    );
    return result;
  }
  const frame = jpegFrameInfo(bytes);
  if (!frame) {
    result.problems.push(
      problem('R8.readable', '相片文件已损坏，无法读取', 'The photo file is corrupt and cannot be read'),
    );
    return result;
  }
  result.width = frame.width;
  result.height = frame.height;
  if (frame.width !== PHOTO_WIDTH || frame.height !== PHOTO_HEIGHT) {
    result.problems.push(
      problem(
        'R8.size',
        `相片尺寸须为 358×441 像素（此相片为 ${frame.width}×${frame.height}）`,
        `The photo must be 358×441 pixels (this one is ${frame.width}×${frame.height})`,
      ),
    );
    // A photo of the wrong size is refused whatever else; huge ones are not even decoded.
    return result;
  }
  const end = bytes.length;
  if (!(bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9)) {
    result.problems.push(
      problem('R8.readable', '相片文件不完整（已截断）', 'The photo file is incomplete (truncated)'),
    );
    return result;
  }
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: 1,
      maxMemoryUsageInMB: 64,
    });
  } catch (e) {
    result.problems.push(
      problem(
        'R8.readable',
        '相片文件已损坏，无法读取',
        `The photo file is corrupt and cannot be read (${(e as Error).message})`,
      ),
    );
    return result;
  }
  if (frame.components === 1 || isGreyscale(img)) {
    result.problems.push(
      problem(
        'R8.colour',
        '须为彩色相片，不能是黑白相片',
        'The photo must be in colour, not black-and-white',
      ),
    );
  }
  const white = whiteBackgroundShare(img);
  if (white < 0.85) {
    result.problems.push(
      problem(
        'R8.background',
        `须为白底相片（背景仅 ${Math.round(white * 100)}% 为白色）`,
        `The background must be white (only ${Math.round(white * 100)}% of it is)`,
      ),
    );
  }
  result.ok = result.problems.length === 0;
  return result;
}

function chroma(d: Uint8Array, i: number): number {
  const r = d[i]!;
  const g = d[i + 1]!;
  const b = d[i + 2]!;
  return Math.max(r, g, b) - Math.min(r, g, b);
}

/** Black-and-white: almost no pixel has any colour (JPEG noise allowed). */
function isGreyscale(img: { width: number; height: number; data: Uint8Array }): boolean {
  const d = img.data;
  let coloured = 0;
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) if (chroma(d, p * 4) > 24) coloured++;
  return coloured / n < 0.01;
}

/**
 * Share of white pixels in the background band: the left and right edges and the top band,
 * where an ID photo shows only the backdrop. White = bright and unsaturated.
 */
function whiteBackgroundShare(img: { width: number; height: number; data: Uint8Array }): number {
  const { width, height, data } = img;
  const edge = Math.round(width * 0.08);
  const top = Math.round(height * 0.08);
  let white = 0;
  let total = 0;
  for (let y = 0; y < Math.round(height * 0.7); y++) {
    for (let x = 0; x < width; x++) {
      if (y >= top && x >= edge && x < width - edge) continue;
      const i = (y * width + x) * 4;
      const luma = 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
      total++;
      if (luma >= 200 && chroma(data, i) <= 40) white++;
    }
  }
  return total ? white / total : 0;
}

/** R8: a child of 7 or more holding a card without a photo should apply for one with a photo. */
export function photoLessCardAdvice(
  ageYears: number,
  cardHasPhoto: boolean,
): { zh: string; en: string } | null {
  if (cardHasPhoto || ageYears < 7) return null;
  return {
    zh: '持无相片社保卡的年满七周岁的儿童应当按时申请换领印有相片的社保卡',
    en: 'A child of 7 or more holding a card without a photo should apply for a card with a photo',
  };
}
