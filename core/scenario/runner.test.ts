import { describe, expect, it } from 'vitest';
import { runScenarioFiles } from './runner.ts';
import { scratch, yaml } from '../../test/harness/scenario/test-support.ts';

const pay = (card: string, pin: string, yuan: string, balance: string) =>
  yaml(
    card,
    `
- insert
- amount: '${yuan}'
- pin: '${pin}'
- expect: { result: paid, balances: { medicalCurrent: '${balance}' } }`,
  );

describe('the parallel runner', () => {
  it('hands each file out once checked; results in the order of the files, broken files apart', async () => {
    const dir = scratch();
    const files = [
      dir.write('a.yaml', pay('gen3-active', '258014', '10.00', '850.00')),
      dir.write('b.yaml', pay('gen3-hong-kong', '375168', '20.00', '160.00')),
      dir.write('broken.yaml', 'name: broken\nsteps:\n  - amount: 12.50\n'),
      dir.write('c.yaml', pay('gen3-active', '258014', '30.00', '830.00')),
      dir.write('d.yaml', pay('gen3-foreigner', '290637', '40.00', '215.00')),
      dir.write('e.yaml', pay('gen3-hong-kong', '375168', '50.00', '130.00')),
    ];
    const order: string[] = [];
    const s = await runScenarioFiles(files, { jobs: 2, onResult: (r) => order.push(r.file) });
    expect(s.results.map((r) => r.file.split('/').pop())).toEqual([
      'a.yaml',
      'b.yaml',
      'c.yaml',
      'd.yaml',
      'e.yaml',
    ]);
    expect(s.results.map((r) => r.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
    expect(order).toHaveLength(5);
    expect(s.broken.map((b) => b.file.split('/').pop())).toEqual(['broken.yaml']);
  }, 60_000);

  it('scenarios on the same PC/SC reader take turns, and one that cannot start is an error, not a hang', async () => {
    const dir = scratch();
    const onReader = (name: string) =>
      dir.write(
        name,
        `name: ${name}\ncard: gen3-active\nreader: { pcsc: 'No Such Reader 99' }\nsteps:\n  - insert\n`,
      );
    const files = [
      onReader('r1.yaml'),
      onReader('r2.yaml'),
      dir.write('v.yaml', pay('gen3-active', '258014', '1.00', '859.00')),
    ];
    const s = await runScenarioFiles(files, { jobs: 2 });
    expect(s.results.map((r) => r.status)).toEqual(['error', 'error', 'passed']);
    expect(s.results[0]!.error).toMatch(/the till could not start/);
  }, 60_000);
});
