import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { findScenarioFiles, formatIssue, loadScenario, type ScenarioIssue } from './load.ts';
import { load, loaded, scratch } from '../../test/harness/scenario/test-support.ts';

const SHIPPED = fileURLToPath(new URL('../../fixtures/scenarios/', import.meta.url));

/** The issues of a file that must not load, as `line:column field: message`. */
function issues(text: string): string[] {
  const r = load(text);
  if (r.ok) throw new Error('the scenario loaded, but it should not');
  return r.issues.map((i) => `${i.line}:${i.column} ${i.field}: ${i.message}`);
}

describe('scenario loader: good files', () => {
  it('loads every shipped scenario, each naming the rules it checks', () => {
    const { files, missing } = findScenarioFiles([SHIPPED]);
    expect(missing).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const f of files) {
      const r = loadScenario(f);
      if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
      expect(r.scenario.rules.length, f).toBeGreaterThan(0);
      expect(r.scenario.steps.length, f).toBeGreaterThan(0);
    }
  });

  it('fills in the defaults: virtual reader, host up with a 300 ms timeout, current year first, self-pay', () => {
    const s = loaded('name: defaults\ncard: gen3-active\nsteps: [insert]\n');
    expect(s).toMatchObject({
      name: 'defaults',
      description: '',
      rules: [],
      reader: { kind: 'virtual' },
      host: { link: 'up', timeoutMs: 300 },
      settings: { medicalOrder: 'current-first', shortfall: 'self-pay' },
      start: '2026-03-02T02:00:00.000Z',
      stepTimeoutMs: 10_000,
    });
    expect(s.card?.profile.card.number).toBe('C44010048');
    expect(s.steps).toEqual([{ kind: 'insert', card: null, index: 0, line: 3, text: 'insert' }]);
  });

  it('turns yuan text into fen exactly and expands every shorthand', () => {
    const s = loaded(`name: shorthands
card: gen3-active
reader: { pcsc: "Virtual PCD 00 01" }
clock: 2026-06-20
steps:
  - amount: "0.29"
  - amount: { yuan: "19.99", method: reserve }
  - amount: "12345678.9"
  - pin: "012345"
  - password: "246810"
  - host: drop-after-apply
  - clock: 2026-06-21
  - clock: { advance: 1d2h3m4s5ms }
  - counter: unblock
  - counter: { action: change-pin, old: "123456", new: "654321", card: gen2 }
  - refund: "5"
  - settle: { date: 2026-06-21 }
  - reconcile
  - fault: { corruptRecord: { file: EF05, record: 2 } }
  - crash: { point: during-apdu, after: 3 }
  - crash: after-card-debit
`);
    expect(s.reader).toEqual({ kind: 'pcsc', name: 'Virtual PCD 00 01' });
    expect(s.start).toBe('2026-06-20T01:00:00.000Z'); // a date alone: 09:00 in Beijing
    const bodies = s.steps.map(({ index: _i, line: _l, text: _t, ...b }) => b);
    expect(bodies).toEqual([
      { kind: 'amount', fen: 29, yuan: '0.29', method: 'medical' },
      { kind: 'amount', fen: 1999, yuan: '19.99', method: 'reserve' },
      { kind: 'amount', fen: 1_234_567_890, yuan: '12345678.9', method: 'medical' },
      { kind: 'pin', value: '012345' },
      { kind: 'password', value: '246810' },
      { kind: 'host', to: 'drop-after-apply' },
      { kind: 'clock', set: '2026-06-21T01:00:00.000Z', advanceMs: null },
      { kind: 'clock', set: null, advanceMs: ((26 * 60 + 3) * 60 + 4) * 1000 + 5 },
      { kind: 'counter', counter: { action: 'unblock' }, card: null },
      {
        kind: 'counter',
        counter: { action: 'change-pin', old: '123456', new: '654321' },
        card: expect.objectContaining({ ref: 'gen2' }),
      },
      { kind: 'refund', fen: 500, yuan: '5', payment: 'last' },
      { kind: 'settle', date: '2026-06-21' },
      { kind: 'reconcile', date: null },
      { kind: 'fault', fault: { type: 'corrupt-record', file: 'EF05', record: 2, mode: 'flip' } },
      { kind: 'crash', point: 'during-apdu', after: 3 },
      { kind: 'crash', point: 'after-card-debit', after: 1 },
    ]);
    expect(s.steps.map((x) => x.line)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
  });

  it('resolves a profile file relative to the scenario file', () => {
    const s = scratch();
    s.write('cards/c.json', JSON.stringify({ id: 'x', label: 'x', generation: 1, card: {} }));
    const file = s.write('deep/in/here.yaml', 'name: x\ncard: ../../cards/c.json\nsteps: [insert]\n');
    const r = loadScenario(file);
    expect(r.ok).toBe(false);
    // The file was found: its own problems are reported, at the line that names it.
    expect(!r.ok && r.issues[0]).toMatchObject({ line: 2, column: 7, field: 'card' });
    expect(!r.ok && r.issues[0]!.message).toMatch(/^card \.\.\/\.\.\/cards\/c\.json: card\.number: /);
  });
});

describe('scenario loader: broken files name the file, line, column and field', () => {
  it('a YAML syntax error', () => {
    expect(issues('name: x\nsteps:\n  - amount: "12.50\n')).toEqual(['4:1 : YAML: Missing closing "quote']);
    expect(issues('name: x\nname: y\nsteps: [insert]\n')).toEqual(['2:1 : YAML: Map keys must be unique']);
  });

  it('each error with its file and position, sorted by line; the file is the path given', () => {
    const s = scratch();
    const file = s.write(
      'broken.yaml',
      'name: 1\ncard: gen3-active\nsteps:\n  - amount: 12.50\n  - pin: 258014\n',
    );
    const r = loadScenario(file);
    if (r.ok) throw new Error('loaded');
    const list: ScenarioIssue[] = r.issues;
    expect(list.map(formatIssue)).toEqual([
      `${r.file}:1:7: name: must be the scenario name as text`,
      `${r.file}:4:13: steps[0].amount: must be yuan as text in quotes, e.g. "12.50" (a bare 12.50 is read as a float)`,
      `${r.file}:5:10: steps[1].pin: must be the PIN as digits in quotes, e.g. "012345"`,
    ]);
    expect(list[0]!.file).toBe(r.file);
  });

  it('header fields: missing, unknown, wrong values', () => {
    expect(
      issues(`description: no name
colour: blue
rules: [R1.4, rule-7]
host: { link: sideways, timeoutMs: 5 }
settings: { medicalOrder: newest-first }
clock: "2026-06-21 10:00"
reader: { usb: 1 }
steps: []
`),
    ).toEqual([
      '1:1 name: is required',
      "2:1 colour: unknown field 'colour'",
      '3:15 rules[1]: must be a rule id such as R1.4 (see domain-rules.md)',
      '4:15 host.link: Invalid option: expected one of "up"|"down"|"slow"',
      '4:36 host.timeoutMs: Too small: expected number to be >=10',
      '5:27 settings.medicalOrder: Invalid option: expected one of "current-first"|"prior-first"',
      '6:8 clock: must be an ISO instant with offset (2026-06-21T10:00:00+08:00) or a date (2026-06-21)',
      '7:9 reader: must be virtual, or { pcsc: "<reader name>" }',
      '8:8 steps: must list at least one step',
    ]);
  });

  it('unknown steps (with a suggestion), steps with two keys, bare steps that need a value', () => {
    expect(
      issues(`name: x
card: gen3-active
steps:
  - insret
  - pinn: "1"
  - amount: "1.00"
    pin: "1234"
  - pin
  - [insert]
`),
    ).toEqual([
      "4:5 steps[0]: unknown step 'insret' (did you mean 'insert'?); steps are insert, remove, amount, pin, password, cancel, timeout, host, clock, counter, sync, settle, reconcile, refund, fault, crash, expect, interface",
      "5:5 steps[1].pinn: unknown step 'pinn' (did you mean 'pin'?); steps are insert, remove, amount, pin, password, cancel, timeout, host, clock, counter, sync, settle, reconcile, refund, fault, crash, expect, interface",
      "6:5 steps[2]: a step has exactly one key, this one has 2 (amount, pin): put each on its own '- ' line",
      '8:5 steps[3]: \'pin\' needs a value, e.g. pin: "012345"',
      '9:5 steps[4]: a step is a word (insert) or one key with its value (amount: "12.50")',
    ]);
  });

  it('step values: amounts, durations, counter actions, faults, crash points', () => {
    expect(
      issues(`name: x
card: gen3-active
steps:
  - amount: "12.505"
  - amount: { yuan: "1.00", method: cash }
  - clock: { advance: "1 day" }
  - counter: { action: change-pin, old: "123456" }
  - counter: { action: shred }
  - fault: { removeCardAtApdu: 0 }
  - crash: somewhere
  - host: sideways
`),
    ).toEqual([
      '4:13 steps[0].amount: must be yuan with at most two decimals, e.g. "12.50"',
      '5:37 steps[1].amount.method: Invalid option: expected one of "medical"|"reserve"',
      '6:23 steps[2].clock.advance: must be a duration such as "1d", "2h30m", "90s", "500ms"',
      '7:14 steps[3].counter.new: is required',
      '8:24 steps[4].counter.action: must name an action: change-pin, unblock, report-loss, release-loss or activate',
      '9:32 steps[5].fault.removeCardAtApdu: Too small: expected number to be >=1',
      '10:12 steps[6].crash: must be one of during-apdu, after-card-debit, before-journal-commit, after-journal-commit, during-settlement, during-carry-over',
      '11:11 steps[7].host: must be one of up, down, slow, error, drop-after-apply',
    ]);
  });

  it('expectations: unknown fields at their key, wrong values at their value', () => {
    expect(
      issues(`name: x
card: gen3-active
steps:
  - expect:
      result: paidd
      balances: { reserve: "x", medicalCurrent: -5, savings: 1 }
      message: NOT_A_CODE
      statusWords: ["9G00"]
      colour: red
`),
    ).toEqual([
      '5:15 steps[0].expect.result: Invalid option: expected one of "paid"|"declined"|"cancelled"|"pulled"|"reversed"|"refused"',
      '6:28 steps[0].expect.balances.reserve: must be yuan with at most two decimals, e.g. "12.50"',
      '6:49 steps[0].expect.balances.medicalCurrent: Too small: expected number to be >=0',
      "6:53 steps[0].expect.balances.savings: unknown field 'savings'",
      expect.stringMatching(
        /^7:16 steps\[0\]\.expect\.message: must be one of the till's message codes: INSERT_CARD, /,
      ),
      '8:21 steps[0].expect.statusWords[0]: must be a status word of 4 hex digits, x for any digit: "9000", "63Cx"',
      "9:7 steps[0].expect.colour: unknown field 'colour'",
    ]);
  });

  it('cards: unknown bundled id, missing file, a bad inline profile field by its path', () => {
    expect(
      issues(`name: x
card: gen9
steps:
  - insert: nosuch/card.json
  - insert:
      card:
        id: inline
        label: inline card
        generation: 4
  - expect: { balances: { card: gen3-active, reserve: 0 } }
`),
    ).toEqual([
      "2:7 card: no bundled card 'gen9' (see `sscard cards`); a profile file must end in .json",
      expect.stringMatching(
        /^4:13 steps\[0\]\.insert: card file not found: nosuch\/card\.json \(looked for \/.*nosuch\/card\.json\)$/,
      ),
      '7:9 steps[1].insert.card.card: is required (object)',
      '7:9 steps[1].insert.card.holder: is required (object)',
      '7:9 steps[1].insert.card.pin: is required (string)',
      '9:21 steps[1].insert.card.generation: must be 1, 2 or 3 (a number, not text)',
    ]);
  });

  it('a step that needs a card when the scenario has none', () => {
    expect(
      issues('name: x\nsteps:\n  - insert\n  - counter: unblock\n  - expect: { pinTriesLeft: 3 }\n'),
    ).toEqual([
      '3:5 steps[0]: no card yet: give the scenario a `card:` or name one in this step',
      '4:14 steps[1].counter: no card yet: give the scenario a `card:` or name one in this step',
      '5:13 steps[2].expect: no card yet: give the scenario a `card:` or name one in this step',
    ]);
  });

  it('an empty file, a list, a missing file', () => {
    expect(issues('')).toEqual([
      '1:1 : a scenario is a mapping with name, card, steps… (see docs/scenarios.md)',
    ]);
    expect(issues('- insert\n')).toEqual([
      '1:1 : a scenario is a mapping with name, card, steps… (see docs/scenarios.md)',
    ]);
    const r = loadScenario('/no/such/scenario.yaml');
    expect(r).toEqual({
      ok: false,
      file: '/no/such/scenario.yaml',
      issues: [{ file: '/no/such/scenario.yaml', line: 1, column: 1, field: '', message: 'file not found' }],
    });
  });
});

describe('finding scenario files', () => {
  it('folders recursively (*.yaml, *.yml, sorted, hidden folders skipped), files as given, missing apart', () => {
    const s = scratch();
    const b = s.write('b/two.yml', '');
    const a = s.write('a/one.yaml', '');
    s.write('a/notes.txt', '');
    s.write('.hidden/three.yaml', '');
    const c = s.write('c.yaml', '');
    expect(findScenarioFiles([s.dir, c, `${s.dir}/missing`])).toEqual({
      files: [a, b, c],
      missing: [`${s.dir}/missing`],
    });
  });
});
