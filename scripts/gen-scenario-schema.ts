/**
 * Writes fixtures/scenario.schema.json, the JSON Schema of scenario files, from the zod
 * definitions in core/scenario/schema.ts. Run after changing the format:
 *
 *   node --import tsx scripts/gen-scenario-schema.ts          # write it
 *   node --import tsx scripts/gen-scenario-schema.ts --check  # exit 1 if it is out of date
 *
 * core/scenario/schema.test.ts fails while the committed file differs from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCENARIO_SCHEMA_FILE, scenarioJsonSchemaText } from '../core/scenario/schema.ts';

const file = fileURLToPath(SCENARIO_SCHEMA_FILE);
const text = scenarioJsonSchemaText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== text) {
    process.stderr.write(`${file} is out of date: run node --import tsx scripts/gen-scenario-schema.ts\n`);
    process.exit(1);
  }
  process.stdout.write(`${file} is up to date\n`);
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file}\n`);
}
