import { z } from 'zod';
import { ApiError, method, type MethodContext } from './define.ts';
import type { ReaderView } from './events.ts';
import type { Workspace } from './workspace.ts';
import { profilePinInitial, type CardProfile } from '../card/profile.ts';

export interface WalletEntry {
  /** The id the Api takes: a bundled card's id, or the card number of a card issued here. */
  id: string;
  source: 'bundled' | 'issued';
  generation: 1 | 2 | 3;
  cardNumber: string;
  holderName: string;
  status: string;
  expiryDate: string;
  pin: { triesLeft: number; retryLimit: number; blocked: boolean; initial: boolean };
  /** Fen; null where the card has no such account. */
  balances: { reserve: number | null; medicalCurrent: number | null; medicalPrior: number | null };
  inReader: boolean;
}

export function readerView(ws: Workspace): ReaderView {
  return {
    kind: ws.reader.kind,
    name: ws.reader.name,
    cardPresent: ws.reader.cardPresent(),
    cardId: ws.insertedCardId,
  };
}

function entry(ws: Workspace, id: string, source: WalletEntry['source'], profile: CardProfile): WalletEntry {
  const number = profile.card.number;
  const row = ws.pos.store.ledger.getCard(number);
  const sec = row ? ws.pos.store.ledger.getSecurity(number) : null;
  const triesLeft = sec?.pinTriesLeft ?? profile.pinTriesLeft ?? profile.pinRetryLimit;
  const balances = row
    ? ws.pos.store.balances(number)
    : {
        reserve: profile.accounts.reserveFen ?? null,
        medicalCurrent: profile.accounts.medicalCurrentFen ?? null,
        medicalPrior: profile.accounts.medicalPriorFen ?? null,
      };
  return {
    id,
    source,
    generation: profile.generation,
    cardNumber: number,
    holderName: profile.holder.name,
    status: row?.status ?? profile.status,
    expiryDate: profile.card.expiryDate,
    pin: {
      triesLeft,
      retryLimit: sec?.pinRetryLimit ?? profile.pinRetryLimit,
      blocked: triesLeft === 0,
      initial: sec?.pinInitial ?? profilePinInitial(profile),
    },
    balances,
    inReader: ws.insertedCardId === id,
  };
}

export function walletEntries(ws: Workspace): WalletEntry[] {
  const bundled = ws.bundled().map((w) => entry(ws, w.profile.id, 'bundled', w.profile));
  const bundledNumbers = new Set(ws.bundled().map((w) => w.profile.card.number));
  const issued = ws.pos.store.ledger
    .listCards()
    .filter((c) => !bundledNumbers.has(c.cardId))
    .flatMap((c) => {
      const p = ws.counter.profileOf(c.cardId);
      return p ? [entry(ws, c.cardId, 'issued', p)] : [];
    });
  return [...bundled, ...issued];
}

function changed(ctx: MethodContext): ReaderView {
  const view = readerView(ctx.ws());
  ctx.emit({ type: 'reader', reader: view });
  return view;
}

/** The card wallet (卡包) and the reader the till uses. */
export const walletMethods = {
  listCards: method(z.object({}).strict(), (ctx) => walletEntries(ctx.ws())),

  readerState: method(z.object({}).strict(), (ctx) => readerView(ctx.ws())),

  /** Puts a wallet card in the virtual reader (a card already there is pulled out first). */
  insertCard: method(z.object({ cardId: z.string().min(1).max(64) }).strict(), async (ctx, { cardId }) => {
    ctx.readerService.assertReaderFree();
    ctx.ws().insert(cardId);
    const view = changed(ctx);
    // Returns once the till has read the card (or refused it), as a real reader's beep.
    await ctx.ws().pos.terminal.settled(20_000);
    return view;
  }),

  /** Pulls the card out at once, whatever the till is doing (拔卡). */
  removeCard: method(z.object({}).strict(), (ctx) => {
    ctx.ws().remove();
    return changed(ctx);
  }),

  /** Switches the till to a PC/SC reader by name, or back to the virtual reader (null). */
  useReader: method(
    z.object({ reader: z.string().min(1).max(200).nullable() }).strict(),
    async (ctx, { reader }) => {
      const ws = await ctx.switchWorkspace({ reader });
      return readerView(ws);
    },
  ),
};

export function requireCard(ws: Workspace, cardId: string): CardProfile {
  try {
    return ws.profile(cardId);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('NOT_FOUND', `没有这张卡：${cardId}`, `no card ${cardId}`);
  }
}
