import { describe, expect, it } from 'vitest';
import type { TillView } from '../../core/api/events.ts';
import { terminalMachine } from '../../state-machines/terminal.machine.ts';
import { gen1Machine } from '../../state-machines/gen1.machine.ts';
import { gen2Machine } from '../../state-machines/gen2.machine.ts';
import { gen3Machine } from '../../state-machines/gen3.machine.ts';
import { STATE_LABELS, activeStates, chartModel, eventLabel } from './chart-model.ts';

const overlap = (a: { x: number; y: number; w: number; h: number }, b: typeof a) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('the state chart is drawn from the machine definitions', () => {
  for (const m of [terminalMachine, gen1Machine, gen2Machine, gen3Machine]) {
    it(`${m.id}: every state, no overlaps, every edge between drawn states, a label for each`, () => {
      const c = chartModel(m);
      const names = (n: Record<string, { states: object }>): string[] =>
        Object.entries(n).flatMap(([k, v]) => [k, ...names(v.states as Record<string, { states: object }>)]);
      const all = names(m.root.states as unknown as Record<string, { states: object }>);
      expect([...c.nodes, ...c.groups].map((n) => n.name).sort()).toEqual([...all].sort());
      for (const [i, a] of c.nodes.entries())
        for (const b of c.nodes.slice(i + 1)) expect(overlap(a, b), `${a.id} / ${b.id}`).toBe(false);
      const ids = new Set(c.nodes.map((n) => n.id).concat(c.groups.map((g) => g.id)));
      for (const e of c.edges) {
        expect(ids.has(e.from)).toBe(true);
        expect(ids.has(e.to)).toBe(true);
      }
      for (const n of [...c.nodes, ...c.groups]) {
        expect(STATE_LABELS[n.name], n.name).toBeDefined();
        expect(n.x + n.w).toBeLessThanOrEqual(c.width);
        expect(n.y + n.h).toBeLessThanOrEqual(c.height);
      }
      // Final states sit in the last column.
      const last = Math.max(...c.nodes.map((n) => n.col));
      for (const n of c.nodes.filter((x) => x.kind === 'final')) expect(n.col).toBe(last);
    });
  }

  it('the terminal: a frame around the session and its children, and nothing else inside it', () => {
    const c = chartModel(terminalMachine);
    const session = c.groups.find((g) => g.name === 'session')!;
    const inside = c.nodes.filter((n) => overlap(n, session)).map((n) => n.id);
    expect(inside.sort()).toEqual(['session.dispatch', 'session.gen1', 'session.gen2', 'session.gen3']);
    expect(c.edges).toContainEqual({ from: 'idle', to: 'readingCard', events: ['CARD_INSERTED'] });
    expect(c.edges.find((e) => e.from === 'readingCard' && e.to === 'session.dispatch')?.events).toEqual([
      'done: readCard',
    ]);
    expect(c.nodes.find((n) => n.name === 'idle')!.col).toBe(0);
  });

  it('gen 3: the PIN path reads left to right', () => {
    const c = chartModel(gen3Machine);
    const col = (name: string) => c.nodes.find((n) => n.name === name)!.col;
    expect(col('holder')).toBeLessThan(col('authenticating'));
    expect(col('authenticating')).toBeLessThan(col('awaitingPin'));
    expect(col('awaitingPin')).toBeLessThan(col('verifyingPin'));
    expect(c.edges.find((e) => e.from === 'verifyingPin' && e.to === 'awaitingPinAgain')?.events).toEqual([
      'error: verifyPin',
    ]);
    expect(eventLabel('xstate.done.actor.debit')).toBe('done: debit');
  });

  it('highlights from the till view: the terminal state, its session child, the session state', () => {
    const till = { state: 'session.gen3/awaitingPin', terminalState: 'session', sessionState: 'awaitingPin' };
    expect(activeStates(till as TillView)).toEqual({
      terminal: ['session', 'gen3'],
      session: ['awaitingPin'],
    });
    const idle = { state: 'idle', terminalState: 'idle', sessionState: null };
    expect(activeStates(idle as TillView)).toEqual({ terminal: ['idle'], session: [] });
    expect(activeStates(null)).toEqual({ terminal: ['idle'], session: [] });
  });
});
