/**
 * The process a `crash` step runs the following steps in (started by crash-child-process.ts with
 * SSCARD_CRASH_AT in its environment; the crash point kills it). Not a command of its own.
 */
import { crashChildMain } from './engine.ts';
import { loadScenario, ScenarioError } from './load.ts';

const input = process.env.SSCARD_SCENARIO_CHILD;
if (!input) {
  process.stderr.write(
    'crash-child: SSCARD_SCENARIO_CHILD is not set (started by the scenario engine only)\n',
  );
  process.exit(64);
}
try {
  process.exitCode = await crashChildMain(input, (file) => {
    const r = loadScenario(file);
    if (!r.ok) throw new ScenarioError(r.issues);
    return r.scenario;
  });
} catch (e) {
  process.stderr.write(`crash-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
