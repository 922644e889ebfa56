import {
  HostError,
  type Host,
  type HostBalances,
  type HostPaymentRequest,
  type HostRecord,
  type LinkState,
  type OnApplied,
  type PasswordCheck,
} from './types.ts';

/**
 * Host faults, switchable at run time:
 *
 * - `error`: the host is up and answers, but every request that would check or apply
 *   something (transaction password, payment, forwarded payment, reversal, refund) is answered
 *   with an error status (`DECLINED` by default, or `INTERNAL`) and nothing is applied.
 *   Enquiries (card status, balances, records) are still answered, so a card can be read. The
 *   error is a host *answer*, not a lost link: the terminal declines, it does not go offline.
 * - `drop-after-apply`: payments, forwarded payments and refunds reach the host and are applied,
 *   but the answer is lost: the terminal sees HOST_TIMEOUT. Reversals and enquiries go through,
 *   so the terminal's reversal, retry and reconciliation logic can set things right.
 * - `null`: no fault.
 *
 * A link that is down stays down: with the link down nothing reaches the host, fault or not.
 */
export type HostFault =
  { kind: 'error'; code?: 'DECLINED' | 'INTERNAL'; message?: string } | { kind: 'drop-after-apply' } | null;

/** What the host answers under an `error` fault. Not a HostError: the host did answer. */
export class HostFaultError extends Error {
  readonly injected = true;
  constructor(
    readonly code: 'DECLINED' | 'INTERNAL',
    message: string,
  ) {
    super(message);
    this.name = 'HostFaultError';
  }
}

export type FaultyHost = Host & { setFault(f: HostFault): void; readonly fault: HostFault };

function defaultMessage(code: 'DECLINED' | 'INTERNAL'): string {
  return code === 'INTERNAL'
    ? '主机内部错误（故障注入） / host internal error (injected fault)'
    : '主机拒绝交易（故障注入） / declined by the host (injected fault)';
}

function checkFault(f: HostFault): HostFault {
  if (f === null) return null;
  if (typeof f !== 'object') throw new TypeError('a host fault is null or an object with a kind');
  if (f.kind === 'drop-after-apply') return { kind: 'drop-after-apply' };
  if (f.kind === 'error') {
    const code = f.code ?? 'DECLINED';
    if (code !== 'DECLINED' && code !== 'INTERNAL')
      throw new TypeError(`host error code must be DECLINED or INTERNAL, not ${String(code)}`);
    return { kind: 'error', code, ...(f.message !== undefined ? { message: String(f.message) } : {}) };
  }
  throw new TypeError(`unknown host fault kind ${String((f as { kind: unknown }).kind)}`);
}

/**
 * Wraps a host with switchable faults; with no fault set it forwards every call unchanged.
 * Suitable for openPosSystem's `wrapHost`: `wrapHost: (h) => (faulty = withHostFaults(h))`.
 */
export function withHostFaults<H extends Host>(
  host: H,
): Host & { setFault(f: HostFault): void; readonly fault: HostFault } {
  let fault: HostFault = null;

  const refusal = (): HostFaultError | null => {
    if (fault?.kind !== 'error' || host.link === 'down') return null;
    const code = fault.code ?? 'DECLINED';
    return new HostFaultError(code, fault.message ?? defaultMessage(code));
  };
  const lostAnswer = () =>
    new HostError(
      'HOST_TIMEOUT',
      'no answer from the host: the request was applied but the answer was lost (injected fault)',
    );
  /** Under drop-after-apply: the host applies the request, the terminal never hears back. */
  const dropped = async (apply: () => Promise<HostRecord>): Promise<HostRecord> => {
    // A down link or a refusal is answered as usual: only an applied request loses its answer.
    await apply();
    throw lostAnswer();
  };
  const dropping = () => fault?.kind === 'drop-after-apply';

  const wrapped: FaultyHost = {
    get link(): LinkState {
      return host.link;
    },
    setLink(state: LinkState): void {
      host.setLink(state);
    },
    get fault(): HostFault {
      return fault;
    },
    setFault(f: HostFault): void {
      fault = checkFault(f);
    },

    async verifyPassword(cardId: string, password: string): Promise<PasswordCheck> {
      const r = refusal();
      if (r) throw r;
      return host.verifyPassword(cardId, password);
    },
    balances(cardId: string): Promise<HostBalances> {
      return host.balances(cardId);
    },
    cardStatus(cardId: string) {
      return host.cardStatus(cardId);
    },
    async pay(request: HostPaymentRequest, onApplied?: OnApplied): Promise<HostRecord> {
      const r = refusal();
      if (r) throw r;
      // The answer is lost, so the terminal must not record the payment with the host's
      // transaction either: the callback is not passed on.
      if (dropping()) return dropped(() => host.pay(request));
      return onApplied ? host.pay(request, onApplied) : host.pay(request);
    },
    async forward(request: HostPaymentRequest): Promise<HostRecord> {
      const r = refusal();
      if (r) throw r;
      if (dropping()) return dropped(() => host.forward(request));
      return host.forward(request);
    },
    async reverse(reversalId: string, paymentId: string, at: string): Promise<HostRecord> {
      const r = refusal();
      if (r) throw r;
      return host.reverse(reversalId, paymentId, at);
    },
    async refund(refundId: string, paymentId: string, amountFen: number, at: string): Promise<HostRecord> {
      const r = refusal();
      if (r) throw r;
      if (dropping()) return dropped(() => host.refund(refundId, paymentId, amountFen, at));
      return host.refund(refundId, paymentId, amountFen, at);
    },
    records(terminalId: string, date?: string): Promise<HostRecord[]> {
      return date === undefined ? host.records(terminalId) : host.records(terminalId, date);
    },
  };
  return wrapped;
}
