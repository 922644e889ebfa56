import type { FaultStep } from './load.ts';
import type { StepContext } from './step-context.ts';

/**
 * The `fault` step: arms reader and card faults on the world, or clears them. Apart from the
 * other executors because a fault may act later (a card pulled in a given state), so it keeps
 * a one-shot watcher on the run that must be dropped when the world goes.
 */
export async function applyFault(ctx: StepContext, f: FaultStep, notes: string[]): Promise<void> {
  const w = ctx.world!;
  if (f.type === 'remove-card-at-apdu') w.faults.setReaderFaults({ removeCardAtApdu: f.n });
  else if (f.type === 'remove-card-in-state') {
    // One shot: the card leaves the reader the moment the till is in that state.
    const stop = w.terminal.subscribe(() => {
      const name = w.terminal.stateName();
      if (name === f.state || name.endsWith(`/${f.state}`) || name.endsWith(`.${f.state}`)) {
        stop();
        notes.push(`card pulled in ${name}`);
        void w.remove();
      }
    });
    ctx.pendingFaults.push(stop);
  } else if (f.type === 'detach-reader-at-apdu') w.faults.setReaderFaults({ detachReaderAtApdu: f.n });
  else if (f.type === 'corrupt-record') {
    const c = ctx.current({ card: null });
    w.faults.corruptCard(c.profile.card.number, [{ file: f.file, record: f.record, mode: f.mode }]);
    notes.push(`${c.ref}: ${f.file} record ${f.record} corrupted (${f.mode}) from its next insertion`);
  } else if (f.type === 'reattach') {
    w.faults.reattachReader();
    await ctx.settled();
  } else {
    w.faults.clear();
    for (const stop of ctx.pendingFaults.splice(0)) stop();
  }
}
