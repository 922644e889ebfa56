import type { TillView } from '../../core/api/events.ts';
import {
  actionOk,
  apdu,
  cardPresent,
  custom,
  hostLinkIs,
  inTraining,
  messageIs,
  noApdu,
  sessionEnded,
  sessionIs,
  terminalIs,
  type Call,
  type Demo,
  type DemoStep,
} from './runner.ts';

/**
 * The guided demonstrations of trainer mode (培训演示). Each step is done by the app through
 * the Api when the trainer clicks 下一步, and checked against what its caption says. They run
 * in the training sandbox, on the bundled cards as shipped:
 * gen2 (交易密码 246810), gen3-active (PIN 258014), gen3-initial-pin (123456).
 */

export const AMOUNT_FEN = 1250;
export const NEW_PIN = '802460';

/** The till selected the social security application: 9000, or 61xx (T=0, GET RESPONSE follows). */
const selectedSsse = custom(
  { zh: '卡片接受 SELECT SSSE（9000 或 61xx）', en: 'the card accepts SELECT SSSE (9000 or 61xx)' },
  (o) => {
    const s = o.apdus.find((a) => a.cmd.mnemonic === 'SELECT' && a.cmd.selects?.app === 'SSSE');
    return {
      ok: Boolean(s && (s.status.sw === '9000' || s.status.sw.startsWith('61'))),
      actual: s ? `SELECT SSSE → ${s.status.sw}` : { zh: '没有 SELECT SSSE', en: 'no SELECT SSSE' },
    };
  },
);

/** After an insert: the card has been read (the session waits for the amount, or it was refused). */
const cardRead = (t: TillView) => !t.busy && t.terminalState !== 'idle';

function insert(
  cardId: string,
  gen: 1 | 2 | 3,
  title: DemoStep['title'],
  caption: DemoStep['caption'],
): DemoStep {
  return {
    id: `insert-${cardId}`,
    title,
    caption,
    gen,
    act: (call) => call('insertCard', { cardId }),
    settled: cardRead,
    checks: [inTraining, cardPresent(true), selectedSsse, sessionIs(gen, 'holder')],
  };
}

function amount(
  gen: 2 | 3,
  next: 'awaitingPin' | 'awaitingPassword',
  caption: DemoStep['caption'],
): DemoStep {
  return {
    id: `amount-gen${gen}`,
    title: {
      zh: '收银员输入金额 12.50 元（医保个人账户）',
      en: 'The cashier keys in 12.50 yuan (medical account)',
    },
    caption,
    gen,
    act: (call) => call('enterAmount', { amountFen: AMOUNT_FEN, method: 'medical' }),
    checks: [
      sessionIs(gen, next),
      messageIs(next === 'awaitingPin' ? 'ENTER_PIN' : 'ENTER_PASSWORD'),
      ...(gen === 3 ? [apdu('EXTERNAL AUTHENTICATE', '9000')] : []),
    ],
  };
}

function remove(gen: 1 | 2 | 3, caption?: DemoStep['caption']): DemoStep {
  return {
    id: 'remove',
    title: { zh: '取卡', en: 'Remove the card' },
    caption: caption ?? {
      zh: '持卡人取走社保卡。终端回到空闲状态（idle），等待下一张卡。',
      en: 'The holder takes the card. The till goes back to idle, waiting for the next card.',
    },
    gen,
    act: (call) => call('removeCard', {}),
    settled: (t) => t.terminalState === 'idle',
    checks: [terminalIs('idle'), cardPresent(false)],
  };
}

const offlineWhy = { zh: '密码由银行主机联机验证', en: 'the bank host checks the password online' };

// ---- (a) 二代卡 vs 三代卡支付 ----------------------------------------------------------------

const gen2VsGen3: Demo = {
  id: 'gen2-vs-gen3',
  title: { zh: '二代卡 vs 三代卡支付', en: 'Paying with gen 2 vs gen 3' },
  summary: {
    zh: '二代卡的交易密码由银行主机联机验证（R1.2）；三代卡的社保卡密码由卡片自己脱机校验（R1.3）。对比两次支付时卡片收到的指令。',
    en: 'A gen 2 card’s transaction password is checked online by the bank (R1.2); a gen 3 card checks its own PIN offline (R1.3). Compare what the card receives in each payment.',
  },
  rules: ['R1.2', 'R1.3'],
  gen: 2,
  steps: [
    insert(
      'gen2',
      2,
      { zh: '插入二代社保卡', en: 'Insert a gen 2 card' },
      {
        zh: '终端选择社保应用（SELECT SSSE），读 EF05 卡片基本信息：规范版本 “2.00” 说明这是二代卡。终端进入二代卡会话，等待输入金额。',
        en: 'The till selects the social security application (SELECT SSSE) and reads EF05: spec version “2.00” means a gen 2 card. The gen 2 session starts and waits for the amount.',
      },
    ),
    amount(2, 'awaitingPassword', {
      zh: '二代卡没有卡片密码环节：终端直接请持卡人输入交易密码。医保和金融账户共用这一个密码，由银行保管（R1.2）。',
      en: 'No card PIN on gen 2: the till asks straight for the transaction password. The medical and financial accounts share this one password, kept by the bank (R1.2).',
    }),
    {
      id: 'password-gen2',
      title: { zh: '持卡人输入交易密码 246810', en: 'The holder enters the transaction password 246810' },
      caption: {
        zh: '交易密码发往银行主机联机验证，卡片根本不参与：这一步没有 VERIFY 指令发给卡片。主机验证通过后扣款，交易成功。',
        en: 'The password goes to the bank host, online; the card takes no part: no VERIFY reaches the card in this step. The host approves and the payment goes through.',
      },
      gen: 2,
      act: (call) => call('enterPin', { pin: '246810' }),
      checks: [
        noApdu('VERIFY PIN', offlineWhy),
        sessionEnded('paid'),
        messageIs('APPROVED'),
        terminalIs('removeCard'),
      ],
    },
    remove(2),
    insert(
      'gen3-active',
      3,
      { zh: '插入三代社保卡', en: 'Insert a gen 3 card' },
      {
        zh: '同样先选择社保应用、读 EF05：规范版本 “3.00”，三代卡。三代卡读持卡人信息（EF06）前，终端的 PSAM 先对卡做外部认证。',
        en: 'Again SELECT SSSE and EF05: version “3.00”, a gen 3 card. Before reading the holder’s data (EF06) the till’s PSAM authenticates to the card.',
      },
    ),
    amount(3, 'awaitingPin', {
      zh: '三代卡：PSAM 取随机数（GET CHALLENGE）并做外部认证（EXTERNAL AUTHENTICATE），然后请持卡人输入社保卡密码（卡 PIN）。',
      en: 'Gen 3: the PSAM asks for a random (GET CHALLENGE) and authenticates (EXTERNAL AUTHENTICATE); then the holder is asked for the card PIN.',
    }),
    {
      id: 'pin-gen3',
      title: { zh: '持卡人输入社保卡密码 258014', en: 'The holder enters the card PIN 258014' },
      caption: {
        zh: '密码由卡片自己校验（VERIFY 00 20，脱机，R1.3）：卡片答 9000，密码正确，然后扣款。跟踪里的密码只显示为 ******。',
        en: 'The card checks the PIN itself (VERIFY 00 20, offline, R1.3): 9000, correct, then the debit. The trace shows the PIN only as ******.',
      },
      gen: 3,
      act: (call) => call('enterPin', { pin: '258014' }),
      checks: [
        apdu('VERIFY PIN', '9000'),
        custom({ zh: '密码在跟踪中被遮蔽', en: 'the PIN is masked in the trace' }, (o) => {
          const v = o.apdus.find((a) => a.cmd.mnemonic === 'VERIFY PIN');
          return { ok: Boolean(v && /^0020000003\*+$/.test(v.command)), actual: v?.command ?? '—' };
        }),
        sessionEnded('paid'),
        messageIs('APPROVED'),
      ],
    },
    remove(3),
  ],
};

// ---- (b) 初始密码被拒并到柜台修改 ------------------------------------------------------------

const initialPin: Demo = {
  id: 'initial-pin',
  title: { zh: '初始密码被拒并到柜台修改', en: 'Initial PIN refused, changed at the counter' },
  summary: {
    zh: '新领的三代卡密码是初始密码 123456，在 POS 上不能交易（R1.4）。持卡人到银行网点修改密码后再支付。',
    en: 'A new gen 3 card still has the initial PIN 123456, which cannot pay at a POS (R1.4). The holder changes it at a bank outlet, then pays.',
  },
  rules: ['R1.3', 'R1.4'],
  gen: 3,
  steps: [
    insert(
      'gen3-initial-pin',
      3,
      { zh: '插入刚领取的三代卡（密码未修改）', en: 'Insert a new gen 3 card (PIN never changed)' },
      {
        zh: '收银员插入一张刚领取的三代社保卡。终端选择社保应用、读 EF05，识别为三代卡，进入三代卡会话，等待输入金额。',
        en: 'The cashier inserts a newly issued gen 3 card. The till selects the social security application, reads EF05, sees gen 3 and starts the gen 3 session, waiting for the amount.',
      },
    ),
    amount(3, 'awaitingPin', {
      zh: 'PSAM 对卡片做外部认证后，终端请持卡人输入社保卡密码。',
      en: 'After the PSAM’s external authentication the till asks the holder for the card PIN.',
    }),
    {
      id: 'initial-pin-refused',
      title: { zh: '持卡人输入初始密码 123456', en: 'The holder enters the initial PIN 123456' },
      caption: {
        zh: '初始密码不能交易（R1.4）。终端在把密码送给卡片之前就拒绝了，所以不消耗重试次数；屏幕请持卡人到银行网点修改密码。',
        en: 'The initial PIN cannot pay (R1.4). The till refuses it before the card sees it, so no try is used; the screen sends the holder to a bank outlet to change it.',
      },
      gen: 3,
      act: (call) => call('enterPin', { pin: '123456' }),
      checks: [
        noApdu('VERIFY PIN', { zh: '终端先拒绝，不耗次数', en: 'refused by the till first, no try used' }),
        sessionEnded('declined'),
        messageIs('INITIAL_PIN_REFUSED'),
        terminalIs('removeCard'),
      ],
    },
    remove(3, {
      zh: '持卡人取卡，带着卡去银行网点。',
      en: 'The holder takes the card to a bank outlet.',
    }),
    {
      id: 'counter-change-pin',
      title: { zh: `银行柜台：把 123456 改为 ${NEW_PIN}`, en: `Bank counter: change 123456 to ${NEW_PIN}` },
      caption: {
        zh: `柜员用修改密码指令（CHANGE PIN 80 5E：旧密码‖FF‖新密码）在卡片上把初始密码改为 ${NEW_PIN}。新密码不能再是 123456。`,
        en: `The counter changes the PIN on the card (CHANGE PIN 80 5E: old PIN ‖ FF ‖ new PIN) to ${NEW_PIN}. The new PIN cannot be 123456 again.`,
      },
      gen: 3,
      act: async (call) => {
        const r = await call('counterChangePin', {
          cardId: 'gen3-initial-pin',
          oldPin: '123456',
          newPin: NEW_PIN,
        });
        const card = (await call('listCards', {})).find((c) => c.id === 'gen3-initial-pin');
        return { ...r, initial: card?.pin.initial ?? null };
      },
      settled: (t) => !t.busy,
      checks: [
        actionOk({ zh: '柜台：社保卡密码修改成功', en: 'counter: the card PIN was changed' }),
        custom({ zh: '卡片不再是初始密码', en: 'the card no longer has the initial PIN' }, (o) => {
          const initial = (o.result as { initial?: boolean | null }).initial;
          return { ok: initial === false, actual: String(initial) };
        }),
      ],
    },
    insert(
      'gen3-initial-pin',
      3,
      { zh: '回到收银台，再次插卡', en: 'Back at the till: insert the card again' },
      {
        zh: '持卡人回到药店，同一张卡再次插入终端。',
        en: 'Back at the pharmacy, the same card goes into the till again.',
      },
    ),
    amount(3, 'awaitingPin', {
      zh: '再次输入金额，PSAM 认证后等待密码。',
      en: 'The amount again; after the PSAM authentication the till waits for the PIN.',
    }),
    {
      id: 'new-pin-paid',
      title: { zh: `持卡人输入新密码 ${NEW_PIN}`, en: `The holder enters the new PIN ${NEW_PIN}` },
      caption: {
        zh: '卡片校验新密码（VERIFY），答 9000，扣款成功。',
        en: 'The card checks the new PIN (VERIFY): 9000, and the payment goes through.',
      },
      gen: 3,
      act: (call) => call('enterPin', { pin: NEW_PIN }),
      checks: [apdu('VERIFY PIN', '9000'), sessionEnded('paid'), messageIs('APPROVED')],
    },
    remove(3),
  ],
};

// ---- (c) 密码锁定与解锁 ------------------------------------------------------------------------

function wrongPin(n: 1 | 2 | 3, pin: string): DemoStep {
  const left = 3 - n;
  const sw = `63C${left}`;
  return {
    id: `wrong-pin-${n}`,
    title: { zh: `第 ${n} 次输错密码（${pin}）`, en: `Wrong PIN #${n} (${pin})` },
    caption:
      left > 0
        ? {
            zh: `卡片答 ${sw}：密码错误，还可尝试 ${left} 次。卡片自己记着剩余次数。`,
            en: `The card answers ${sw}: wrong PIN, ${left} ${left === 1 ? 'try' : 'tries'} left. The card itself keeps the count.`,
          }
        : {
            zh: '第三次输错，卡片答 63C0：次数用完，密码被锁定。终端提示到银行网点解锁。',
            en: 'The third wrong PIN: 63C0, no tries left, the PIN is blocked. The till sends the holder to a bank outlet.',
          },
    gen: 3,
    act: (call) => call('enterPin', { pin }),
    checks:
      left > 0
        ? [
            apdu('VERIFY PIN', sw),
            sessionIs(3, 'awaitingPinAgain'),
            messageIs('WRONG_PIN', { triesLeft: left }),
          ]
        : [apdu('VERIFY PIN', sw), sessionEnded('declined'), messageIs('PIN_BLOCKED')],
  };
}

const pinBlocked: Demo = {
  id: 'pin-blocked',
  title: { zh: '密码锁定与解锁', en: 'PIN blocked and unblocked' },
  summary: {
    zh: '连续三次输错社保卡密码，卡片锁定密码（63C2、63C1、63C0，之后 6983）。到银行柜台解锁后，原密码恢复可用。',
    en: 'Three wrong PINs block the card PIN (63C2, 63C1, 63C0, then 6983). After the bank counter unblocks it, the same PIN works again.',
  },
  rules: ['R1.3'],
  gen: 3,
  steps: [
    insert(
      'gen3-active',
      3,
      { zh: '插入三代社保卡', en: 'Insert a gen 3 card' },
      {
        zh: '一张正常使用中的三代卡（正确密码 258014）。',
        en: 'A gen 3 card in normal use (its PIN is 258014).',
      },
    ),
    amount(3, 'awaitingPin', {
      zh: 'PSAM 认证后，终端等待社保卡密码。',
      en: 'After the PSAM authentication the till waits for the card PIN.',
    }),
    wrongPin(1, '111111'),
    wrongPin(2, '222222'),
    wrongPin(3, '333333'),
    insert(
      'gen3-active',
      3,
      { zh: '重新插卡', en: 'Insert the card again' },
      {
        zh: '持卡人不死心，重新插卡再试一次。',
        en: 'The holder tries once more with the card reinserted.',
      },
    ),
    amount(3, 'awaitingPin', {
      zh: '输入金额，等待密码。',
      en: 'The amount; the till waits for the PIN.',
    }),
    {
      id: 'blocked-6983',
      title: { zh: '这次输入正确密码 258014', en: 'This time the right PIN, 258014' },
      caption: {
        zh: '密码已锁定：即使密码正确，卡片也答 6983（认证方法锁定），不再校验。只有银行柜台能解锁。',
        en: 'The PIN is blocked: even the right PIN gets 6983 (authentication method blocked); the card no longer checks it. Only the bank counter can unblock it.',
      },
      gen: 3,
      act: (call) => call('enterPin', { pin: '258014' }),
      checks: [apdu('VERIFY PIN', '6983'), sessionEnded('declined'), messageIs('PIN_BLOCKED')],
    },
    {
      id: 'counter-unblock',
      title: { zh: '银行柜台：密码解锁', en: 'Bank counter: unblock the PIN' },
      caption: {
        zh: '柜员从终端取出卡片，用柜台密钥发解锁指令（PIN UNBLOCK 84 24，带 MAC）。重试次数恢复为 3，密码本身不变。',
        en: 'The counter takes the card and sends PIN UNBLOCK (84 24, with a MAC from the counter’s key). The tries go back to 3; the PIN itself is unchanged.',
      },
      gen: 3,
      act: async (call) => {
        const r = await call('counterUnblock', { cardId: 'gen3-active' });
        const card = (await call('listCards', {})).find((c) => c.id === 'gen3-active');
        return { ...r, pin: card?.pin ?? null };
      },
      checks: [
        actionOk({ zh: '柜台：社保卡密码已解锁', en: 'counter: the card PIN is unblocked' }),
        custom({ zh: '重试次数恢复', en: 'the tries are back' }, (o) => {
          const pin = (
            o.result as { pin?: { triesLeft: number; retryLimit: number; blocked: boolean } | null }
          ).pin;
          return {
            ok: Boolean(pin && !pin.blocked && pin.triesLeft === pin.retryLimit),
            actual: pin ? `${pin.triesLeft}/${pin.retryLimit}` : '—',
          };
        }),
        cardPresent(false),
      ],
    },
    insert(
      'gen3-active',
      3,
      { zh: '回到收银台插卡', en: 'Back at the till: insert the card' },
      { zh: '解锁后的卡片回到收银台。', en: 'The unblocked card comes back to the till.' },
    ),
    amount(3, 'awaitingPin', {
      zh: '输入金额，等待密码。',
      en: 'The amount; the till waits for the PIN.',
    }),
    {
      id: 'unblocked-paid',
      title: { zh: '输入原密码 258014', en: 'The same PIN, 258014' },
      caption: {
        zh: '解锁后原密码有效：卡片答 9000，交易成功。',
        en: 'After the unblock the same PIN works: 9000, approved.',
      },
      gen: 3,
      act: (call) => call('enterPin', { pin: '258014' }),
      checks: [apdu('VERIFY PIN', '9000'), sessionEnded('paid'), messageIs('APPROVED')],
    },
    remove(3),
  ],
};

// ---- (d) 主机断开：二代卡 vs 三代卡 -----------------------------------------------------------

const forwardPending = async (call: Call) => (await call('forwardQueue', {})).pending.length;

const hostDown: Demo = {
  id: 'host-down',
  title: { zh: '主机断开：二代卡 vs 三代卡', en: 'Host down: gen 2 vs gen 3' },
  summary: {
    zh: '银行/医保主机断开时：二代卡的交易密码无法联机验证，交易被拒；三代卡由卡片脱机校验密码，医保支付脱机批准并排队，联网后上送。',
    en: 'With the bank / insurance host down: a gen 2 card’s password cannot be checked, so it is declined; a gen 3 card checks its PIN offline, so the medical payment is approved offline and queued for forwarding.',
  },
  rules: ['R1.2', 'R1.3'],
  gen: 2,
  steps: [
    {
      id: 'host-down',
      title: { zh: '断开主机链路', en: 'Take the host link down' },
      caption: {
        zh: '模拟网络故障：终端与银行、医保中心的链路断开。',
        en: 'A network failure: the link from the till to the bank and the insurance centre is down.',
      },
      gen: 2,
      act: (call) => call('setHostLink', { link: 'down' }),
      checks: [hostLinkIs('down'), terminalIs('idle')],
    },
    insert(
      'gen2',
      2,
      { zh: '插入二代社保卡', en: 'Insert a gen 2 card' },
      {
        zh: '卡片本身照常读取（读卡不需要主机），只是卡状态暂时无法向主机确认。',
        en: 'The card itself reads as usual (reading needs no host); only its status cannot be confirmed with the host.',
      },
    ),
    amount(2, 'awaitingPassword', {
      zh: '二代卡：请输入交易密码。',
      en: 'Gen 2: the till asks for the transaction password.',
    }),
    {
      id: 'gen2-declined',
      title: { zh: '持卡人输入交易密码 246810', en: 'The holder enters the transaction password 246810' },
      caption: {
        zh: '交易密码只能由银行联机验证。主机不可达，无法验证，交易被拒绝，屏幕说明原因。',
        en: 'Only the bank can check the transaction password, online. The host is unreachable, so the payment is declined and the screen says why.',
      },
      gen: 2,
      act: (call) => call('enterPin', { pin: '246810' }),
      checks: [
        noApdu('VERIFY PIN', offlineWhy),
        sessionEnded('declined'),
        messageIs('HOST_UNREACHABLE_GEN2'),
      ],
    },
    insert(
      'gen3-active',
      3,
      { zh: '换一张三代卡插入', en: 'Insert a gen 3 card instead' },
      {
        zh: '取出二代卡，插入三代卡。主机仍然断开。',
        en: 'The gen 2 card comes out and a gen 3 card goes in. The host is still down.',
      },
    ),
    amount(3, 'awaitingPin', {
      zh: 'PSAM 外部认证在终端与卡片之间完成，不需要主机。',
      en: 'The PSAM’s external authentication is between the till and the card: no host needed.',
    }),
    {
      id: 'gen3-offline',
      title: { zh: '持卡人输入社保卡密码 258014', en: 'The holder enters the card PIN 258014' },
      caption: {
        zh: '卡片脱机校验密码（9000）。医保支付可以脱机批准：交易记入终端账务，进入上送队列，联网后自动上送（R1.3）。',
        en: 'The card checks the PIN offline (9000). A medical payment may be approved offline: it is booked at the till and queued, and forwarded when the link returns (R1.3).',
      },
      gen: 3,
      act: async (call) => {
        const till = await call('enterPin', { pin: '258014' });
        return { till, pending: await forwardPending(call) };
      },
      checks: [
        apdu('VERIFY PIN', '9000'),
        sessionEnded('paid'),
        messageIs('APPROVED_OFFLINE'),
        custom({ zh: '交易在上送队列中等待', en: 'the payment waits in the forward queue' }, (o) => {
          const n = (o.result as { pending: number }).pending;
          return { ok: n >= 1, actual: String(n) };
        }),
      ],
    },
    remove(3),
    {
      id: 'host-up-sync',
      title: { zh: '主机恢复，上送脱机交易', en: 'Host back up: forward the offline payment' },
      caption: {
        zh: '链路恢复后，终端把脱机交易上送主机（上送队列清空），账务与主机一致。',
        en: 'With the link back, the till forwards the offline payment to the host (the queue empties) and the books agree.',
      },
      gen: 3,
      act: async (call) => {
        await call('setHostLink', { link: 'up' });
        await call('sync', {});
        return { pending: await forwardPending(call) };
      },
      checks: [
        hostLinkIs('up'),
        custom({ zh: '上送队列已清空', en: 'the forward queue is empty' }, (o) => {
          const n = (o.result as { pending: number }).pending;
          return { ok: n === 0, actual: String(n) };
        }),
      ],
    },
  ],
};

export const DEMOS: readonly Demo[] = [gen2VsGen3, initialPin, pinBlocked, hostDown];

export function demoById(id: string): Demo | undefined {
  return DEMOS.find((d) => d.id === id);
}
