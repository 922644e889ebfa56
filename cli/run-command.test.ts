import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lockVpcdSlots } from '../e2e/vpcd-lock.ts';
import { cli } from './run-for-test.ts';
import { scratch } from '../test/harness/scenario/test-support.ts';

/**
 * `sscard run`: the contract of the command (exit codes, progress lines, summary, --jobs,
 * --trace, --junit). The reports are checked against the Jenkins/Ant JUnit schema with xmllint.
 */
const SHIPPED = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));
const XSD = fileURLToPath(new URL('../e2e/junit/junit.xsd', import.meta.url));
const execFileP = promisify(execFile);

async function xmllint(file: string): Promise<string> {
  const { stderr } = await execFileP('xmllint', ['--noout', '--schema', XSD, file]);
  return stderr.trim();
}

const PASSING = `name: pays 12.50
rules: [R1.3]
card: gen3-active
steps:
  - insert
  - amount: "12.50"
  - pin: "258014"
  - expect: { result: paid }
`;

const FAILING = `name: expects the wrong balance
rules: [R4.1]
card: gen3-active
steps:
  - insert
  - amount: "12.50"
  - pin: "258014"
  - expect: { balances: { medicalCurrent: "860.00" } }
`;

const BROKEN = `name: broken
card: gen3-active
steps:
  - amount: 12.50
`;

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe('sscard run', () => {
  it('runs the shipped scenarios: all pass, a progress line each, a summary, JUnit and traces', async () => {
    const out = scratch();
    const junit = join(out.dir, 'reports', 'junit.xml');
    const traces = join(out.dir, 'traces');
    const r = await cli('run', SHIPPED, '--jobs', '2', '--junit', junit, '--trace', traces);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const progress = lines.filter((l) => /^[✔✘] /.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(30);
    expect(progress.every((l) => l.startsWith('✔ '))).toBe(true);
    expect(progress[0]).toMatch(/^✔ .+ {2}\(fixtures\/scenarios\/.+\.yaml, \d+\.\d\d s\)$/);
    expect(lines[0]).toMatch(/^Running \d+ scenario file\(s\), 2 at a time…$/);
    expect(r.out).toMatch(
      new RegExp(`\\n${progress.length} passed, 0 failed, 0 broken files \\(\\d+\\.\\d\\d s\\)\\n`),
    );

    // JUnit: valid against the schema CI servers use; one testcase per scenario.
    expect(await xmllint(junit)).toMatch(/validates$/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(progress.length);
    expect(xml).toContain('classname="r1-generations/r1.4-initial-pin-changed-at-counter.yaml"');
    expect(xml).toMatch(
      /<testsuite name="fixtures\/scenarios\/r1-generations" tests="\d+" failures="0" errors="0"/,
    );

    // One trace per scenario, PINs masked: no VERIFY or CHANGE PIN data in clear.
    const files = allFiles(traces);
    expect(files).toHaveLength(progress.length);
    expect(files).toContain(join(traces, 'r1-generations', 'r1.3-gen3-card-pin.yaml.trace.txt'));
    const all = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(all).toMatch(/> 0020000003\*{6}\t< 9000\tVERIFY PIN → OK/);
    expect(all).toMatch(/> 805E010007\*{14}\t< 9000\tCHANGE PIN → OK/);
    expect(all).not.toMatch(/> 00200000[0-9A-F]{2}[0-9A-F]/);
    expect(all).not.toMatch(/> 805E01[0-9A-F]{4}[0-9A-F]/);
  }, 120_000);

  it('exit 2 when a scenario fails: the failed expectation, expected vs actual; JUnit <failure>', async () => {
    const s = scratch();
    s.write('ok/pays.yaml', PASSING);
    s.write('bad/wrong-balance.yml', FAILING);
    const junit = join(s.dir, 'junit.xml');
    const r = await cli('run', s.dir, '--jobs', '1', '--junit', junit);
    expect(r.code).toBe(2);
    expect(r.out).toContain('Running 2 scenario file(s), 1 at a time…');
    expect(r.out).toMatch(/✘ expects the wrong balance {2}\(.*bad\/wrong-balance\.yml, \d+\.\d\d s\)/);
    expect(r.out).toContain(
      '    line 8: balances.medicalCurrent: expected 86000 fen (¥860.00), got 84750 fen (¥847.50)',
    );
    expect(r.out).toMatch(/✔ pays 12\.50 {2}\(/);
    expect(r.out).toMatch(/1 passed, 1 failed, 0 broken files/);
    expect(await xmllint(junit)).toMatch(/validates$/);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain(
      '<failure type="expectation" message="line 8: balances.medicalCurrent: expected 86000 fen (¥860.00), got 84750 fen (¥847.50)">',
    );
    expect(xml).toContain('<system-out>rules: R4.1\n✔ line 5: insert');
  });

  it('exit 1 when a file is invalid: file:line:column, field and problem; the others still run', async () => {
    const s = scratch();
    s.write('a.yaml', PASSING);
    const broken = s.write('b.yaml', BROKEN);
    const junit = join(s.dir, 'out.xml');
    const r = await cli('run', s.dir, '--junit', junit);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✔ pays 12\.50/);
    expect(r.out).toMatch(/1 passed, 0 failed, 1 broken file \(/);
    expect(r.err).toContain(`✘ ${broken}: invalid scenario file, not run (1 problem)`);
    expect(r.err).toContain(
      `    ${broken}:4:13: steps[0].amount: must be yuan as text in quotes, e.g. "12.50" (a bare 12.50 is read as a float)`,
    );
    expect(await xmllint(junit)).toMatch(/validates$/);
    expect(readFileSync(junit, 'utf8')).toMatch(
      /<testcase name="b\.yaml" [^>]*>\n\s*<error type="invalid-scenario"/,
    );
  });

  it('exit 1 for a path that does not exist, or folders without scenarios', async () => {
    const s = scratch();
    s.write('readme.txt', 'no scenarios here');
    const missing = join(s.dir, 'nope.yaml');
    const r1 = await cli('run', missing);
    expect(r1.code).toBe(1);
    expect(r1.err).toContain(`${missing}:1:1: no such file or folder`);
    const r2 = await cli('run', s.dir);
    expect(r2.code).toBe(1);
    expect(r2.err).toBe(`sscard: no scenario files (*.yaml, *.yml) in ${s.dir}`);
  });

  it('usage errors exit 64; --help exits 0', async () => {
    expect((await cli('run')).code).toBe(64);
    expect((await cli('run')).err).toMatch(/give at least one scenario file or folder/);
    expect((await cli('run', SHIPPED, '--jobs', '0')).err).toMatch(/--jobs must be a whole number from 1/);
    expect((await cli('run', SHIPPED, '--jobs', 'many')).code).toBe(64);
    expect((await cli('run', SHIPPED, '--colour')).code).toBe(64);
    // A PC/SC reader that is not there is bad input, said before anything runs.
    const noReader = await cli('run', SHIPPED, '--reader', 'No Such Reader 42');
    expect(noReader.code).toBe(1);
    // (no such reader among pcscd's, or no pcscd at all)
    expect(noReader.err).toMatch(/^sscard: .*PC\/SC/);
    expect(noReader.out).toBe('');
    const help = await cli('run', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(
      /^sscard run <files or folders>… \[--junit <file>\] \[--trace <dir>\] \[--jobs N\] \[--reader <name>\]/,
    );
    expect((await cli('help')).out).toContain('sscard run <files or folders>…');
  });

  it('--trace writes a file per scenario, --jobs N runs N at a time', async () => {
    const s = scratch();
    for (const n of ['one', 'two', 'three'])
      s.write(`set/${n}.yaml`, PASSING.replace('pays 12.50', `pays ${n}`));
    const traces = join(s.dir, 't');
    const r = await cli('run', join(s.dir, 'set'), '--jobs', '3', '--trace', traces);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Running 3 scenario file(s), 3 at a time…');
    expect(r.out.split('\n').filter((l) => l.startsWith('✔ pays '))).toHaveLength(3);
    for (const n of ['one', 'two', 'three']) {
      const f = join(traces, 'set', `${n}.yaml.trace.txt`);
      expect(existsSync(f)).toBe(true);
      expect(readFileSync(f, 'utf8')).toMatch(
        /^1\t2026-03-02T02:00:00\.000Z\tSSCard Lab 虚拟读卡器\t> 00A40400/,
      );
    }
  });
});

/**
 * Against a real pcscd with vpcd. The e2e PC/SC tests use the same two vpcd slots and test files
 * run in parallel, so this file takes its turn on them through the shared lock.
 */
describe('sscard run --reader (PC/SC, vpcd)', () => {
  let releaseSlots: (() => void) | null = null;
  beforeAll(async () => {
    const status = inject('pcscd');
    if (!status.ok) throw new Error(`PC/SC tests need pcscd with vpcd: ${status.reason}`);
    releaseSlots = await lockVpcdSlots();
  }, 660_000);
  afterAll(() => releaseSlots?.());

  it('serves each card into the vpcd reader and runs the scenario through pcscd', async () => {
    const r = await cli(
      'run',
      join(SHIPPED, 'r1-generations', 'r1.4-initial-pin-changed-at-counter.yaml'),
      join(SHIPPED, 'pin', 'r1.3-wrong-pin-counts-down.yaml'),
      '--reader',
      'Virtual PCD 00 01',
    );
    expect(r.out).toContain("on PC/SC reader 'Virtual PCD 00 01', one at a time…");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 passed, 0 failed/);
  }, 60_000);
});
