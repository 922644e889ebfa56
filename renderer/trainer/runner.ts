import type { ArgsOf, MethodName, ResultOf } from '../../core/api/contract.ts';
import type { TillView, WorkspaceView } from '../../core/api/events.ts';
import type { TraceEntry } from '../../core/api/events.ts';
import type { MessageCode, PosMessage, SessionResult } from '../../state-machines/types.ts';
import { decodeTrace, type Bi, type DecodedEntry } from '../apdu-decode.ts';

/**
 * Runs one step of a demonstration through the Api, then checks that the app did what the
 * caption says. Pure: no React, no DOM; the trainer panel passes its client's `call`, the
 * tests pass the in-process core's.
 */
export type Call = <M extends MethodName>(method: M, args: ArgsOf<M>) => Promise<ResultOf<M>>;

/** What the app did during a step, as the checks and the trainer panel see it. */
export interface Observed {
  /** What the step's action returned (a counter result, a till view…). */
  result: unknown;
  till: TillView;
  workspace: WorkspaceView;
  /** The APDU exchanges of this step only, decoded (PIN data masked). */
  apdus: DecodedEntry[];
}

/** One expectation, with words for the trainer ("预期：…"). */
export interface Check {
  label: Bi;
  test(o: Observed): { ok: boolean; actual?: Bi | string };
}

export interface DemoStep {
  id: string;
  title: Bi;
  caption: Bi;
  /** The generation machine to draw while no card is in the till. */
  gen?: 1 | 2 | 3;
  act(call: Call): Promise<unknown>;
  /** Done waiting when this holds (default: the till is not busy). */
  settled?: (till: TillView) => boolean;
  checks: Check[];
}

export interface Demo {
  id: string;
  title: Bi;
  summary: Bi;
  /** Which rules of domain-rules.md the demo shows. */
  rules: string[];
  /** The generation machine drawn before the first card. */
  gen: 1 | 2 | 3;
  steps: DemoStep[];
}

export interface CheckResult {
  label: Bi;
  ok: boolean;
  actual?: Bi | string;
}

export interface StepReport {
  stepId: string;
  index: number;
  till: TillView;
  workspace: WorkspaceView;
  /** The till's screen after the step (the session's message, or the last session's). */
  message: PosMessage;
  /** A bilingual line from the action itself (the counter's answer), when it has one. */
  detail: Bi | null;
  apdus: DecodedEntry[];
  checks: CheckResult[];
}

/** A step whose outcome is not what the caption says (or whose call failed). */
export class StepFailure extends Error {
  constructor(
    readonly problem: Bi,
    readonly report: Partial<StepReport> & { checks: CheckResult[] },
  ) {
    super(problem.en);
    this.name = 'StepFailure';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bilingual words of a failed call (ApiCallError's failure, ApiError, or any error). */
export function errorWords(e: unknown): Bi {
  const f =
    (e as { failure?: { zh?: unknown; en?: unknown } }).failure ?? (e as { zh?: unknown; en?: unknown });
  if (f && typeof f.zh === 'string' && typeof f.en === 'string') return { zh: f.zh, en: f.en };
  const m = e instanceof Error ? e.message : String(e);
  return { zh: m, en: m };
}

function detailOf(result: unknown): Bi | null {
  const r = result as { zh?: unknown; en?: unknown } | null;
  return r && typeof r.zh === 'string' && typeof r.en === 'string' ? { zh: r.zh, en: r.en } : null;
}

export class DemoRunner {
  /** The last trace sequence number seen: each step's APDUs are those after it. */
  private seq = 0;

  constructor(
    private readonly call: Call,
    private readonly options: { settleTimeoutMs?: number; pollMs?: number } = {},
  ) {}

  /** Starts from the current end of the trace (call after startTraining). */
  async begin(): Promise<void> {
    const trace = await this.call('trace', { sinceSeq: 0 });
    this.seq = trace.at(-1)?.seq ?? 0;
  }

  private async settle(step: DemoStep): Promise<TillView> {
    const done = step.settled ?? ((t: TillView) => !t.busy);
    const deadline = Date.now() + (this.options.settleTimeoutMs ?? 20_000);
    for (;;) {
      const till = await this.call('tillState', {});
      if (done(till)) return till;
      if (Date.now() > deadline)
        throw new StepFailure(
          {
            zh: `终端在规定时间内没有完成本步（停在 ${till.state}）`,
            en: `the till did not finish this step in time (still in ${till.state})`,
          },
          { till, checks: [] },
        );
      await sleep(this.options.pollMs ?? 40);
    }
  }

  async run(step: DemoStep, index: number): Promise<StepReport> {
    let result: unknown;
    try {
      result = await step.act(this.call);
    } catch (e) {
      const w = errorWords(e);
      throw new StepFailure(
        { zh: `应用没有完成这一步：${w.zh}`, en: `the app could not do this step: ${w.en}` },
        { stepId: step.id, index, checks: [] },
      );
    }
    const till = await this.settle(step);
    const [entries, workspace] = await Promise.all([
      this.call('trace', { sinceSeq: this.seq }),
      this.call('workspace', {}),
    ]);
    if (entries.length) this.seq = entries.at(-1)!.seq;
    const apdus = decodeTrace(entries as TraceEntry[]);
    const observed: Observed = { result, till, workspace, apdus };
    const checks = step.checks.map((c) => ({ label: c.label, ...c.test(observed) }));
    const report: StepReport = {
      stepId: step.id,
      index,
      till,
      workspace,
      message: till.message,
      detail: detailOf(result),
      apdus,
      checks,
    };
    const failed = checks.filter((c) => !c.ok);
    if (failed.length) {
      const list = (lang: 'zh' | 'en') =>
        failed
          .map((c) => {
            const actual =
              c.actual === undefined ? '' : typeof c.actual === 'string' ? c.actual : c.actual[lang];
            return lang === 'zh'
              ? `预期「${c.label.zh}」${actual ? `，实际：${actual}` : ''}`
              : `expected “${c.label.en}”${actual ? `, got: ${actual}` : ''}`;
          })
          .join(lang === 'zh' ? '；' : '; ');
      throw new StepFailure(
        {
          zh: `应用没有按说明完成这一步：${list('zh')}`,
          en: `The app did not do what the step says: ${list('en')}`,
        },
        report,
      );
    }
    return report;
  }
}

// ---- checks ---------------------------------------------------------------------------

const STATE_WORDS: Record<string, Bi> = {
  idle: { zh: '空闲，等待插卡', en: 'idle, waiting for a card' },
  removeCard: { zh: '请取卡', en: 'remove the card' },
  refused: { zh: '拒绝此卡', en: 'card refused' },
  holder: { zh: '等待输入金额', en: 'waiting for the amount' },
  awaitingPin: { zh: '等待输入社保卡密码', en: 'waiting for the card PIN' },
  awaitingPinAgain: { zh: '密码错误，等待重输', en: 'wrong PIN, waiting again' },
  awaitingPassword: { zh: '等待输入交易密码', en: 'waiting for the transaction password' },
  awaitingPasswordAgain: { zh: '交易密码错误，等待重输', en: 'wrong password, waiting again' },
};

const words = (s: string | null): Bi => (s && STATE_WORDS[s]) || { zh: s ?? '—', en: s ?? '—' };

/** The terminal machine is in this top state. */
export function terminalIs(state: string): Check {
  const w = words(state);
  return {
    label: { zh: `终端状态：${state}（${w.zh}）`, en: `terminal state: ${state} (${w.en})` },
    test: (o) => ({ ok: o.till.terminalState === state, actual: o.till.state }),
  };
}

/** The generation machine is in this state. */
export function sessionIs(gen: 1 | 2 | 3, state: string): Check {
  const w = words(state);
  return {
    label: {
      zh: `${gen} 代卡会话状态：${state}（${w.zh}）`,
      en: `gen ${gen} session state: ${state} (${w.en})`,
    },
    test: (o) => ({ ok: o.till.generation === gen && o.till.sessionState === state, actual: o.till.state }),
  };
}

const MESSAGE_WORDS: Partial<Record<MessageCode, Bi>> = {
  ENTER_AMOUNT: { zh: '请输入金额', en: 'Enter the amount' },
  ENTER_PIN: { zh: '请持卡人输入社保卡密码', en: 'Cardholder, enter the card PIN' },
  ENTER_PASSWORD: { zh: '请输入交易密码', en: 'Enter the transaction password' },
  INITIAL_PIN_REFUSED: { zh: '初始密码不能交易', en: 'the initial PIN cannot be used to pay' },
  WRONG_PIN: { zh: '密码错误', en: 'wrong PIN' },
  PIN_BLOCKED: { zh: '社保卡密码已锁定', en: 'the card PIN is blocked' },
  APPROVED: { zh: '交易成功', en: 'Approved' },
  APPROVED_OFFLINE: { zh: '交易成功（脱机）', en: 'Approved offline' },
  HOST_UNREACHABLE_GEN2: {
    zh: '主机不可达，二代卡须联机验密',
    en: 'host unreachable, gen 2 needs the bank online',
  },
  INSERT_CARD: { zh: '请插入社保卡', en: 'Insert the card' },
};

/** What the screen shows; once the till is back to idle, what the session that just ended said. */
function shownMessage(o: Observed): PosMessage {
  return o.till.terminalState === 'idle' && o.till.last ? o.till.last.message : o.till.message;
}

/** The till's screen shows this message (with these parameters, when given). */
export function messageIs(code: MessageCode, params?: Record<string, string | number>): Check {
  const w = MESSAGE_WORDS[code] ?? { zh: code, en: code };
  const extra = params ? ` ${Object.values(params).join(' ')}` : '';
  return {
    label: { zh: `屏幕提示：${w.zh}${extra}`, en: `screen says: ${w.en}${extra}` },
    test: (o) => {
      const m = shownMessage(o);
      const ok = m.code === code && Object.entries(params ?? {}).every(([k, v]) => m.params?.[k] === v);
      return { ok, actual: `${m.code}${m.params ? ' ' + JSON.stringify(m.params) : ''}` };
    },
  };
}

/** The session that just ended ended so. */
export function sessionEnded(result: SessionResult['result']): Check {
  const w: Record<SessionResult['result'], Bi> = {
    paid: { zh: '已支付', en: 'paid' },
    declined: { zh: '被拒绝', en: 'declined' },
    cancelled: { zh: '已取消', en: 'cancelled' },
    reversed: { zh: '已冲正', en: 'reversed' },
    pulled: { zh: '卡被拔出', en: 'card pulled' },
  };
  return {
    label: { zh: `交易结果：${w[result].zh}`, en: `session result: ${w[result].en}` },
    test: (o) => ({ ok: o.till.last?.result === result, actual: o.till.last?.result ?? 'none' }),
  };
}

/** A command with this mnemonic was sent, and (when given) its last answer was this SW. */
export function apdu(mnemonic: string, sw?: string): Check {
  return {
    label: sw
      ? { zh: `卡片对 ${mnemonic} 应答 ${sw}`, en: `the card answers ${mnemonic} with ${sw}` }
      : { zh: `发送了 ${mnemonic}`, en: `${mnemonic} was sent` },
    test: (o) => {
      const hits = o.apdus.filter((a) => a.cmd.mnemonic === mnemonic);
      const last = hits.at(-1);
      return {
        ok: Boolean(last) && (!sw || last!.status.sw === sw),
        actual: last
          ? `${mnemonic} → ${last.status.sw || '—'}`
          : { zh: `没有 ${mnemonic}`, en: `no ${mnemonic}` },
      };
    },
  };
}

/** No command with this mnemonic went to the card during the step. */
export function noApdu(mnemonic: string, why: Bi): Check {
  return {
    label: { zh: `卡片没有收到 ${mnemonic}（${why.zh}）`, en: `no ${mnemonic} to the card (${why.en})` },
    test: (o) => {
      const n = o.apdus.filter((a) => a.cmd.mnemonic === mnemonic).length;
      return { ok: n === 0, actual: { zh: `${mnemonic} ${n} 条`, en: `${n} × ${mnemonic}` } };
    },
  };
}

/** The card is in the reader (or not). */
export function cardPresent(present: boolean): Check {
  return {
    label: present
      ? { zh: '卡在读卡器中', en: 'the card is in the reader' }
      : { zh: '读卡器中没有卡', en: 'no card in the reader' },
    test: (o) => ({ ok: o.till.cardPresent === present, actual: String(o.till.cardPresent) }),
  };
}

/** The counter (or another action returning {ok, zh, en}) succeeded. */
export function actionOk(label: Bi): Check {
  return {
    label,
    test: (o) => {
      const r = o.result as { ok?: unknown; zh?: string; en?: string } | null;
      return {
        ok: r?.ok === true,
        actual: r?.zh && r.en ? { zh: r.zh, en: r.en } : JSON.stringify(r),
      };
    },
  };
}

/** The link to the bank / insurance host is this. */
export function hostLinkIs(link: 'up' | 'down'): Check {
  return {
    label:
      link === 'up'
        ? { zh: '主机链路：在线', en: 'host link: up' }
        : { zh: '主机链路：断开', en: 'host link: down' },
    test: (o) => ({ ok: o.workspace.hostLink === link, actual: o.workspace.hostLink }),
  };
}

/** The step runs in the training sandbox, never on the live books. */
export const inTraining: Check = {
  label: { zh: '在培训沙盒中进行', en: 'running in the training sandbox' },
  test: (o) => ({ ok: o.workspace.mode === 'training', actual: o.workspace.mode }),
};

/** Any other expectation, on what the step observed. */
export function custom(label: Bi, test: (o: Observed) => { ok: boolean; actual?: Bi | string }): Check {
  return { label, test };
}
