/**
 * A worker process of `sscard run`: takes scenarios one at a time from its parent (IPC), as
 * the parent loaded them (or a file to load), and runs each on a fresh temporary database, a
 * copy of this process's template ledger for its cards (template.ts). Started by runner.ts;
 * not a command of its own.
 */
import { runScenario } from './engine.ts';
import { loadScenario, formatIssue } from './load.ts';
import type { WorkerReply, WorkerTask } from './runner.ts';

if (!process.send) {
  process.stderr.write('worker: started without an IPC channel (run by sscard run only)\n');
  process.exit(64);
}

const reply = (m: WorkerReply) => process.send!(m);

process.on('message', (m: WorkerTask) => {
  void (async () => {
    try {
      let scenario = m.scenario;
      if (!scenario) {
        const loaded = loadScenario(m.file);
        if (!loaded.ok) {
          reply({ id: m.id, error: loaded.issues.map(formatIssue).join('\n') });
          return;
        }
        scenario = loaded.scenario;
      }
      const result = await runScenario(
        scenario,
        m.readerOverride ? { readerOverride: m.readerOverride } : {},
      );
      reply({ id: m.id, result });
    } catch (e) {
      reply({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
