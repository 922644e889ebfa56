import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import {
  cardInService,
  cardLifecycleMachine,
  LIFECYCLE_LABELS,
  progressOf,
  REFUSALS,
  type LifecycleEvent,
  type LifecycleSnapshot,
  type LifecycleState,
} from './card-lifecycle.machine.ts';

const CARD = 'A44010048';
const NEW_PIN = '258014';

const start = () => createActor(cardLifecycleMachine, { input: { cardId: CARD } }).start();
type Actor = ReturnType<typeof start>;
const sendAll = (a: Actor, events: LifecycleEvent[]) => {
  for (const e of events) a.send(e);
  return a.getSnapshot();
};
const trail = (s: LifecycleSnapshot) => s.context.history.map((h) => h.state);

const activate: LifecycleEvent = { type: 'ACTIVATE', financialPasswordSet: true, newPin: NEW_PIN };
const normalIssuance: LifecycleEvent[] = [
  { type: 'SUBMIT_NORMAL' },
  { type: 'CITY_BRANCH_RECEIVED' },
  { type: 'OUTLET_RECEIVED' },
];
const close = (hasMedicalAccount: boolean, medicalAccountClosed: boolean, crossRegion = false) =>
  ({ type: 'CLOSE', hasMedicalAccount, medicalAccountClosed, crossRegion }) as const;

describe('card lifecycle: the rules', () => {
  it('R10.1: normal issuance goes applied → in production → city branch → outlet → active', () => {
    const a = start();
    const s = sendAll(a, [...normalIssuance, activate]);
    expect(s.value).toBe('active');
    expect(trail(s)).toEqual(['applied', 'inProduction', 'atCityBranch', 'atOutlet', 'active']);
    expect(s.context.history.map((h) => h.zh)).toEqual([
      '申请已受理',
      '制卡中',
      '市分行已接收',
      '网点已接收（待领卡启用）',
      '领卡启用',
    ]);
    expect(s.context.history[4]).toMatchObject({ en: 'collected and active', via: 'ACTIVATE' });
    expect(s.context).toMatchObject({
      cardId: CARD,
      generation: 3,
      financialPasswordSet: true,
      pinChanged: true,
      productionAttempts: 1,
      lastRefusal: null,
    });
  });

  it('R10.1: a failed production is visible and can be re-submitted', () => {
    const a = start();
    let s = sendAll(a, [{ type: 'SUBMIT_NORMAL' }, { type: 'PRODUCTION_FAILED', reason: '照片不合格' }]);
    expect(s.value).toBe('productionFailed');
    // Step 5: the outlet's progress query shows the failure and why.
    expect(progressOf(s)).toEqual({
      zh: '制卡失败：照片不合格',
      en: 'production failed: 照片不合格',
    });
    // Nothing but a re-submission moves it on.
    s = sendAll(a, [{ type: 'CITY_BRANCH_RECEIVED' }, activate]);
    expect(s.value).toBe('productionFailed');
    s = sendAll(a, [{ type: 'RESUBMIT' }]);
    expect(s.value).toBe('inProduction');
    expect(progressOf(s)).toEqual({ zh: '制卡中', en: 'in production' });
    expect(s.context).toMatchObject({ productionAttempts: 2, productionFailure: null });
    s = sendAll(a, [...normalIssuance.slice(1), activate]);
    expect(trail(s)).toEqual([
      'applied',
      'inProduction',
      'productionFailed',
      'inProduction',
      'atCityBranch',
      'atOutlet',
      'active',
    ]);
  });

  it('R10.1: an instant card is printed, checked and handed over on the spot', () => {
    const a = start();
    const s = sendAll(a, [
      { type: 'SUBMIT_INSTANT' },
      { type: 'PRODUCTION_DONE' },
      { type: 'VERIFY_NORMAL_STATE', normal: true },
      activate,
    ]);
    expect(trail(s)).toEqual(['applied', 'instantPrinting', 'printed', 'atOutlet', 'active']);
    expect(s.context).toMatchObject({ verifiedNormal: true, productionAttempts: 0 });
  });

  it('R10.2: an instant card printed while the system still says 制卡中 is recovered by 制卡补登 and verified in normal state', () => {
    const a = start();
    let s = sendAll(a, [{ type: 'SUBMIT_INSTANT' }, { type: 'PRINTED_BUT_PENDING' }]);
    expect(s.value).toBe('printedButPending');
    expect(LIFECYCLE_LABELS.printedButPending.zh).toContain('制卡中');

    // Only 制卡补登 leads on: anything else is refused, saying what to do.
    for (const e of [
      activate,
      { type: 'VERIFY_NORMAL_STATE', normal: true },
      { type: 'PRODUCTION_DONE' },
    ] as const) {
      s = sendAll(a, [e]);
      expect(s.value).toBe('printedButPending');
      expect(s.context.lastRefusal).toEqual({ ...REFUSALS.makeUpFirst, event: e.type });
      expect(s.context.lastRefusal?.zh).toContain('制卡补登');
    }

    s = sendAll(a, [{ type: 'MAKE_UP_REGISTRATION' }]);
    expect(s.value).toBe('printed');
    expect(s.context.lastRefusal).toBeNull();
    // The card cannot be handed over before its state was checked.
    expect(s.can(activate)).toBe(false);
    s = sendAll(a, [{ type: 'VERIFY_NORMAL_STATE', normal: true }, activate]);
    expect(s.value).toBe('active');
    expect(s.context.verifiedNormal).toBe(true);
    expect(trail(s)).toEqual([
      'applied',
      'instantPrinting',
      'printedButPending',
      'printed',
      'atOutlet',
      'active',
    ]);
  });

  it('R10.2: the state check finds a card still 制卡中 and sends it to 制卡补登', () => {
    const a = start();
    let s = sendAll(a, [
      { type: 'SUBMIT_INSTANT' },
      { type: 'PRODUCTION_DONE' },
      { type: 'VERIFY_NORMAL_STATE', normal: false },
    ]);
    expect(s.value).toBe('printedButPending');
    expect(s.context.verifiedNormal).toBe(false);
    s = sendAll(a, [
      { type: 'MAKE_UP_REGISTRATION' },
      { type: 'VERIFY_NORMAL_STATE', normal: true },
      activate,
    ]);
    expect(s.value).toBe('active');
  });

  it('R1.4: activation refuses 123456 as the new PIN', () => {
    const a = start();
    sendAll(a, normalIssuance);
    let s = sendAll(a, [{ type: 'ACTIVATE', financialPasswordSet: true, newPin: '123456' }]);
    expect(s.value).toBe('atOutlet');
    expect(s.context.pinChanged).toBe(false);
    expect(s.context.lastRefusal).toEqual({
      rule: 'R1.4',
      zh: '新社保密码不能是初始密码123456',
      en: 'the new PIN cannot be the initial PIN 123456',
      event: 'ACTIVATE',
    });
    // The other ways of not finishing step 7.
    const refusals: [LifecycleEvent, keyof typeof REFUSALS][] = [
      [{ type: 'ACTIVATE', financialPasswordSet: false, newPin: NEW_PIN }, 'financialPasswordMissing'],
      [{ type: 'ACTIVATE', financialPasswordSet: true, newPin: null }, 'pinMissing'],
      [{ type: 'ACTIVATE', financialPasswordSet: true, newPin: '' }, 'pinMissing'],
      [{ type: 'ACTIVATE', financialPasswordSet: true, newPin: '12a456' }, 'pinMalformed'],
      [{ type: 'ACTIVATE', financialPasswordSet: true, newPin: '1234567' }, 'pinMalformed'],
    ];
    for (const [event, why] of refusals) {
      s = sendAll(a, [event]);
      expect(s.value).toBe('atOutlet');
      expect(s.context.lastRefusal).toMatchObject(REFUSALS[why]);
    }
    s = sendAll(a, [activate]);
    expect(s.value).toBe('active');
    expect(s.context).toMatchObject({ pinChanged: true, lastRefusal: null });
    // Only a boolean is kept: the PIN itself is nowhere in the context.
    expect(JSON.stringify(s.context)).not.toContain(NEW_PIN);
    expect(JSON.stringify(s.context)).not.toContain('123456');
  });

  it('R13: loss report and release, also cross-region', () => {
    const a = start();
    let s = sendAll(a, [...normalIssuance, activate, { type: 'REPORT_LOSS', crossRegion: false }]);
    expect(s.value).toBe('lossReported');
    expect(s.context.lossReport).toEqual({ crossRegion: false });
    expect(progressOf(s)).toEqual({ zh: '挂失', en: 'loss reported' });
    s = sendAll(a, [{ type: 'RELEASE_LOSS' }]);
    expect(s.value).toBe('active');
    expect(s.context.lossReport).toBeNull();

    // At another branch (异地挂失、解挂).
    s = sendAll(a, [{ type: 'REPORT_LOSS', crossRegion: true }]);
    expect(s.value).toBe('lossReported');
    expect(s.context.lossReport).toEqual({ crossRegion: true });
    s = sendAll(a, [{ type: 'RELEASE_LOSS', crossRegion: true }]);
    expect(s.value).toBe('active');
    expect(trail(s).slice(-4)).toEqual(['lossReported', 'active', 'lossReported', 'active']);
  });

  it('R13: another branch replaces a card only after a loss report, and never closes it', () => {
    const a = createActor(cardLifecycleMachine, cardInService(CARD, 3)).start();
    let s = sendAll(a, [{ type: 'REPLACE', reason: 'damaged', crossRegion: true }]);
    expect(s.value).toBe('active');
    expect(s.context.lastRefusal).toMatchObject(REFUSALS.changeElsewhere);
    s = sendAll(a, [close(false, false, true)]);
    expect(s.value).toBe('active');
    expect(s.context.lastRefusal).toMatchObject({ rule: 'R13', zh: '异地不支持销户，请到开卡分行办理' });
    s = sendAll(a, [{ type: 'REPORT_LOSS', crossRegion: true }, close(false, false, true)]);
    expect(s.value).toBe('lossReported');
    expect(s.context.lastRefusal).toMatchObject(REFUSALS.closeElsewhere);
    // 挂失补卡 through the online cross-province channel.
    s = sendAll(a, [{ type: 'REPLACE', reason: 'lost', crossRegion: true }]);
    expect(s.value).toBe('replaced');
    expect(s.context.replacement).toEqual({ generation: 3, reason: 'lost', crossRegion: true });
  });

  it('R2.1: a replacement is issued as gen 3', () => {
    // A gen 2 card, lost: report the loss, then replace.
    const lost = createActor(cardLifecycleMachine, cardInService(CARD, 2)).start();
    expect(lost.getSnapshot().context.generation).toBe(2);
    let s = sendAll(lost, [{ type: 'REPLACE', reason: 'lost' }]);
    expect(s.value).toBe('active');
    expect(s.context.lastRefusal).toMatchObject(REFUSALS.lostNotReported);
    s = sendAll(lost, [
      { type: 'REPORT_LOSS', crossRegion: false },
      { type: 'REPLACE', reason: 'lost' },
    ]);
    expect(s.value).toBe('replaced');
    expect(s.status).toBe('done');
    expect(s.context.replacement).toEqual({ generation: 3, reason: 'lost', crossRegion: false });
    expect(s.context.history.at(-1)).toMatchObject({ zh: '已补换卡（新卡为三代卡）', via: 'REPLACE' });

    // Damaged, expired, or a photo that no longer resembles the holder (R2.2): also gen 3.
    for (const [generation, reason] of [
      [2, 'damaged'],
      [2, 'expired'],
      [2, 'photo'],
      [1, 'damaged'],
      [3, 'expired'],
    ] as const) {
      const a = createActor(cardLifecycleMachine, cardInService(CARD, generation)).start();
      s = sendAll(a, [{ type: 'REPLACE', reason }]);
      expect(s.value).toBe('replaced');
      expect(s.context.replacement?.generation).toBe(3);
    }
  });

  it('R14: a card with a medical account closes only after the medical account is closed', () => {
    const a = start();
    let s = sendAll(a, [...normalIssuance, activate, close(true, false)]);
    expect(s.value).toBe('active');
    expect(s.context.lastRefusal).toEqual({ ...REFUSALS.medicalAccountOpen, event: 'CLOSE' });
    expect(s.context.lastRefusal?.zh).toContain('先到当地医保办理医保账户销户');
    expect(s.context.lastRefusal?.en).toContain('medical account');
    // Also from a loss-reported card.
    s = sendAll(a, [{ type: 'REPORT_LOSS', crossRegion: false }, close(true, false)]);
    expect(s.value).toBe('lossReported');
    expect(s.context.lastRefusal?.rule).toBe('R14');
    s = sendAll(a, [close(true, true)]);
    expect(s.value).toBe('closed');
    expect(s.status).toBe('done');
    expect(s.context).toMatchObject({ closure: { hadMedicalAccount: true }, lastRefusal: null });
  });

  it('R14: a card without a medical account closes directly', () => {
    const a = start();
    const s = sendAll(a, [...normalIssuance, activate, close(false, false)]);
    expect(s.value).toBe('closed');
    expect(s.status).toBe('done');
    expect(s.context.closure).toEqual({ hadMedicalAccount: false });
    expect(s.context.history.at(-1)).toMatchObject({ zh: '销卡销户（卡片已收回）', via: 'CLOSE' });
  });

  it('the counter stores every step through the persist action it provides', () => {
    const stored: string[] = [];
    const machine = cardLifecycleMachine.provide({
      actions: { persist: ({ context }) => void stored.push(context.history.at(-1)!.state) },
    });
    const a = createActor(machine, { input: { cardId: CARD } }).start();
    sendAll(a, [...normalIssuance, activate]);
    expect(stored).toEqual(['applied', 'inProduction', 'atCityBranch', 'atOutlet', 'active']);
  });

  it('every state has a Chinese and an English label, and every label a state', () => {
    const declared = Object.keys(cardLifecycleMachine.config.states ?? {}).sort();
    expect(Object.keys(LIFECYCLE_LABELS).sort()).toEqual(declared);
    for (const label of Object.values(LIFECYCLE_LABELS)) {
      expect(label.zh).toMatch(/\p{Script=Han}/u);
      expect(label.en).toMatch(/^[\x20-\x7e]+$/);
    }
  });
});

/**
 * Model-based: the machine is walked with a closed list of events (including the refused
 * variants); each path is replayed through a fresh actor and must end in the same state, with
 * a history that follows the path.
 */
const EVENTS: LifecycleEvent[] = [
  { type: 'SUBMIT_NORMAL' },
  { type: 'SUBMIT_INSTANT' },
  { type: 'PRODUCTION_DONE' },
  { type: 'PRODUCTION_FAILED', reason: 'vendor error' },
  { type: 'RESUBMIT' },
  { type: 'CITY_BRANCH_RECEIVED' },
  { type: 'OUTLET_RECEIVED' },
  { type: 'PRINTED_BUT_PENDING' },
  { type: 'MAKE_UP_REGISTRATION' },
  { type: 'VERIFY_NORMAL_STATE', normal: true },
  { type: 'VERIFY_NORMAL_STATE', normal: false },
  activate,
  { type: 'ACTIVATE', financialPasswordSet: true, newPin: '123456' },
  { type: 'ACTIVATE', financialPasswordSet: false, newPin: NEW_PIN },
  { type: 'ACTIVATE', financialPasswordSet: true, newPin: null },
  { type: 'ACTIVATE', financialPasswordSet: true, newPin: '12a456' },
  { type: 'REPORT_LOSS', crossRegion: false },
  { type: 'REPORT_LOSS', crossRegion: true },
  { type: 'RELEASE_LOSS', crossRegion: false },
  { type: 'RELEASE_LOSS', crossRegion: true },
  { type: 'REPLACE', reason: 'damaged', crossRegion: false },
  { type: 'REPLACE', reason: 'damaged', crossRegion: true },
  { type: 'REPLACE', reason: 'lost', crossRegion: false },
  { type: 'REPLACE', reason: 'lost', crossRegion: true },
  close(false, false),
  close(true, false),
  close(true, true),
  close(false, false, true),
];

const traversal = {
  input: { cardId: CARD },
  events: EVENTS,
  serializeState: (s: LifecycleSnapshot) => JSON.stringify(s.value),
};
const describeEvent = (e: LifecycleEvent) => {
  const data = Object.entries(e)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  return data ? `${e.type}(${data})` : e.type;
};
const eventsOf = (path: { steps: { event: LifecycleEvent }[] }) =>
  path.steps.map((s) => s.event).filter((e) => !e.type.startsWith('xstate.'));
const replay = (events: LifecycleEvent[]) => sendAll(start(), events);
const declaredStates = Object.keys(cardLifecycleMachine.config.states ?? {}) as LifecycleState[];

describe('card lifecycle: model-based (xstate/graph)', () => {
  const shortest = getShortestPaths(cardLifecycleMachine, traversal);
  const simple = getSimplePaths(cardLifecycleMachine, traversal);

  it('every declared state is reachable', () => {
    const reached = shortest.map((p) => String(p.state.value)).sort();
    expect(reached).toEqual([...declaredStates].sort());
  });

  for (const [kind, paths] of [
    ['shortest', shortest],
    ['simple', simple],
  ] as const) {
    for (const path of paths) {
      const events = eventsOf(path);
      it(`${kind} path to ${String(path.state.value)}: ${events.map(describeEvent).join(' → ') || '(start)'}`, () => {
        const s = replay(events);
        expect(s.value).toEqual(path.state.value);
        // States are told apart by value only, so the model's context is that of the first
        // visit; the history must still follow the path step by step.
        expect(trail(s)).toEqual(path.steps.map((step) => step.state.value));
        expect(s.context.cardId).toBe(CARD);
      });
    }
  }

  it('closed and replaced are final, and the only final states', () => {
    const finals = declaredStates.filter((k) => cardLifecycleMachine.states[k]?.type === 'final');
    expect(finals.sort()).toEqual(['closed', 'replaced']);
    for (const end of ['closed', 'replaced'] as const) {
      const path = shortest.find((p) => p.state.value === end)!;
      const s = replay(eventsOf(path));
      expect(s.status).toBe('done');
      // Nothing brings a closed or replaced card back.
      for (const e of EVENTS) expect(s.can(e)).toBe(false);
    }
  });

  it('in every state, an accepted event moves the card on or says why not; the PIN never enters the context', () => {
    for (const path of shortest) {
      const before = replay(eventsOf(path));
      if (before.status === 'done') continue; // final: see the test above
      for (const e of EVENTS) {
        const after = replay([...eventsOf(path), e]);
        const where = `${String(before.value)} + ${describeEvent(e)}`;
        if (!before.can(e)) {
          expect(after.value, where).toEqual(before.value);
          expect(after.context, where).toEqual(before.context);
        } else if (after.value === before.value) {
          expect(after.context.lastRefusal, where).toMatchObject({ event: e.type });
          expect(after.context.lastRefusal?.zh, where).toBeTruthy();
          expect(after.context.lastRefusal?.en, where).toBeTruthy();
        } else {
          expect(after.context.lastRefusal, where).toBeNull();
        }
        // (The R1.4 refusal names 123456 as a rule; nothing else may hold a PIN.)
        const kept = JSON.stringify({ ...after.context, lastRefusal: null });
        expect(kept, where).not.toContain(NEW_PIN);
        expect(kept, where).not.toContain('123456');
      }
    }
  });
});
