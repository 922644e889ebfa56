import { describe, expect, it } from 'vitest';
import { load, run, yaml } from '../../test/harness/scenario/test-support.ts';
import type { ScenarioResult } from './engine.ts';

/** The scenario `interface` step: calls a reader interface function, checks its code and fields. */
const statuses = (r: ScenarioResult) => r.steps.map((s) => s.status);

describe('scenario interface steps', () => {
  it('runs the HSM path with the centre, and pCardInfo: card feeds a debit (R1.3)', async () => {
    const r = await run(
      yaml(
        'gen3-active',
        `
- insert
- interface: { call: iReadCardBas_HSM_Step1 }
- interface: { call: iReadCardBas_HSM_Step2, with: { pKey: centre }, expect: { fields: { name: 陈明, "2": "440111198511301511" } } }
- interface: { call: iDoDebit, with: { pCardInfo: card, pPayInfo: "3.00|1|" }, pins: ["258014"], expect: { fields: { amount: "3.00" } } }
- expect: { journal: { payments: 1 }, balances: { medicalCurrent: "857.00" } }`,
      ),
    );
    expect(r.status, r.log.join('\n')).toBe('passed');
    expect(r.log.join('\n')).not.toContain('258014');
    expect(r.log.some((l) => l.includes('pins: ******'))).toBe(true);
  });

  it('fails the step when the code or a field differs, naming what was expected and seen', async () => {
    const r = await run(
      yaml(
        'gen2',
        `
- insert
- interface: { call: iReadCardBas, expect: { code: 0, fields: { name: 王五 } } }`,
      ),
    );
    expect(r.status).toBe('failed');
    expect(statuses(r)).toEqual(['ok', 'failed']);
    expect(r.log.join('\n')).toMatch(/interface\.fields\.name.*王五.*李娜/s);
  });

  it('a call without expect must succeed', async () => {
    const r = await run(
      yaml('gen3-pin-blocked', `\n- insert\n- interface: { call: iVerifyPIN, pins: ["731904"] }`),
    );
    expect(r.status).toBe('failed');
    expect(r.log.join('\n')).toMatch(/interface\.code.*0.*-52/s);
  });

  it('the header sets the session: the PSAM code instead of empty fields, a counter key for unblock', async () => {
    const r = await run(
      yaml(
        'gen3-pin-blocked',
        `
- insert
- interface: { call: iReadCardBas, expect: { code: -2203 } }
- interface: { call: iReadCardBas_HSM_Step1 }
- interface: { call: iReadCardBas_HSM_Step2, with: { pKey: centre } }
- interface: { call: iUnblockPIN, with: { pCardInfo: card } }
- interface: { call: iVerifyPIN, pins: ["731904"] }
- expect: { pinTriesLeft: 3 }`,
        'readerInterface: { counterKey: true, settings: { gen3PlainRead: psam-code } }\n',
      ),
    );
    expect(r.status, r.log.join('\n')).toBe('passed');
  });

  it('refuses at load an unknown function, a parameter the function does not take, a field it has not', () => {
    const r = load(
      yaml(
        'gen1',
        `
- interface: { call: iReadCardBass }
- interface: { call: iReadCardBas, with: { pKey: "00" } }
- interface: { call: iDoDebit, with: { pCardInfo: card } }
- interface: { call: iGetCardType, expect: { fields: { ssn: "1" } } }
- interface: { call: iVerifyPIN, pins: ["12ab"] }`,
      ),
    );
    expect(r.ok).toBe(false);
    const messages = !r.ok ? r.issues.map((i) => `${i.line} ${i.field}: ${i.message}`) : [];
    expect(messages).toHaveLength(5);
    expect(messages[0]).toMatch(/call: must be a function of the reader interface/);
    expect(messages[1]).toMatch(/iReadCardBas takes iType, not pKey/);
    expect(messages[2]).toMatch(/iDoDebit needs pPayInfo/);
    expect(messages[3]).toMatch(/fields are version, cardType, cardId/);
    expect(messages[4]).toMatch(/1 to 12 digits or CANCEL/);
  });
});
