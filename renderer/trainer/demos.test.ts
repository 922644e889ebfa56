import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { createCore, type Core } from '../../core/api/create-core.ts';
import { fixedClock } from '../../core/time.ts';
import { DEMOS, demoById } from './demos.ts';
import { DemoRunner, StepFailure, type Call, type Demo, type StepReport } from './runner.ts';
import { sequencerMachine } from './sequencer.machine.ts';

let dir: string;
let core: Core;
let call: Call;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sscard-trainer-'));
  core = await createCore({ dbPath: join(dir, 'ledger.db'), clock: fixedClock('2026-03-02T02:00:00Z') });
  call = ((m: string, a: unknown) => core.call(m, a)) as Call;
});

afterEach(async () => {
  await core.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The sequencer with the same actors the trainer panel provides. */
function sequencer(runner: () => DemoRunner) {
  let current: DemoRunner | null = null;
  return createActor(
    sequencerMachine.provide({
      actors: {
        startDemo: fromPromise<void, { demo: Demo }>(async () => {
          await call('startTraining', {});
          current = runner();
          await current.begin();
        }),
        runStep: fromPromise<StepReport, { demo: Demo; index: number }>(({ input }) =>
          current!.run(input.demo.steps[input.index]!, input.index),
        ),
      },
    }),
    { input: { delayMs: 1 } },
  );
}

describe('every demonstration runs to its end in the training sandbox, checked step by step', () => {
  for (const demo of DEMOS) {
    it(`${demo.id}: ${demo.title.zh}`, async () => {
      const actor = sequencer(() => new DemoRunner(call, { pollMs: 5 })).start();
      actor.send({ type: 'START', demo });
      await waitFor(actor, (s) => s.matches('waiting'));
      expect((await call('workspace', {})).mode).toBe('training');
      for (let i = 0; i < demo.steps.length; i++) {
        actor.send({ type: 'NEXT' });
        const s = await waitFor(
          actor,
          (x) => x.matches('waiting') || x.matches('done') || x.matches('failed'),
          {
            timeout: 20_000,
          },
        );
        if (s.matches('failed')) throw new Error(`step ${i + 1} failed: ${s.context.error?.problem.en}`);
        expect(s.context.index).toBe(i + 1);
      }
      const done = actor.getSnapshot();
      expect(done.value).toBe('done');
      expect(done.context.reports).toHaveLength(demo.steps.length);
      for (const r of done.context.reports) expect(r.checks.every((c) => c.ok)).toBe(true);
      // PINs never show in what the trainer displays.
      expect(JSON.stringify(done.context.reports.map((r) => r.apdus))).not.toMatch(/258014|246810|802460/);
      actor.stop();
      // The live books never saw the demo.
      await call('endTraining', {});
      expect(await call('payments', {})).toHaveLength(0);
    });
  }

  it('autoplay plays every step by itself', async () => {
    const demo = demoById('initial-pin')!;
    const actor = sequencer(() => new DemoRunner(call, { pollMs: 5 })).start();
    actor.send({ type: 'START', demo, autoplay: true });
    const s = await waitFor(actor, (x) => x.matches('done') || x.matches('failed'), { timeout: 30_000 });
    expect(s.value).toBe('done');
    expect(s.context.autoplay).toBe(false);
    actor.stop();
  });
});

describe('a step that does not do what its caption says', () => {
  it('stops the demo with both languages saying what was expected and what happened', async () => {
    const demo = demoById('initial-pin')!;
    // A till that takes the PIN the holder typed instead of refusing the initial one: the
    // step's action is swapped, the caption and the checks are the demo's.
    const broken: Demo = {
      ...demo,
      steps: [
        {
          ...demo.steps[0]!,
          act: async (c) => {
            await c('counterChangePin', { cardId: 'gen3-initial-pin', oldPin: '123456', newPin: '975310' });
            return c('insertCard', { cardId: 'gen3-initial-pin' });
          },
        },
        demo.steps[1]!,
        { ...demo.steps[2]!, act: (c) => c('enterPin', { pin: '975310' }) },
        demo.steps[3]!,
      ],
    };
    const actor = sequencer(() => new DemoRunner(call, { pollMs: 5 })).start();
    actor.send({ type: 'START', demo: broken });
    await waitFor(actor, (s) => s.matches('waiting'));
    for (let i = 0; i < 3; i++) {
      actor.send({ type: 'NEXT' });
      await waitFor(actor, (x) => x.matches('waiting') || x.matches('failed'), { timeout: 20_000 });
    }
    const s = actor.getSnapshot();
    expect(s.value).toBe('failed');
    expect(s.context.error?.stepIndex).toBe(2);
    expect(s.context.error?.problem.zh).toContain('应用没有按说明完成这一步');
    expect(s.context.error?.problem.zh).toContain('初始密码不能交易');
    expect(s.context.error?.problem.en).toContain('expected');
    expect(s.context.error?.checks.some((c) => !c.ok)).toBe(true);
    actor.stop();
  });

  it('a call the app refuses is reported as a step failure', async () => {
    await call('startTraining', {});
    const runner = new DemoRunner(call, { pollMs: 5 });
    await runner.begin();
    const pinStep = demoById('gen2-vs-gen3')!.steps[2]!;
    const e = await runner.run(pinStep, 2).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StepFailure);
    expect((e as StepFailure).problem.zh).toContain('终端现在不需要输入密码');
  });
});
