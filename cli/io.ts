/** Where a command writes: real stdout/stderr, or buffers in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
};

/** Exit codes shared by every command. */
export const EXIT = {
  OK: 0,
  /** Bad input: a file, an APDU, a value. The message says what and where. */
  BAD_INPUT: 1,
  /** The operation ran and was declined or refused (payments, checks). */
  DECLINED: 2,
  /** Wrong command-line usage. */
  USAGE: 64,
} as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Bad input that is not a usage mistake: a missing or unreadable file, a bad value. Exit 1. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * Resolves when a serving command should stop: Ctrl-C, SIGTERM, or the caller's abort signal
 * (tests), with which one it was. Its listeners are removed either way.
 */
export function untilStopped(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    const stop = (why: string) => () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    };
    const onInt = stop('SIGINT');
    const onTerm = stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    signal?.addEventListener('abort', stop('abort'), { once: true });
  });
}
