import type { PosSystem } from '../pos/pos-system.ts';
import { tillView } from '../pos/till-view.ts';
import { createReaderInterface, VirtualPinPad, type PinRequest } from '../reader-interface/index.ts';
import {
  DEFAULT_DRIVER_PORT,
  startDriverService,
  type DriverBackend,
  type DriverCallResult,
  type DriverService,
} from '../reader-interface-service/server.ts';
import { interfaceBackend } from '../reader-interface-service/session.ts';
import { ApiError } from './define.ts';
import type { CoreEvent, ReaderServiceView, ServicePinRequest } from './events.ts';
import type { Workspace } from './workspace.ts';

/**
 * 读卡服务 in the app: the same local reader service as `sscard driver serve`
 * (core/reader-interface-service), on the app's own reader and till — the card in the reader
 * panel, the till's host and books — with the customer PIN pad of the screens as its PIN pad.
 *
 * One reader, two users: the till and the HIS calling the service. They take turns:
 * - a service call waits while the till is busy with the card (reading it, paying) and is
 *   refused (-11, with the reason in pOutInfo) while the till waits for the holder's PIN or
 *   password in the middle of a payment;
 * - while a service call runs, the till's actions that use the card (entering the amount or
 *   the PIN, inserting a card, the bank counter) are refused (CONFLICT) — pulling the card is
 *   not: that is the holder's right, and the call answers -2.
 * The PIN typed on the customer PIN pad goes to the virtual PIN pad and into the card's APDU:
 * never into an event, a log or an answer.
 */

export const DEFAULT_SERVICE_HOST = '127.0.0.1';
export const DEFAULT_PIN_TIMEOUT_S = 30;

/** Functions after which the books or the card's memory may have changed (screens refresh). */
const CHANGES_BOOKS = /^(iVerifyPIN|iChangePIN|iReloadPIN|iUnblockPIN|iDoDebit)/;

const TILL_BUSY_WAIT_MS = 20_000;

export interface StartServiceOptions {
  host: string;
  /** The port asked for; null: the default 12342, or a free one when it is taken. */
  port: number | null;
  pinTimeoutSeconds: number;
}

interface Running {
  service: DriverService;
  pad: VirtualPinPad;
  ws: Workspace;
  requestedPort: number;
  pinTimeoutSeconds: number;
  waiting: ServicePinRequest | null;
  calls: number;
}

function isAddressInUse(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'EADDRINUSE';
}

export class ReaderServiceController {
  private running: Running | null = null;
  private starting: Promise<unknown> | null = null;
  /** Service calls in flight (0 or 1: the transport runs them one at a time). */
  private inCall = 0;

  constructor(
    private readonly deps: {
      ws(): Workspace;
      emit(e: CoreEvent): void;
    },
  ) {}

  view(): ReaderServiceView {
    const r = this.running;
    if (!r) {
      return {
        running: false,
        url: null,
        wsUrl: null,
        port: null,
        requestedPort: null,
        pinTimeoutSeconds: null,
        waiting: null,
        calls: 0,
      };
    }
    return {
      running: true,
      url: r.service.url,
      wsUrl: r.service.wsUrl,
      port: r.service.port,
      requestedPort: r.requestedPort,
      pinTimeoutSeconds: r.pinTimeoutSeconds,
      waiting: r.waiting,
      calls: r.calls,
    };
  }

  get isRunning(): boolean {
    return this.running !== null;
  }

  /** Whether a service call holds the reader now. */
  get busy(): boolean {
    return this.inCall > 0;
  }

  /** For the till's actions that use the card: refused while a service call holds the reader. */
  assertReaderFree(): void {
    if (!this.busy) return;
    const fn = this.running?.waiting?.functionName;
    throw new ApiError(
      'CONFLICT',
      `读卡服务正在使用读卡器${fn ? `（${fn} 等待持卡人输入密码）` : ''}，请稍后再试`,
      `The reader service is using the card${fn ? ` (${fn} is waiting for the holder's PIN)` : ''}: try again when it has finished`,
    );
  }

  async start(options: StartServiceOptions): Promise<ReaderServiceView> {
    if (this.starting) await this.starting.catch(() => {});
    if (this.running)
      throw new ApiError(
        'CONFLICT',
        `读卡服务已在运行：${this.running.service.url}`,
        `The reader service is already running at ${this.running.service.url}`,
      );
    const run = this.open(options);
    this.starting = run;
    try {
      await run;
    } finally {
      this.starting = null;
    }
    const view = this.view();
    this.deps.emit({ type: 'reader-service', service: view });
    return view;
  }

  private async open(options: StartServiceOptions): Promise<void> {
    const ws = this.deps.ws();
    const pad = new VirtualPinPad({ timeoutMs: options.pinTimeoutSeconds * 1000 });
    const ri = createReaderInterface({
      reader: ws.reader,
      pinPad: pad,
      // The app's till: its host (fault-wrapped as the till's is) and its books.
      till: { pos: ws.pos as unknown as PosSystem, host: ws.pos.host },
      clock: ws.pos.clock,
    });
    const inner = interfaceBackend(ri, pad);
    const backend: DriverBackend = {
      ...inner,
      call: (request) => this.serviceCall(ws, request, () => inner.call(request)),
    };
    const requestedPort = options.port ?? DEFAULT_DRIVER_PORT;
    let service: DriverService;
    try {
      service = await startDriverService({ backend, host: options.host, port: requestedPort });
    } catch (e) {
      if (isAddressInUse(e) && options.port === null) {
        // The default port is taken (a `sscard driver serve` already runs?): take a free one.
        service = await startDriverService({ backend, host: options.host, port: 0 });
      } else if (isAddressInUse(e)) {
        throw new ApiError(
          'CONFLICT',
          `地址 ${options.host}:${requestedPort} 已被占用（另一个读卡服务？），请换一个端口`,
          `${options.host}:${requestedPort} is already in use (another reader service?): choose another port`,
        );
      } else {
        const message = e instanceof Error ? e.message : String(e);
        throw new ApiError(
          'BAD_ARGUMENTS',
          `读卡服务无法在 ${options.host}:${requestedPort} 监听：${message}`,
          `The reader service cannot listen on ${options.host}:${requestedPort}: ${message}`,
        );
      }
    }
    const running: Running = {
      service,
      pad,
      ws,
      requestedPort,
      pinTimeoutSeconds: options.pinTimeoutSeconds,
      waiting: null,
      calls: 0,
    };
    // What the screens hear of the PIN pad: who asks and for what, then that the wait ended.
    pad.on('request', (r: PinRequest) => {
      if (this.running !== running) return;
      const request = { functionName: r.functionName, prompt: r.prompt };
      running.waiting = request;
      this.deps.emit({ type: 'reader-service-pin', request });
    });
    pad.on('done', (r: PinRequest, outcome: 'entered' | 'cancel' | 'timeout') => {
      if (this.running !== running) return;
      const wasAsked = running.waiting !== null;
      running.waiting = null;
      if (wasAsked)
        this.deps.emit({
          type: 'reader-service-pin-done',
          request: { functionName: r.functionName, prompt: r.prompt },
          outcome,
        });
    });
    this.running = running;
  }

  /** One call from the HIS, taking its turn with the till. */
  private async serviceCall(
    ws: Workspace,
    request: { function: string },
    run: () => Promise<DriverCallResult>,
  ): Promise<DriverCallResult> {
    const running = this.running;
    if (!running || running.ws !== ws || this.deps.ws() !== ws) {
      return {
        functionName: request.function,
        code: -11,
        pOutInfo: '读卡服务已停止 the reader service has stopped',
      };
    }
    const terminal = ws.pos.terminal;
    // The till reading or paying finishes first (it settles within its host timeout).
    await terminal.settled(TILL_BUSY_WAIT_MS).catch(() => {});
    const till = tillView(terminal);
    if (till.busy || till.waitingFor === 'pin' || till.waitingFor === 'password') {
      const why =
        '收银台正在交易（等待持卡人输入密码），请先完成或取消 the till is in a payment waiting for the holder: finish or cancel it first';
      return { functionName: request.function, code: -11, pOutInfo: why, detail: why };
    }
    this.inCall += 1;
    try {
      const result = await run();
      running.calls += 1;
      return result;
    } finally {
      this.inCall -= 1;
      if (CHANGES_BOOKS.test(request.function)) this.deps.emit({ type: 'books-changed' });
    }
  }

  /** The customer PIN pad: the holder's PIN (digits) or CANCEL for the function waiting now. */
  enter(entry: string): ReaderServiceView {
    const r = this.running;
    if (!r) throw new ApiError('CONFLICT', '读卡服务没有运行', 'The reader service is not running');
    if (!r.pad.isWaiting)
      throw new ApiError(
        'CONFLICT',
        '读卡服务现在不需要输入密码',
        'No reader-service function is waiting for a PIN now',
      );
    r.pad.enter(entry); // checked by the Api's schema already; a PinPadError never echoes it
    return this.view();
  }

  async stop(): Promise<ReaderServiceView> {
    if (this.starting) await this.starting.catch(() => {});
    const r = this.running;
    if (!r) return this.view();
    this.running = null;
    // A function still waiting for the holder is cancelled (-31) rather than left hanging.
    r.pad.clear();
    if (r.pad.isWaiting) r.pad.enter('CANCEL');
    if (r.waiting) this.deps.emit({ type: 'reader-service-pin-done', request: r.waiting, outcome: 'cancel' });
    await r.service.close();
    const view = this.view();
    this.deps.emit({ type: 'reader-service', service: view });
    return view;
  }
}
