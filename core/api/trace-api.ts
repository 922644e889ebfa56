import { z } from 'zod';
import { method } from './define.ts';

/** The live APDU trace (PIN bytes masked when recorded, never stored in clear). */
export const traceMethods = {
  trace: method(
    z.object({ sinceSeq: z.number().int().nonnegative().default(0) }).strict(),
    (ctx, { sinceSeq }) =>
      ctx
        .ws()
        .trace.list()
        .filter((e) => e.seq > sinceSeq),
  ),
  clearTrace: method(z.object({}).strict(), (ctx) => {
    ctx.ws().trace.clear();
    ctx.emit({ type: 'trace-cleared' });
    return { cleared: true };
  }),
  /** The trace as text, one line per exchange, for a file or a bug report. */
  exportTrace: method(z.object({}).strict(), (ctx) => ({ text: ctx.ws().trace.toText() })),
};
