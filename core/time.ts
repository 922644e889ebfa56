/**
 * Dates as a Chinese till sees them: business days and the 21 June carry-over follow
 * Beijing time (UTC+8, no daylight saving), whatever the machine's own time zone.
 */
export const BUSINESS_TIME_ZONE = 'Asia/Shanghai';

const BEIJING_OFFSET_MS = 8 * 3600_000; // UTC+8 all year: China has no daylight saving

/** The business day (YYYY-MM-DD, Beijing time) of an instant. */
export function businessDate(at: Date): string {
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** Beijing local time as 'YYYY-MM-DD HH:mm:ss', for receipts. */
export function localDateTime(at: Date): string {
  const t = new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 19)}`;
}

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock fixed at (or advanced from) a given instant, for tests and scenarios. */
export function fixedClock(iso: string): Clock & { set(iso: string): void; advance(ms: number): void } {
  let now = new Date(iso).getTime();
  const clock = (() => new Date(now)) as Clock & { set(iso: string): void; advance(ms: number): void };
  clock.set = (i: string) => void (now = new Date(i).getTime());
  clock.advance = (ms: number) => void (now += ms);
  return clock;
}

/** True for a calendar date written YYYY-MM-DD. */
export function isValidBusinessDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) === text;
}
