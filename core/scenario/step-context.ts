import type { ScenarioCard } from './load.ts';
import type { ScenarioWorld } from './world.ts';
import type { Observed } from './expect.ts';

/**
 * What a step executor may touch of the run it belongs to. An interface rather than the run
 * itself so the executors (one concern each) do not depend on the loop that drives them.
 */
export interface StepContext {
  /** The till, card readers and books of this run; set while a step runs. */
  readonly world: ScenarioWorld | null;
  /** What the steps have seen since the last expect step (reset after a crash). */
  readonly seen: Observed;
  /** One-shot faults still waiting for their moment (dropped with the world). */
  readonly pendingFaults: (() => void)[];
  /** The card a step is about: the one it names, the one in the reader, or the scenario's. */
  current(step: { card: ScenarioCard | null }): ScenarioCard;
  /** Waits until the till has settled, at most the scenario's step timeout. */
  settled(): Promise<void>;
}
