import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { toJUnitXml, xmlEscape } from '../../core/scenario/junit.ts';
import type { ScenarioResult } from '../../core/scenario/engine.ts';

/**
 * The JUnit reports of `sscard run` against the schema CI servers read them with: junit.xsd
 * here is the Jenkins xUnit plugin's junit-10.xsd (the Ant/Surefire format). xmllint does the
 * checking, as a CI job would.
 */
const XSD = fileURLToPath(new URL('./junit.xsd', import.meta.url));
const execFileP = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'sscard-junit-'));
let n = 0;

async function validate(xml: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `report-${++n}.xml`);
  writeFileSync(file, xml);
  try {
    const { stderr } = await execFileP('xmllint', ['--noout', '--schema', XSD, file]);
    return { ok: true, output: stderr };
  } catch (e) {
    return { ok: false, output: String((e as { stderr?: string }).stderr ?? e) };
  }
}

function result(over: Partial<ScenarioResult>): ScenarioResult {
  return {
    file: 'fixtures/scenarios/r1-generations/r1.3-gen3-card-pin.yaml',
    name: 'R1.3 三代卡医保支付 / gen 3 pays',
    description: 'A gen 3 payment.',
    rules: ['R1.3'],
    status: 'passed',
    durationMs: 1234,
    steps: [],
    failures: [],
    error: null,
    log: ['✔ line 9: insert  → session.gen3/holder 「请输入金额」 (3 ms)'],
    trace: '',
    ...over,
  };
}

const AT = new Date('2026-06-21T02:00:00Z');

describe('JUnit XML of sscard run', () => {
  it('passed, failed, errored and broken files validate against the Jenkins/Ant schema', async () => {
    const xml = toJUnitXml(
      [
        result({}),
        result({
          file: 'fixtures/scenarios/pin/wrong.yaml',
          name: 'fails <twice> & "quotes"',
          status: 'failed',
          failures: [
            {
              index: 3,
              line: 12,
              step: 'expect: { balances: { medicalCurrent: 1 } }',
              field: 'balances.medicalCurrent',
              expected: '1 fen (¥0.01)',
              actual: '84750 fen (¥847.50)',
            },
            { index: 3, line: 12, step: 'expect: …', field: 'result', expected: 'declined', actual: 'paid' },
          ],
        }),
        result({
          file: 'other/x.yml',
          name: 'errors',
          status: 'error',
          error: 'line 4 (insert): terminal did not reach the expected state within 10000 ms\u0007 (bell)',
        }),
      ],
      [
        {
          file: 'fixtures/scenarios/bad.yaml',
          issues: [
            {
              file: 'fixtures/scenarios/bad.yaml',
              line: 4,
              column: 13,
              field: 'steps[0].amount',
              message: 'must be yuan',
            },
          ],
        },
      ],
      { timestamp: AT, hostname: 'ci-runner' },
    );
    const v = await validate(xml);
    expect(v.output).toMatch(/validates/);
    expect(v.ok).toBe(true);

    expect(xml).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="sscard run" tests="4" failures="1" errors="2" time="3\.702">/,
    );
    expect(xml).toContain(
      '<testsuite name="fixtures/scenarios/pin" tests="1" failures="1" errors="0" skipped="0" time="1.234" timestamp="2026-06-21T02:00:00" hostname="ci-runner"',
    );
    expect(xml).toContain(
      '<testcase name="fails &lt;twice&gt; &amp; &quot;quotes&quot;" classname="pin/wrong.yaml" time="1.234">',
    );
    expect(xml).toContain(
      '<failure type="expectation" message="line 12: balances.medicalCurrent: expected 1 fen (¥0.01), got 84750 fen (¥847.50)">',
    );
    expect(xml).toContain('    expected: declined\n    actual:   paid</failure>');
    expect(xml).toContain(
      '<error type="error" message="line 4 (insert): terminal did not reach the expected state within 10000 ms\uFFFD (bell)">',
    );
    expect(xml).toContain(
      '<testcase name="bad.yaml" classname="scenarios/bad.yaml" time="0.000">\n      <error type="invalid-scenario" message="fixtures/scenarios/bad.yaml:4:13: steps[0].amount: must be yuan">',
    );
    expect(xml).toContain('<system-out>A gen 3 payment.\nrules: R1.3\n✔ line 9: insert');
  });

  it('an empty run is a valid report too', async () => {
    const v = await validate(toJUnitXml([], [], { timestamp: AT, hostname: 'h' }));
    expect(v.ok).toBe(true);
  });

  it('the schema does check: a testcase without a name, or an unknown element, is rejected', async () => {
    const bad1 =
      '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="x"/></testsuite></testsuites>';
    const bad2 =
      '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t"><oops/></testcase></testsuite></testsuites>';
    expect((await validate(bad1)).ok).toBe(false);
    expect((await validate(bad2)).ok).toBe(false);
  });

  it('escapes what XML cannot hold as is', () => {
    expect(xmlEscape('a<b>&"c"\nd\te\u0000f\uD800')).toBe(
      'a&lt;b&gt;&amp;&quot;c&quot;&#10;d&#9;e\uFFFDf\uFFFD',
    );
    expect(xmlEscape('社保卡 🪪')).toBe('社保卡 🪪');
  });
});
