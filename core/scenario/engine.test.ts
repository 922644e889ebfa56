import { describe, expect, it } from 'vitest';
import { run, scratch, yaml } from '../../test/harness/scenario/test-support.ts';
import { runScenario, type ScenarioResult } from './engine.ts';
import { loadScenario } from './load.ts';

/** The step records as `status line text`, for compact assertions. */
const statuses = (r: ScenarioResult) => r.steps.map((s) => `${s.status} ${s.text}`);

function passed(r: ScenarioResult): void {
  if (r.status !== 'passed') throw new Error(`scenario ${r.status}: ${r.error ?? ''}\n${r.log.join('\n')}`);
}

describe('scenario engine: till steps', () => {
  it('insert, amount, pin, remove: a gen 3 payment, with state, message, result, receipt, balances', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- expect: { state: idle, terminalState: idle, sessionState: null, waitingFor: card, message: INSERT_CARD }
- insert
- expect: { state: session.gen3/holder, terminalState: session, sessionState: holder, waitingFor: amount }
- amount: "12.50"
- expect: { waitingFor: pin, message: { code: ENTER_PIN, contains: 社保卡密码, containsEn: card PIN } }
- pin: "258014"
- expect:
    result: paid
    waitingFor: removal
    statusWords: { inOrder: ["9000"], contains: ["9000"], excludes: ["63Cx", "6983"], last: "9000" }
    receipt: { present: true, mode: online, amount: 1250, contains: [医保当年(95000), "¥12.50"] }
    balances: { medicalCurrent: 84750, medicalPrior: "120.50", reserve: "2000" }
    pinTriesLeft: 3
    cardStatus: active
- remove
- expect: { state: idle, result: paid }`,
      ),
    );
    passed(r);
    expect(r.steps).toHaveLength(9);
    expect(r.log[3]).toMatch(
      /^✔ line \d+: amount: 12\.50 {2}→ session\.gen3\/awaitingPin 「请持卡人输入社保卡密码」/,
    );
    expect(r.trace).toMatch(/VERIFY PIN/);
    expect(r.trace).not.toContain('258014');
  });

  it('status words are those seen since the previous expect step', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- insert
- amount: "1.00"
- pin: "000000"
- expect: { statusWords: { last: "63C2" } }
- pin: "000000"
- expect: { statusWords: ["63C1"], pinTriesLeft: 1 }
- expect: { statusWords: { excludes: ["63Cx", "9000"] } }`,
      ),
    );
    passed(r);
  });

  it('password, cancel and timeout', async () => {
    const r = await run(
      yaml(
        'gen2',
        `
- insert
- amount: { yuan: "3.00", method: reserve }
- expect: { waitingFor: password }
- cancel
- expect: { result: cancelled, message: CANCELLED, waitingFor: removal }
- remove
- insert
- amount: "3.00"
- timeout
- expect: { result: cancelled, message: { code: TIMED_OUT, contains: 超时 } }
- remove
- insert
- amount: "3.00"
- password: "246810"
- expect: { result: paid, balances: { medicalCurrent: "1277.00", reserve: "5000.00" } }`,
      ),
    );
    passed(r);
  });

  it('insert another card: a bundled id, a profile file next to the scenario, an inline profile', async () => {
    const s = scratch();
    const { resolveCard } = await import('../card/wallet.ts');
    // Cards are told apart by their card number: each of these is another card.
    // In the scenario's folder: a scenario reads card files only there (or in a --cards folder).
    s.write(
      'scenarios/cards/hk.json',
      JSON.stringify({ ...resolveCard('gen3-hong-kong').profile, id: 'my-hk' }),
    );
    const inline = JSON.stringify({
      ...resolveCard('gen2').profile,
      id: 'inline-gen2',
      accounts: { reserveFen: 100, medicalCurrentFen: 700 },
    });
    const file = s.write(
      'scenarios/multi.yaml',
      yaml(
        'gen1',
        `
- insert
- expect: { sessionState: holder, state: session.gen1/holder }
- insert: cards/hk.json
- expect: { state: session.gen3/holder, balances: { medicalCurrent: "180.00" } }
- insert: { card: ${inline} }
- expect: { state: session.gen2/holder, balances: { medicalCurrent: 700, reserve: "1.00" } }`,
      ),
    );
    const l = loadScenario(file);
    if (!l.ok) throw new Error(JSON.stringify(l.issues));
    passed(await runScenario(l.scenario));
  });

  it('host: down, up, slow, error, drop-after-apply', async () => {
    const r = await run(
      yaml(
        'gen2',
        `
- host: down
- insert
- amount: "1.00"
- password: "246810"
- expect: { result: declined, message: { code: HOST_UNREACHABLE_GEN2, contains: 链路中断 } }
- remove
- host: slow
- insert
- amount: "1.00"
- password: "246810"
- expect: { result: declined, message: { code: HOST_UNREACHABLE_GEN2, contains: 超时 } }
- remove
- host: error
- insert
- amount: "1.00"
- password: "246810"
- expect: { result: declined, message: PAYMENT_DECLINED }
- remove
- host: up
- insert: gen3-active
- amount: "1.00"
- pin: "258014"
- expect: { result: paid, receipt: { mode: online } }
- remove
- host: drop-after-apply
- insert: gen3-active
- amount: "2.00"
- pin: "258014"
- expect: { result: paid, receipt: { mode: offline }, journal: { forwardQueue: 1 } }`,
        'host: { timeoutMs: 100 }\n',
      ),
    );
    passed(r);
  });

  it('clock: a date (09:00 Beijing), an instant, advance; the 21 June carry-over runs', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- clock: 2026-06-20
- expect: { balances: { medicalCurrent: "860.00", medicalPrior: "120.50" } }
- clock: { advance: 14h59m59s }
- expect: { balances: { medicalCurrent: "860.00" } }
- clock: { advance: 1s }
- expect: { balances: { medicalCurrent: 0, medicalPrior: "980.50" } }
- clock: { set: "2026-06-25T16:30:00Z" }
- settle
- expect: { settlement: { payments: 0, total: 0 } }`,
      ),
    );
    passed(r);
    expect(r.log.join('\n')).toContain('now 2026-06-20T01:00:00.000Z (business day 2026-06-20)');
    expect(r.log.join('\n')).toContain('business day 2026-06-26');
  });

  it('counter: change-pin, unblock, report-loss, release-loss, activate (refused on an active card)', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- insert
- counter: { action: change-pin, old: "111111", new: "222222" }
- expect: { counter: { ok: false, rule: R1.3, contains: 还可尝试 2 次 }, pinTriesLeft: 2, state: idle }
- counter: { action: change-pin, old: "258014", new: "123456" }
- expect: { counter: { ok: false, rule: R1.4 } }
- counter: unblock
- expect: { counter: { ok: true }, pinTriesLeft: 3 }
- counter: { action: report-loss, crossRegion: true }
- expect: { counter: { ok: true }, cardStatus: loss-reported }
- counter: release-loss
- expect: { cardStatus: active }
- counter: { action: activate, newPin: "246135", password: "135246" }
- expect: { counter: { ok: false, rule: R10.1 } }`,
      ),
    );
    passed(r);
  });

  it('sync, settle, reconcile, refund and the journal expectations', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- insert
- amount: "10.00"
- pin: "258014"
- remove
- refund: "4.00"
- expect: { journal: { payments: 1, refunds: 1, reversals: 0, balanced: true, reconciled: true }, balances: { medicalCurrent: "854.00" } }
- host: down
- insert
- amount: "1.00"
- pin: "258014"
- remove
- sync
- expect: { sync: { sent: 0, failed: 1, pending: 1 }, journal: { forwardQueue: 1 } }
- settle: { date: 2026-03-02 }
- expect: { settlement: { payments: 2, refunds: 1, reversals: 0, total: "7.00", pendingForward: 1 } }
- host: up
- sync
- reconcile
- expect: { sync: { sent: 1, pending: 0 }, reconciliation: { agree: true, mismatches: 0 } }`,
      ),
    );
    passed(r);
  });

  it('fault: remove the card at an APDU, in a state; detach and reattach; corrupt a record; none', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- insert
- fault: { removeCardAtApdu: 1 }
- amount: "1.00"
- expect: { result: pulled, state: idle }
- insert
- amount: "1.00"
- fault: { removeCardInState: paying }
- pin: "258014"
- expect: { result: reversed, journal: { balanced: true }, balances: { medicalCurrent: "860.00" } }
- insert
- fault: { detachReaderAtApdu: 1 }
- amount: "1.00"
- expect: { result: declined, message: AUTH_FAILED }
- fault: reattach
- remove
- fault: { corruptRecord: { file: EF06, record: 1, mode: garbage } }
- insert
- expect: { result: refused, message: READ_FAILED }
- remove
- fault: none
- insert
- expect: { state: session.gen3/holder }`,
      ),
    );
    passed(r);
  });
});

describe('scenario engine: failing expectations', () => {
  it('reports every failed expectation of the step as expected vs actual, and skips the rest', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- insert
- amount: "12.50"
- pin: "258014"
- expect:
    state: idle
    terminalState: idle
    sessionState: holder
    waitingFor: card
    result: declined
    message: { code: WRONG_PIN, contains: 失败, containsEn: nope }
    statusWords: { inOrder: ["6983"], contains: ["63C1"], excludes: ["9000"], last: "6A82" }
    balances: { medicalCurrent: "860.00", medicalPrior: null }
    receipt: { mode: offline, amount: "1.00", contains: 二代, present: false }
    journal: { payments: 2, refunds: 1, reversals: 1, balanced: false, forwardQueue: 3, reconciled: false }
    pinTriesLeft: 1
    cardStatus: closed
    counter: { ok: true }
    settlement: { payments: 1 }
    reconciliation: { agree: true }
    sync: { sent: 1 }
    recovery: { ok: true }
- remove
- expect: { result: paid }`,
      ),
    );
    expect(r.status).toBe('failed');
    expect(r.error).toBeNull();
    const by = Object.fromEntries(r.failures.map((f) => [f.field, f]));
    expect(Object.keys(by).sort()).toEqual(
      [
        'state',
        'terminalState',
        'sessionState',
        'waitingFor',
        'result',
        'message.code',
        'message.contains',
        'message.containsEn',
        'statusWords.inOrder',
        'statusWords.contains',
        'statusWords.excludes',
        'statusWords.last',
        'balances.medicalCurrent',
        'balances.medicalPrior',
        'receipt.present',
        'receipt.mode',
        'receipt.amount',
        'receipt.contains',
        'journal.payments',
        'journal.refunds',
        'journal.reversals',
        'journal.forwardQueue',
        'journal.balanced',
        'journal.reconciled',
        'pinTriesLeft',
        'cardStatus',
        'counter',
        'settlement',
        'reconciliation',
        'sync',
        'recovery',
      ].sort(),
    );
    expect(by.state).toMatchObject({
      expected: 'idle',
      actual: 'removeCard',
      line: 8,
      step: expect.stringMatching(/^expect:/),
    });
    expect(by.result).toMatchObject({ expected: 'declined', actual: 'paid' });
    expect(by['balances.medicalCurrent']).toMatchObject({
      expected: '86000 fen (¥860.00)',
      actual: '84750 fen (¥847.50)',
    });
    expect(by['balances.medicalPrior']).toMatchObject({
      expected: 'none (no such account)',
      actual: '12050 fen (¥120.50)',
    });
    expect(by['message.code']).toMatchObject({ expected: 'WRONG_PIN', actual: 'APPROVED 「交易成功」' });
    expect(by['statusWords.last']!.actual).toMatch(/9000$/);
    expect(by['receipt.amount']).toMatchObject({ expected: '100 fen (¥1.00)', actual: '1250 fen (¥12.50)' });
    expect(by['journal.payments']).toMatchObject({ expected: '2', actual: '1' });
    expect(by.counter).toMatchObject({ actual: 'no counter action yet' });
    expect(by.recovery).toMatchObject({ actual: 'no crash yet' });
    expect(statuses(r).slice(-3)).toEqual([
      expect.stringMatching(/^failed expect: \{ state: idle, terminalState: idle, .*…$/),
      'skipped remove',
      'skipped expect: { result: paid }',
    ]);
    expect(r.log.join('\n')).toContain(
      '✘ balances.medicalCurrent: expected 86000 fen (¥860.00), got 84750 fen (¥847.50)',
    );
  });

  it('a step that cannot complete is an error with its line, not a failure', async () => {
    const r = await run(yaml('gen3-active', `- refund: "1.00"\n- expect: { result: paid }`));
    expect(r.status).toBe('error');
    expect(r.error).toBe('line 5 (refund: 1.00): no payment to refund yet');
    expect(statuses(r)).toEqual(['error refund: 1.00', 'skipped expect: { result: paid }']);
  });
});

describe('scenario engine: crash', () => {
  it('runs the steps after a crash step in a child killed at the point, reopens, checks recovery, goes on', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- crash: after-journal-commit
- insert
- amount: "12.50"
- pin: "258014"
- expect: { recovery: { ok: true, payments: 1 }, state: session.gen3/holder, balances: { medicalCurrent: "847.50" } }`,
      ),
    );
    passed(r);
    expect(statuses(r)).toEqual([
      'ok crash: after-journal-commit',
      'ok insert',
      'ok amount: 12.50',
      'crashed pin: ******', // masked: the step log goes into reports
      'ok expect: { recovery: { ok: true, payments: 1 }, state: session.gen3/holder, balances: { medicalCurrent: 847.50 } }',
    ]);
    expect(r.log.join('\n')).toMatch(
      /killed \(SIGKILL\) at after-journal-commit during line 8 \(pin: \*{6}\)/,
    );
    expect(r.trace).toMatch(/VERIFY PIN/); // the child's exchanges are in the trace too
  });

  it('a crash point never reached fails the crash step', async () => {
    const r = await run(
      yaml('gen1', `- crash: during-settlement\n- insert\n- expect: { state: session.gen1/holder }`),
    );
    expect(r.status).toBe('failed');
    expect(r.failures).toEqual([
      expect.objectContaining({ field: 'crash', expected: 'the till killed at during-settlement', line: 5 }),
    ]);
  });
});
