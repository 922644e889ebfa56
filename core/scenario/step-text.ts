/**
 * The one-line text of a step for logs, JUnit reports and error messages, with PINs and
 * passwords masked: these texts leave the machine, the secrets must not.
 */

/** Step keys and counter fields that carry a PIN or password: never shown in logs or reports. */
const SECRET_KEYS = new Set(['pin', 'password', 'old', 'new', 'newPin', 'oldPin', 'pins']);

/**
 * The step as written, on one line: `amount: {yuan: "12.50", method: reserve}`. PINs and
 * passwords are masked (`pin: ******`): this text goes into the step log, JUnit reports and
 * error messages.
 */
export function stepText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  const [k, v] = Object.entries(raw as Record<string, unknown>)[0] ?? ['?', null];
  if (v === null || v === undefined) return k;
  const masked = (x: unknown): string =>
    x !== null && typeof x === 'object' ? '******' : '*'.repeat(Math.max(1, String(x).length));
  const shown = (x: unknown, key: string): string =>
    SECRET_KEYS.has(key)
      ? masked(x)
      : x !== null && typeof x === 'object'
        ? Array.isArray(x)
          ? `[${x.map((y) => shown(y, '')).join(', ')}]`
          : 'id' in x && 'generation' in x
            ? `<inline card ${String((x as { id: unknown }).id)}>`
            : `{ ${Object.entries(x)
                .map(([a, b]) => `${a}: ${shown(b, a)}`)
                .join(', ')} }`
        : typeof x === 'string'
          ? x
          : String(x);
  const text = `${k}: ${shown(v, k)}`;
  return text.length > 200 ? `${text.slice(0, 197)}…` : text;
}
