import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPosSystem, type PosSystem, type RecoveryResult } from '../pos/pos-system.ts';
import { BankCounter, DEFAULT_BRANCH } from '../bank/counter.ts';
import { loadWallet, type WalletCard } from '../card/wallet.ts';
import type { CardProfile } from '../card/profile.ts';
import type { SocialSecurityCard } from '../card/social-security-card.ts';
import type { Host, LinkState } from '../host/types.ts';
import type { Clock } from '../time.ts';
import { ApduTrace } from '../../device/trace.ts';
import { VirtualReader } from '../../device/virtual-reader.ts';
import type { CardReader } from '../../device/reader.ts';
import { ApiError } from './define.ts';
import { FaultControls } from '../faults/controls.ts';

export interface WorkspaceOptions {
  mode: 'live' | 'training';
  /** The live ledger file; a training workspace makes a throw-away one. */
  dbPath: string;
  clock: Clock;
  walletDir?: string;
  /** Opens a PC/SC reader by name (injected so core needs no PC/SC in tests). */
  openPcscReader?: (name: string, trace: ApduTrace) => CardReader;
  pcscReader?: string | null;
  link?: LinkState;
  hostTimeoutMs?: number;
  /** The central host's URL (docs/central-host.md); absent: the in-process host. */
  hostUrl?: string;
  hostToken?: string;
  /** Which till this is (default T0001); a training sandbox is always the default. */
  terminalId?: string;
}

/**
 * One till with its counter, on one ledger: the live books, or a training sandbox (培训模式)
 * on a fresh database that is thrown away, so a demonstration never touches real books and
 * always starts from the bundled cards as shipped.
 */
export class Workspace {
  readonly mode: 'live' | 'training';
  readonly dbPath: string;
  readonly trace: ApduTrace;
  readonly pos: PosSystem<Host>;
  readonly counter: BankCounter;
  /** The in-process reader (null while a PC/SC reader is in use). */
  readonly virtualReader: VirtualReader | null;
  readonly reader: CardReader;
  /** Fault injection: the reader above is wrapped in faults.reader, the till's host in faults.host. */
  readonly faults: FaultControls;
  /**
   * The start-up recovery of a live till (PosSystem.recover: reversals owed by a till that
   * died mid-debit), run in the background right after opening; null in training mode, or when
   * it failed (host down…: the next sync retries). On a ledger that owes nothing it resolves at
   * once without a host call.
   */
  readonly recovered: Promise<RecoveryResult | null>;
  private readonly wallet: WalletCard[];
  private readonly cards = new Map<string, SocialSecurityCard>();
  private insertedId: string | null = null;
  private readonly sandboxDir: string | null;

  constructor(options: WorkspaceOptions) {
    this.mode = options.mode;
    this.sandboxDir = options.mode === 'training' ? mkdtempSync(join(tmpdir(), 'sscard-training-')) : null;
    this.dbPath = this.sandboxDir ? join(this.sandboxDir, 'training.db') : options.dbPath;
    this.trace = new ApduTrace(options.clock);
    this.wallet = loadWallet(options.walletDir);
    if (options.pcscReader) {
      if (!options.openPcscReader)
        throw new ApiError(
          'READER_ERROR',
          '此版本不支持 PC/SC 读卡器',
          'PC/SC readers are not available here',
        );
      this.virtualReader = null;
      this.reader = options.openPcscReader(options.pcscReader, this.trace);
    } else {
      this.virtualReader = new VirtualReader({ name: 'SSCard Lab 虚拟读卡器', trace: this.trace });
      this.reader = this.virtualReader;
    }
    this.faults = new FaultControls(this.reader);
    this.reader = this.faults.reader;
    this.pos = openPosSystem({
      dbPath: this.dbPath,
      clock: options.clock,
      reader: this.reader,
      wrapHost: this.faults.wrapHost,
      link: options.link ?? 'up',
      ...(options.hostTimeoutMs !== undefined ? { hostTimeoutMs: options.hostTimeoutMs } : {}),
      // A training sandbox never talks to the chain's central host.
      hostUrl: options.mode === 'live' ? options.hostUrl : undefined,
      ...(options.hostToken !== undefined ? { hostToken: options.hostToken } : {}),
      ...(options.mode === 'live' && options.terminalId !== undefined
        ? { terminalId: options.terminalId }
        : {}),
    });
    this.counter = new BankCounter({ store: this.pos.store, clock: options.clock, branch: DEFAULT_BRANCH });
    this.virtualReader?.on('card-removed', () => {
      this.insertedId = null;
    });
    this.pos.terminal.start();
    // Never blocks the UI: the workspace is usable at once; a debit the till reverses meanwhile
    // is one it never booked, and a debit in flight in a live till is never touched.
    this.recovered = options.mode === 'live' ? this.pos.recover().catch(() => null) : Promise.resolve(null);
  }

  /** The bundled cards, in file order. */
  bundled(): readonly WalletCard[] {
    return this.wallet;
  }

  /** A bundled card by id, or a card issued at this counter by its card number. */
  profile(cardId: string): CardProfile {
    const bundled = this.wallet.find((w) => w.profile.id === cardId);
    if (bundled) return bundled.profile;
    const issued = this.counter.profileOf(cardId);
    if (issued) return issued;
    throw new ApiError('NOT_FOUND', `没有这张卡：${cardId}`, `no card ${cardId} in the wallet`);
  }

  /** The one card object per card: the till and the counter share its chip memory. */
  card(cardId: string): SocialSecurityCard {
    const known = this.cards.get(cardId);
    if (known) return known;
    const card = this.pos.register(this.profile(cardId));
    this.cards.set(cardId, card);
    return card;
  }

  get insertedCardId(): string | null {
    return this.virtualReader?.cardPresent() ? this.insertedId : null;
  }

  insert(cardId: string): void {
    if (!this.virtualReader)
      throw new ApiError(
        'CONFLICT',
        '正在使用 PC/SC 读卡器：请把实体卡插入读卡器',
        'A PC/SC reader is in use: put a physical card in it',
      );
    const card = this.card(cardId);
    this.virtualReader.remove();
    this.insertedId = cardId;
    this.virtualReader.insert(this.faults.cardForInsert(cardId, card));
  }

  remove(): void {
    this.virtualReader?.remove();
    this.insertedId = null;
  }

  close(): void {
    this.pos.close();
    if (this.sandboxDir) rmSync(this.sandboxDir, { recursive: true, force: true });
  }
}
