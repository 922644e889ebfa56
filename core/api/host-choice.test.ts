import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCore } from './create-core.ts';
import { HostChoiceError, describeHostChoice, hostChoice, hostChoiceFromEnv } from './host-choice.ts';
import { startHostServer } from '../host/server/http-server.ts';
import { enrolTill } from '../../test/harness/host/enrol.ts';
import { freshDatabase, releaseTestServer } from '../../test/harness/host/pg-test-support.ts';

/** The app's launchers (npm run web, Electron) pick the central host and the till's id. */
afterAll(() => releaseTestServer());

describe('choosing the host for the app', () => {
  it('no URL: the in-process host; a URL and a terminal id are checked and named when wrong', () => {
    expect(hostChoice({})).toEqual({});
    expect(describeHostChoice({})).toBe('till T0001 · in-process host (no central host)');
    expect(hostChoice({ hostUrl: 'http://10.0.0.5:7400', terminalId: 'SHOP_2' })).toEqual({
      hostUrl: 'http://10.0.0.5:7400',
      terminalId: 'SHOP_2',
    });
    expect(() => hostChoice({ hostUrl: 'ftp://x' })).toThrow(/--host-url must be .*http:\/\//);
    expect(() => hostChoice({ terminalId: 'a b' })).toThrow(HostChoiceError);
    expect(() => hostChoice({ terminalId: 'x'.repeat(33) })).toThrow(/--terminal-id must be 1–32/);
    expect(() => hostChoiceFromEnv({ SSCARD_TERMINAL_ID: "T1'; DROP" })).toThrow(/^SSCARD_TERMINAL_ID must/);
    expect(hostChoiceFromEnv({ SSCARD_HOST_URL: 'http://127.0.0.1:7400', SSCARD_HOST_TOKEN: 's' })).toEqual({
      hostUrl: 'http://127.0.0.1:7400',
      hostToken: 's',
    });
  });

  it("a till's credential as the token: its terminal is the till's; a malformed or another terminal's one is refused", () => {
    const key = '00112233445566778899aabbccddeeff';
    const credential = `sscard-terminal:SHOP_9:3des:${key}`;
    expect(hostChoice({ hostUrl: 'http://h:7400', hostToken: credential })).toEqual({
      hostUrl: 'http://h:7400',
      hostToken: credential,
      terminalId: 'SHOP_9',
    });
    expect(() => hostChoice({ hostToken: credential, terminalId: 'SHOP_1' })).toThrow(
      /--host-token is the credential of terminal SHOP_9, but --terminal-id is 'SHOP_1'/,
    );
    expect(() => hostChoiceFromEnv({ SSCARD_HOST_TOKEN: `sscard-terminal:SHOP_9:aes:${key}` })).toThrow(
      /^SSCARD_HOST_TOKEN: a terminal credential is/,
    );
    try {
      hostChoice({ hostToken: `sscard-terminal:SHOP_9:3des:${key}00` });
    } catch (e) {
      expect((e as Error).message).not.toContain(key);
    }
  });

  it('the app on a central host pays under its own terminal id; training never reaches the host', async () => {
    const db = await freshDatabase('app-choice');
    const server = await startHostServer({ connectionString: db.url, poolSize: 2, token: 'tok' });
    const dir = mkdtempSync(join(tmpdir(), 'sscard-app-host-'));
    const core = await createCore({
      dbPath: join(dir, 'ledger.db'),
      // The till's own credential (the operator's token 'tok' is for status only).
      ...hostChoice({
        hostUrl: server.url,
        hostToken: await enrolTill(server, 'PHARM7'),
        terminalId: 'PHARM7',
      }),
    });
    try {
      await core.api.insertCard({ cardId: 'gen3-active' });
      await core.workspace().pos.terminal.settled();
      await core.api.enterAmount({ amountFen: 1250, method: 'medical' });
      const done = await core.api.enterPin({ pin: '258014' });
      expect(done.last?.result).toBe('paid');
      expect(done.last?.outcome?.receiptText).toMatch(/终端编号\s+PHARM7/);
      await core.api.removeCard({});
      const atHost = await server.host.records('PHARM7');
      expect(atHost).toHaveLength(1);
      expect(atHost[0]).toMatchObject({ terminalId: 'PHARM7', amountFen: 1250, kind: 'payment' });
      expect(await server.host.records('T0001')).toHaveLength(0);

      // 培训模式: a sandbox on the in-process host; nothing it does reaches the chain.
      await core.api.startTraining({});
      await core.api.insertCard({ cardId: 'gen3-active' });
      await core.workspace().pos.terminal.settled();
      await core.api.enterAmount({ amountFen: 300, method: 'medical' });
      expect((await core.api.enterPin({ pin: '258014' })).last?.result).toBe('paid');
      await core.api.removeCard({});
      expect(await server.host.records('PHARM7')).toHaveLength(1);
      expect(await server.host.records('T0001')).toHaveLength(0);
    } finally {
      await core.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
