import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  generateMixedScenarios,
  mixedCounts,
  mixedDifferences,
  MIXED_DIR,
} from '../../scripts/gen-mixed-scenarios.ts';
import { runScenario, type ScenarioResult } from './engine.ts';
import { findScenarioFiles, loadScenario } from './load.ts';
import { scratch } from '../../test/harness/scenario/test-support.ts';

const files = generateMixedScenarios();
const SHIPPED_DIR = fileURLToPath(new URL('../../fixtures/scenarios/', import.meta.url));

const KINDS = [
  'gen3-pay',
  'gen3-split',
  'gen3-shortfall',
  'wrong-pin',
  'pin-blocked',
  'gen2-password',
  'reserve',
  'gen1',
  'initial-pin',
  'refused',
  'host-down',
  'slow-host',
  'pulled-at-pin',
  'corrupted',
  'settle-reconcile',
  'counter-pin-change',
  'carry-over',
];

function loadText(name: string, text: string) {
  const r = loadScenario(scratch().write(name, text));
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.line}: ${i.field}: ${i.message}`).join('\n'));
  return r.scenario;
}

function explain(r: ScenarioResult): string {
  return `${r.file} ${r.status}: ${r.error ?? ''}\n${r.log.join('\n')}`;
}

describe('the mixed scenarios (fixtures/scenarios-mixed)', () => {
  it('the committed folder is what scripts/gen-mixed-scenarios.ts writes (run it after changing the script or a bundled card)', () => {
    expect(mixedDifferences(MIXED_DIR, files)).toEqual([]);
  });

  it('1,000 of them, every kind, the schema header line; a sibling of fixtures/scenarios, not in it', () => {
    expect(files.length).toBeGreaterThanOrEqual(1000);
    expect(Object.keys(mixedCounts(files)).sort()).toEqual([...KINDS].sort());
    for (const f of files) {
      expect(f.name).toMatch(/^mixed-\d{4}\.yaml$/);
      expect(f.text.split('\n')[0]).toBe('# yaml-language-server: $schema=../scenario.schema.json');
    }
    expect(existsSync(resolve(MIXED_DIR, '../scenario.schema.json'))).toBe(true);
    const shipped = findScenarioFiles([SHIPPED_DIR]).files;
    expect(shipped.length).toBeGreaterThan(0);
    expect(shipped.filter((f) => f.includes('scenarios-mixed'))).toEqual([]);
  });

  it('every file loads (checked as sscard run checks it)', () => {
    for (const f of files) {
      const r = loadScenario(join(MIXED_DIR, f.name));
      if (!r.ok)
        throw new Error(
          `${f.name}: ${r.issues.map((i) => `${i.line}: ${i.field}: ${i.message}`).join('; ')}`,
        );
    }
  });

  it('a sample, two of each kind, passes through runScenario', async () => {
    const sample = KINDS.flatMap((k) => files.filter((f) => f.kind === k).slice(0, 2));
    expect(sample.length).toBe(KINDS.length * 2);
    for (const f of sample) {
      const r = loadScenario(join(MIXED_DIR, f.name));
      if (!r.ok) throw new Error(`${f.name} does not load`);
      const result = await runScenario(r.scenario);
      if (result.status !== 'passed') throw new Error(explain(result));
    }
  }, 60_000);

  it('the expectations are exact: the other medical order, or a fen more, fails them', async () => {
    const split = files.find((f) => f.kind === 'gen3-split' && !f.text.includes('prior-first'))!;
    const r1 = await runScenario(
      loadText(
        'order.yaml',
        split.text.replace('\nsteps:', '\nsettings: { medicalOrder: prior-first }\nsteps:'),
      ),
    );
    expect(r1.status).toBe('failed');
    expect(r1.failures.map((f) => f.field)).toContain('balances.medicalCurrent');

    const pay = files.find((f) => f.kind === 'gen3-pay')!;
    const amount = /amount: '(\d+)\.(\d\d)'/.exec(pay.text)!;
    const more = `amount: '${amount[1]}.${String(Number(amount[2]) + 1).padStart(2, '0')}'`;
    expect(amount[2]).not.toBe('99');
    const r2 = await runScenario(loadText('amount.yaml', pay.text.replace(amount[0], more)));
    expect(r2.status).toBe('failed');
    expect(r2.failures.map((f) => f.field)).toEqual(expect.arrayContaining(['receipt.amount']));
  });
});
