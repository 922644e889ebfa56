import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor, type AnyStateMachine } from 'xstate';
import { gen1Machine } from './gen1.machine.ts';
import { gen2Machine } from './gen2.machine.ts';
import { gen3Machine } from './gen3.machine.ts';
import { terminalMachine } from './terminal.machine.ts';
import { renderMessage } from './messages.ts';
import type { ActorFailure, CardSummary, PaymentOutcome, SessionResult } from './types.ts';

/** Machine logic alone: actors replaced by stand-ins that resolve or fail as each test needs. */
const card = (generation: 1 | 2 | 3, extra: Partial<CardSummary> = {}): CardSummary => ({
  generation,
  cardNumber: 'C44010048',
  holderName: '陈明',
  ssnMasked: '4401**********1511',
  expiryDate: '2033-05-20',
  expired: false,
  status: 'active',
  ...extra,
});

const outcome: PaymentOutcome = {
  paymentId: 'p1',
  amountFen: 1250,
  method: 'medical',
  split: { medicalCurrentFen: 1250, medicalPriorFen: 0, reserveFen: 0, selfPayFen: 0 },
  mode: 'online',
  balancesAfter: null,
  receiptText: '',
  at: '',
};

const ok = <T>(value: T) => fromPromise<T, unknown>(async () => value);
const failWith = (f: ActorFailure) =>
  fromPromise<never, unknown>(async () => {
    throw f;
  });
const never = () => fromPromise<never, unknown>(() => new Promise(() => {}));

function run(machine: AnyStateMachine, generation: 1 | 2 | 3, actors: Record<string, unknown> = {}) {
  const a = createActor(
    machine.provide({
      actors: {
        authenticateCard: ok(undefined),
        verifyPin: ok(undefined),
        verifyPassword: ok(undefined),
        debit: ok(outcome),
        reverse: ok({ online: true }),
        ...actors,
      } as never,
    }),
    { input: { card: card(generation) } },
  );
  a.start();
  return a;
}

const done = async (a: ReturnType<typeof run>) => {
  await waitFor(a, (s) => s.status === 'done');
  return a.getSnapshot().output as SessionResult;
};
const at = (a: ReturnType<typeof run>, state: string) => waitFor(a, (s) => s.matches(state));
const pay = { type: 'AMOUNT_ENTERED', amountFen: 1250, method: 'medical' } as const;

describe('gen 1 machine', () => {
  it('R1.1: a medical payment is declined, telling the holder to apply for a gen 3 card', async () => {
    const a = run(gen1Machine, 1);
    a.send(pay);
    const out = await done(a);
    expect(out.result).toBe('declined');
    expect(renderMessage(out.message)).toContain('申领三代社保卡');
  });
  it('R1.1: a reserve payment is declined too (no financial account)', async () => {
    const a = run(gen1Machine, 1);
    a.send({ ...pay, method: 'reserve' });
    expect((await done(a)).message.code).toBe('GEN1_NO_FINANCIAL');
  });
});

describe('gen 2 machine', () => {
  it('R1.2: the transaction password is verified online, then the payment goes through', async () => {
    let checked = '';
    const a = run(gen2Machine, 2, {
      verifyPassword: fromPromise<void, { password: string }>(
        async ({ input }) => void (checked = input.password),
      ),
    });
    a.send(pay);
    await at(a, 'awaitingPassword');
    a.send({ type: 'PIN_ENTERED', pin: '246810' });
    expect((await done(a)).result).toBe('paid');
    expect(checked).toBe('246810');
  });
  it('R1.2: the same password serves the reserve account', async () => {
    const a = run(gen2Machine, 2);
    a.send({ ...pay, method: 'reserve' });
    await at(a, 'awaitingPassword');
    a.send({ type: 'PIN_ENTERED', pin: '246810' });
    expect((await done(a)).result).toBe('paid');
  });
  it('host unreachable → declined, saying why', async () => {
    const a = run(gen2Machine, 2, { verifyPassword: failWith({ code: 'HOST_DOWN', message: 'down' }) });
    a.send(pay);
    a.send({ type: 'PIN_ENTERED', pin: '246810' });
    const out = await done(a);
    expect(out.result).toBe('declined');
    expect(out.message.code).toBe('HOST_UNREACHABLE_GEN2');
    expect(renderMessage(out.message)).toContain('联机');
  });
  it('the host link state is shown in the screen language only (no 链路中断 link down mix)', async () => {
    const down = run(gen2Machine, 2, { verifyPassword: failWith({ code: 'HOST_DOWN', message: 'down' }) });
    down.send(pay);
    down.send({ type: 'PIN_ENTERED', pin: '246810' });
    const m = (await done(down)).message;
    expect(renderMessage(m, 'zh')).toContain('主机不可达（链路中断）');
    expect(renderMessage(m, 'zh')).not.toMatch(/[A-Za-z]/);
    expect(renderMessage(m, 'en')).toContain('Host unreachable (link down)');
    expect(renderMessage(m, 'en')).not.toMatch(/[\u4e00-\u9fff]/);
    const slow = run(gen2Machine, 2, { verifyPassword: failWith({ code: 'HOST_TIMEOUT', message: 'slow' }) });
    slow.send(pay);
    slow.send({ type: 'PIN_ENTERED', pin: '246810' });
    const t = (await done(slow)).message;
    expect(renderMessage(t, 'zh')).toContain('主机不可达（超时）');
    expect(renderMessage(t, 'en')).toContain('Host unreachable (timed out)');
    expect(renderMessage({ code: 'CARD_ERROR', params: { reason: 'SW 6A82' } }, 'en')).toBe(
      'Card error: SW 6A82',
    );
  });
  it('a wrong password shows the tries left and asks again; locked → declined', async () => {
    const a = run(gen2Machine, 2, {
      verifyPassword: failWith({ code: 'WRONG_PASSWORD', message: 'x', triesLeft: 2 }),
    });
    a.send(pay);
    a.send({ type: 'PIN_ENTERED', pin: '000000' });
    await at(a, 'awaitingPasswordAgain');
    expect(renderMessage(a.getSnapshot().context.message)).toBe('交易密码错误，还可尝试 2 次');
    const b = run(gen2Machine, 2, { verifyPassword: failWith({ code: 'PASSWORD_LOCKED', message: 'x' }) });
    b.send(pay);
    b.send({ type: 'PIN_ENTERED', pin: '000000' });
    expect((await done(b)).message.code).toBe('PASSWORD_LOCKED');
  });
});

describe('gen 3 machine', () => {
  it('R1.3: PSAM authentication, then the card verifies the PIN, then the debit', async () => {
    const order: string[] = [];
    const a = run(gen3Machine, 3, {
      authenticateCard: fromPromise(async () => void order.push('auth')),
      verifyPin: fromPromise(async () => void order.push('pin')),
      debit: fromPromise(async () => (order.push('debit'), outcome)),
    });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '258014' });
    expect((await done(a)).result).toBe('paid');
    expect(order).toEqual(['auth', 'pin', 'debit']);
  });
  it('R1.4: the initial PIN 123456 is refused with 初始密码不能交易, and never reaches the card', async () => {
    let sent = false;
    const a = run(gen3Machine, 3, { verifyPin: fromPromise(async () => void (sent = true)) });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '123456' });
    const out = await done(a);
    expect(out.result).toBe('declined');
    expect(renderMessage(out.message)).toContain('初始密码不能交易');
    expect(renderMessage(out.message)).toContain('银行网点');
    expect(sent).toBe(false);
  });
  it('R1.4: a card that answers 6985 for its unchanged initial PIN gets the same message', async () => {
    const a = run(gen3Machine, 3, { verifyPin: failWith({ code: 'INITIAL_PIN', message: '6985' }) });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '654321' });
    expect((await done(a)).message.code).toBe('INITIAL_PIN_REFUSED');
  });
  it('63Cx shows the tries left; 6983 sends the holder to a bank outlet', async () => {
    const a = run(gen3Machine, 3, { verifyPin: failWith({ code: 'WRONG_PIN', message: 'x', triesLeft: 1 }) });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '000000' });
    await at(a, 'awaitingPinAgain');
    expect(renderMessage(a.getSnapshot().context.message)).toBe('密码错误，还可尝试 1 次');
    const b = run(gen3Machine, 3, { verifyPin: failWith({ code: 'PIN_BLOCKED', message: '6983' }) });
    b.send(pay);
    await at(b, 'awaitingPin');
    b.send({ type: 'PIN_ENTERED', pin: '000000' });
    const out = await done(b);
    expect(out.message.code).toBe('PIN_BLOCKED');
    expect(renderMessage(out.message)).toContain('银行网点');
  });
  it('medical payments may go offline; reserve payments need the bank password online', async () => {
    let offlineAllowed: boolean[] = [];
    const debit = fromPromise<PaymentOutcome, { offlineAllowed: boolean }>(async ({ input }) => {
      offlineAllowed.push(input.offlineAllowed);
      return outcome;
    });
    const a = run(gen3Machine, 3, { debit });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '258014' });
    await done(a);
    const b = run(gen3Machine, 3, { debit });
    b.send({ ...pay, method: 'reserve' });
    await at(b, 'awaitingPassword');
    b.send({ type: 'PIN_ENTERED', pin: '369258' });
    await done(b);
    expect(offlineAllowed).toEqual([true, false]);
    offlineAllowed = [];
  });
  it('a card pulled during the debit leads to a reversal', async () => {
    let reversed = '';
    const a = run(gen3Machine, 3, {
      debit: never(),
      reverse: fromPromise<{ online: boolean }, { paymentId: string }>(async ({ input }) => {
        reversed = input.paymentId;
        return { online: false };
      }),
    });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '258014' });
    await at(a, 'paying');
    const id = a.getSnapshot().context.paymentId;
    a.send({ type: 'CARD_REMOVED' });
    const out = await done(a);
    expect(out.result).toBe('reversed');
    expect(out.message.code).toBe('REVERSAL_QUEUED');
    expect(reversed).toBe(id);
  });
  it('a debit without an answer in time (the host may have applied it) is reversed, not just declined', async () => {
    let reversed = false;
    const a = run(gen2Machine, 2, {
      debit: failWith({ code: 'HOST_TIMEOUT', message: 'no answer' }),
      reverse: fromPromise(async () => ((reversed = true), { online: true })),
    });
    a.send(pay);
    a.send({ type: 'PIN_ENTERED', pin: '246810' });
    expect((await done(a)).result).toBe('reversed');
    expect(reversed).toBe(true);
  });

  it('cancel, timeout and removal end a session cleanly while waiting', async () => {
    for (const [event, result, code] of [
      ['CANCEL', 'cancelled', 'CANCELLED'],
      ['TIMEOUT', 'cancelled', 'TIMED_OUT'],
      ['CARD_REMOVED', 'pulled', 'CARD_PULLED'],
    ] as const) {
      const a = run(gen3Machine, 3);
      a.send(pay);
      await at(a, 'awaitingPin');
      a.send({ type: event });
      const out = await done(a);
      expect([out.result, out.message.code]).toEqual([result, code]);
      expect(out.outcome).toBeNull();
    }
  });
  it('an invalid amount is refused and the till waits for a new one', async () => {
    const a = run(gen3Machine, 3);
    a.send({ ...pay, amountFen: 0 });
    expect(a.getSnapshot().value).toBe('holder');
    expect(renderMessage(a.getSnapshot().context.message)).toContain('金额无效');
    a.send({ ...pay, amountFen: 12.5 });
    expect(a.getSnapshot().context.message.code).toBe('INVALID_AMOUNT');
  });
  it('the PIN never stays in the machine’s context', async () => {
    const a = run(gen3Machine, 3, { debit: never() });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '258014' });
    await at(a, 'paying');
    expect(JSON.stringify(a.getSnapshot().context)).not.toContain('258014');
  });
});

describe('Esc at the PIN pad: back to the amount (EDIT_AMOUNT), the sale goes on', () => {
  it('gen 3: from the PIN prompt back to the amount; a corrected amount is paid, nothing verified before', async () => {
    let pinChecks = 0;
    const a = run(gen3Machine, 3, {
      verifyPin: fromPromise(async () => {
        pinChecks++;
      }),
      debit: fromPromise(async ({ input }: { input: { amountFen: number } }) => ({
        ...outcome,
        amountFen: input.amountFen,
      })),
    });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'EDIT_AMOUNT' });
    expect(a.getSnapshot().value).toBe('holder');
    expect(a.getSnapshot().context.message.code).toBe('ENTER_AMOUNT');
    expect(a.getSnapshot().status).toBe('active');
    expect(pinChecks).toBe(0);
    a.send({ ...pay, amountFen: 990 });
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '258014' });
    const out = await done(a);
    expect(out.result).toBe('paid');
    expect(out.outcome?.amountFen).toBe(990);
  });
  it('gen 3 after a wrong PIN, and gen 2/3 at the transaction password: back to the amount too', async () => {
    const again = run(gen3Machine, 3, {
      verifyPin: failWith({ code: 'WRONG_PIN', message: '63C2', triesLeft: 2 }),
    });
    again.send(pay);
    await at(again, 'awaitingPin');
    again.send({ type: 'PIN_ENTERED', pin: '111111' });
    await at(again, 'awaitingPinAgain');
    again.send({ type: 'EDIT_AMOUNT' });
    expect(again.getSnapshot().value).toBe('holder');
    for (const [machine, g, method] of [
      [gen2Machine, 2, 'medical'],
      [gen3Machine, 3, 'reserve'],
    ] as const) {
      const a = run(machine, g);
      a.send({ ...pay, method });
      await at(a, 'awaitingPassword');
      a.send({ type: 'EDIT_AMOUNT' });
      expect(a.getSnapshot().value).toBe('holder');
      a.send({ ...pay, method: 'medical' });
      expect(a.getSnapshot().value).not.toBe('holder');
    }
  });
  it('is ignored once the PIN is being verified or the debit runs (no way back from there)', async () => {
    const a = run(gen3Machine, 3, { verifyPin: never() });
    a.send(pay);
    await at(a, 'awaitingPin');
    a.send({ type: 'PIN_ENTERED', pin: '258014' });
    await at(a, 'verifyingPin');
    a.send({ type: 'EDIT_AMOUNT' });
    expect(a.getSnapshot().value).toBe('verifyingPin');
    const b = run(gen3Machine, 3, { debit: never() });
    b.send(pay);
    await at(b, 'awaitingPin');
    b.send({ type: 'PIN_ENTERED', pin: '258014' });
    await at(b, 'paying');
    b.send({ type: 'EDIT_AMOUNT' });
    expect(b.getSnapshot().value).toBe('paying');
  });
  it('the terminal forwards it to the session machine', async () => {
    const a = createActor(
      terminalMachine.provide({
        actors: {
          readCard: fromPromise(async () => card(2)),
          gen2: gen2Machine.provide({
            actors: { verifyPassword: ok(undefined), debit: ok(outcome) } as never,
          }),
        },
      }),
    );
    a.start();
    a.send({ type: 'CARD_INSERTED' });
    await waitFor(a, (s) => s.matches({ session: 'gen2' }));
    a.send(pay);
    const session = () => a.getSnapshot().children['session']!.getSnapshot() as { value: unknown };
    expect(session().value).toBe('awaitingPassword');
    a.send({ type: 'EDIT_AMOUNT' });
    expect(session().value).toBe('holder');
  });
});

describe('terminal machine', () => {
  function terminal(summary: CardSummary | ActorFailure) {
    const a = createActor(
      terminalMachine.provide({
        actors: {
          readCard: fromPromise(async () => {
            if ('code' in summary) throw summary;
            return summary;
          }),
        },
      }),
    );
    a.start();
    return a;
  }
  it('reads the card and hands over to the machine of its generation', async () => {
    for (const g of [1, 2, 3] as const) {
      const a = terminal(card(g));
      a.send({ type: 'CARD_INSERTED' });
      await waitFor(a, (s) => s.matches({ session: `gen${g}` }));
    }
  });
  it('refuses expired, loss-reported, closed and not-activated cards, then waits for removal', async () => {
    for (const [extra, code] of [
      [{ expired: true }, 'CARD_EXPIRED'],
      [{ status: 'loss-reported' }, 'CARD_LOSS_REPORTED'],
      [{ status: 'closed' }, 'CARD_CLOSED'],
      [{ status: 'not-activated' }, 'CARD_NOT_ACTIVATED'],
    ] as const) {
      const a = terminal(card(3, extra));
      a.send({ type: 'CARD_INSERTED' });
      await waitFor(a, (s) => s.matches('refused'));
      expect(a.getSnapshot().context.message.code).toBe(code);
      a.send({ type: 'CARD_REMOVED' });
      expect(a.getSnapshot().value).toBe('idle');
    }
  });
  it('a card pulled while it is being read brings the till back to idle', async () => {
    const a = terminal({ code: 'CARD_REMOVED', message: 'pulled' });
    a.send({ type: 'CARD_INSERTED' });
    await waitFor(a, (s) => s.matches('idle'));
  });
  it('after the session the till asks for the card, or is idle at once if it was pulled', async () => {
    const a = terminal(card(1));
    a.send({ type: 'CARD_INSERTED' });
    await waitFor(a, (s) => s.matches('session'));
    a.send(pay);
    await waitFor(a, (s) => s.matches('removeCard'));
    expect(a.getSnapshot().context.last?.result).toBe('declined');
    a.send({ type: 'CARD_REMOVED' });
    expect(a.getSnapshot().value).toBe('idle');
    const b = terminal(card(1));
    b.send({ type: 'CARD_INSERTED' });
    await waitFor(b, (s) => s.matches('session'));
    b.send({ type: 'CARD_REMOVED' });
    await waitFor(b, (s) => s.matches('idle'));
    expect(b.getSnapshot().context.last?.result).toBe('pulled');
  });
});
