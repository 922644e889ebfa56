#!/usr/bin/env node
// Entry point of the `sscard` command: loads the TypeScript sources through tsx, so the
// CLI runs from a checkout without a build step.
import { register } from 'tsx/esm/api';

register();
// `sscard cards | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { run } = await import('../cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
