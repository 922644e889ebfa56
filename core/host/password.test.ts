import { describe, expect, it } from 'vitest';
import { hashSecret } from '../card/pin.ts';
import { HostError } from './types.ts';
import { PASSWORD, hostFixture } from '../../test/harness/host/test-support.ts';

describe('bank transaction password (R1.2)', () => {
  it('R1.2: the gen 2/3 transaction password is checked by the bank online; wrong → tries left; locked after the limit', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { generation: 2, reserve: 100 });

    await expect(f.host.verifyPassword(card, PASSWORD)).resolves.toEqual({ ok: true });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({
      code: 'WRONG_PASSWORD',
      triesLeft: 2,
    });
    await expect(f.host.verifyPassword(card, '111111')).rejects.toMatchObject({
      code: 'WRONG_PASSWORD',
      triesLeft: 1,
    });
    // Success resets the bank's counter.
    await expect(f.host.verifyPassword(card, PASSWORD)).resolves.toEqual({ ok: true });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({ triesLeft: 2 });
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({ triesLeft: 1 });
    const last = await f.host.verifyPassword(card, '000000').catch((e: unknown) => e);
    expect(last).toBeInstanceOf(HostError);
    expect(last).toMatchObject({ code: 'PASSWORD_LOCKED', triesLeft: 0 });

    // Locked: even the right password is refused, and the lock is the bank's, not the host object's.
    await expect(f.host.verifyPassword(card, PASSWORD)).rejects.toMatchObject({ code: 'PASSWORD_LOCKED' });
    await expect(f.another().verifyPassword(card, PASSWORD)).rejects.toMatchObject({
      code: 'PASSWORD_LOCKED',
    });

    // A new password set at the bank counter unlocks.
    f.ledger.setBankPassword(card, hashSecret('135790', { n: 1024, r: 8, p: 1 }));
    await expect(f.host.verifyPassword(card, '135790')).resolves.toEqual({ ok: true });
  });

  it('R1.2: the retry limit is a host setting', async () => {
    const f = hostFixture({ passwordRetryLimit: 5 });
    const card = f.card('A00000001');
    await expect(f.host.verifyPassword(card, '000000')).rejects.toMatchObject({ triesLeft: 4 });
  });

  it('R1.1: a gen 1 card has no transaction password at the bank', async () => {
    const f = hostFixture();
    const card = f.card('A00000001', { generation: 1 });
    await expect(f.host.verifyPassword(card, PASSWORD)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/gen 1 card/),
    });
  });

  it('unknown cards, missing passwords and unusable cards are refused', async () => {
    const f = hostFixture();
    await expect(f.host.verifyPassword('Z99999999', PASSWORD)).rejects.toMatchObject({
      code: 'UNKNOWN_CARD',
    });
    const nopw = f.card('A00000002', { password: null });
    await expect(f.host.verifyPassword(nopw, PASSWORD)).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/no transaction password/),
    });
    const lost = f.card('A00000003', { status: 'loss-reported' });
    await expect(f.host.verifyPassword(lost, PASSWORD)).rejects.toMatchObject({
      code: 'CARD_NOT_USABLE',
      message: expect.stringMatching(/loss-reported/),
    });
    // None of these counted as a wrong try.
    expect(f.db.prepare('SELECT SUM(password_failures) FROM bank_secrets').pluck().get()).toBe(0);
  });
});
