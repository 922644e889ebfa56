import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-for-test.ts';
import { scratch } from '../test/harness/scenario/test-support.ts';

/**
 * `sscard run` against hostile or careless input (issue 16 item 5): an alias bomb, output paths
 * that cannot be written, a `card:` naming a file it must not read. Each ends with a clear
 * message and a documented exit code — never a stack trace, never a hang, never a file's bytes.
 */
const PASSING = `name: pays 12.50
rules: [R1.3]
card: gen3-active
steps:
  - insert
  - amount: "12.50"
  - pin: "258014"
  - expect: { result: paid }
`;

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |unexpected error/);

function bomb(): string {
  const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\nname: bomb\ncard: gen3-active\nsteps: [insert]\n`;
}

describe('sscard run: hostile scenarios and odd output paths', () => {
  it('an alias bomb: exit 1 at once with file, line and what is wrong; the other files still run', async () => {
    const s = scratch();
    const file = s.write('suite/bomb.yaml', bomb());
    s.write('suite/ok.yaml', PASSING);
    const junit = join(s.dir, 'junit.xml');
    const started = performance.now();
    const r = await cli('run', join(s.dir, 'suite'), '--junit', junit);
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(r.code).toBe(1);
    noStack(r.err);
    expect(r.err).toContain(`✘ ${file}: invalid scenario file, not run (1 problem)`);
    expect(r.err).toMatch(/bomb\.yaml:2:\d+: YAML: its aliases \(\*name\) expand too far/);
    expect(r.out).toMatch(/1 passed, 0 failed, 1 broken file/);
    expect(readFileSync(junit, 'utf8')).toContain('expand too far');
  });

  it('--junit naming a folder, or a path under a file: exit 1 before anything runs', async () => {
    const s = scratch();
    s.write('a.yaml', PASSING);
    const folder = join(s.dir, 'reports');
    mkdirSync(folder);
    const r = await cli('run', join(s.dir, 'a.yaml'), '--junit', folder);
    expect(r.code).toBe(1);
    noStack(r.err);
    expect(r.err).toBe(
      `sscard: --junit ${folder}: is a folder; give the report's file name, e.g. ${join(folder, 'junit.xml')}`,
    );
    expect(r.out).toBe(''); // nothing ran
    const file = s.write('plain.txt', 'x');
    const under = await cli('run', join(s.dir, 'a.yaml'), '--junit', join(file, 'junit.xml'));
    expect(under.code).toBe(1);
    expect(under.err).toBe(`sscard: --junit ${join(file, 'junit.xml')}: ${file} is not a folder`);
    expect(under.out).toBe('');
  });

  it('--trace naming a file: exit 1 before anything runs', async () => {
    const s = scratch();
    s.write('a.yaml', PASSING);
    const file = s.write('traces', 'not a folder');
    const r = await cli('run', join(s.dir, 'a.yaml'), '--trace', file);
    expect(r.code).toBe(1);
    noStack(r.err);
    expect(r.err).toMatch(/^sscard: --trace .*traces: is a file; give a folder/);
    expect(r.out).toBe('');
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });

  it('a trace that cannot be written mid-run: the run finishes, the report is written, exit 1 says which', async () => {
    const s = scratch();
    s.write('suite/a.yaml', PASSING);
    const traces = join(s.dir, 'traces');
    mkdirSync(traces);
    // Where the suite's folder of traces would go, a file: every trace write fails.
    writeFileSync(join(traces, 'suite'), 'in the way');
    const junit = join(s.dir, 'junit.xml');
    const r = await cli('run', join(s.dir, 'suite'), '--trace', traces, '--junit', junit);
    expect(r.code).toBe(1);
    noStack(r.err);
    expect(r.out).toMatch(/✔ pays 12\.50/);
    expect(r.out).toMatch(/1 passed, 0 failed, 0 broken files/);
    expect(r.err).toMatch(
      /^sscard: cannot write the APDU trace .*suite\/a\.yaml\.trace\.txt \((ENOTDIR|EEXIST)\); no further traces written$/,
    );
    expect(readFileSync(junit, 'utf8')).toContain('<testcase name="pays 12.50"');
    // Nothing half-written beside the report.
    expect(readdirSync(s.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it("a card: path outside the scenario's folder is refused, and no file's bytes reach stderr or the JUnit report", async () => {
    const s = scratch();
    const secret = s.write('private/secret.json', '{"apiKey": "s3cr3t-value-123"}');
    const passwd = s.write('private/passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    s.write('suite/not-a-card.json', 'root:x:0:0:root:/root:/bin/bash\n');
    s.write('suite/a.yaml', `name: a\ncard: ${secret}\nsteps: [insert]\n`);
    s.write('suite/b.yaml', `name: b\ncard: ${passwd}\nsteps: [insert]\n`);
    s.write('suite/c.yaml', 'name: c\ncard: not-a-card.json\nsteps: [insert]\n');
    const junit = join(s.dir, 'junit.xml');
    const r = await cli('run', join(s.dir, 'suite'), '--junit', junit);
    expect(r.code).toBe(1);
    noStack(r.err);
    const xml = readFileSync(junit, 'utf8');
    for (const text of [r.err, r.out, xml]) expect(text).not.toMatch(/s3cr3t|apiKey|root:x/);
    expect(r.err).toMatch(/a\.yaml:2:7: card: card file .*secret\.json is outside the scenario's folder/);
    expect(r.err).toMatch(/b\.yaml:2:7: card: card file .*passwd: a card profile file must end in \.json/);
    expect(r.err).toMatch(/c\.yaml:2:7: card: card not-a-card\.json: line 1, column 1: not valid JSON/);
    expect(r.out).toMatch(/0 passed, 0 failed, 3 broken files/);
  });

  it('--cards <dir> lets scenarios name the card files of that folder', async () => {
    const s = scratch();
    const profile = readFileSync(new URL('../fixtures/cards/gen3-active.json', import.meta.url), 'utf8');
    s.write('shared-cards/mine.json', profile);
    s.write('suite/a.yaml', PASSING.replace('card: gen3-active', 'card: ../shared-cards/mine.json'));
    const refused = await cli('run', join(s.dir, 'suite'));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/is outside the scenario's folder/);
    const r = await cli('run', join(s.dir, 'suite'), '--cards', join(s.dir, 'shared-cards'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/1 passed, 0 failed, 0 broken files/);
    const missing = await cli('run', join(s.dir, 'suite'), '--cards', join(s.dir, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`sscard: --cards ${join(s.dir, 'nope')}: no such folder`);
    expect(existsSync(join(s.dir, 'nope'))).toBe(false);
  });
});
