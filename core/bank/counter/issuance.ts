/**
 * Intake and issuance (R10.1 steps 3–6, R10.2): accepting an application, creating its card and
 * lifecycle, and following the card through normal production or instant printing until it is
 * at the outlet. The card is created in the ledger at intake so its numbers are on the receipt
 * and its progress can be queried by card id.
 */
import { ProfileError, type CardProfile } from '../../card/profile.ts';
import { ssnFromDocument } from '../../rules/ssn-from-document.ts';
import { businessDate } from '../../time.ts';
import type { LifecycleEvent } from '../../../state-machines/card-lifecycle.machine.ts';
import { holderFromApplication, makeCardProfile, nextSequence, type HolderFields } from '../card-factory.ts';
import type { Application } from '../types.ts';
import { no, progressFields, unknownCard, type CounterBooks, type CounterContext } from './context.ts';
import { applicationReceipt } from './receipts.ts';
import type {
  AdvanceEvent,
  ApplyOk,
  CardProgress,
  CounterResult,
  IssuanceEvent,
  ProgressOk,
} from './types.ts';

/** Creates the card's profile and imports it into the ledger (PIN hashed, reserve at 0). */
export function issueCard(
  ctx: CounterBooks,
  holder: HolderFields,
  photo: boolean,
  issueDate: string,
): CardProfile {
  const profile = makeCardProfile(ctx.db, { holder, photo, areaCode: ctx.branch.areaCode, issueDate });
  ctx.store.open(profile);
  return profile;
}

/**
 * R10.1 steps 3–4: stores the (already validated) application, creates the card (gen 3,
 * not activated) and its lifecycle, submits it for normal or instant issuance, and returns
 * the receipt (申领回执).
 */
export function apply(
  ctx: CounterContext,
  app: Application,
  mode: 'normal' | 'instant',
): CounterResult<ApplyOk> {
  let ssn = app.ssn;
  if (!ssn) {
    const derived = ssnFromDocument({ country: app.nationality, docType: app.docType, doc: app.docNumber });
    if (!derived.ok) return no(derived.reason);
    ssn = derived.ssn;
  }
  const at = ctx.clock();
  const today = businessDate(at);
  const holder = holderFromApplication(app, ssn, ctx.branch.areaCode);
  try {
    return ctx.tx(() => {
      const applicationId = `SQ${today.replaceAll('-', '')}${String(nextSequence(ctx.db, 'application')).padStart(6, '0')}`;
      const profile = issueCard(ctx, holder, app.photo !== null, today);
      const cardId = profile.card.number;
      const accountType = app.nationality === 'CHN' ? 'class-1' : 'special-class-1';
      ctx.db
        .prepare(
          `INSERT INTO bank_applications (id, ssn, name, channel, mode, account_type, status, branch_id, card_id,
                                          created_at, updated_at, application_json)
           VALUES (?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?)`,
        )
        .run(
          applicationId,
          ssn,
          app.name,
          app.channel,
          mode,
          accountType,
          ctx.branch.id,
          cardId,
          at.toISOString(),
          at.toISOString(),
          JSON.stringify({ ...app, ssn, photo: app.photo ? { jpegBytes: app.photo.length } : null }),
        );
      const snapshot = ctx.lifecycles.startLifecycle(cardId, mode, { applicationId, replaces: null });
      const progress = progressFields(cardId, snapshot);
      const receipt = applicationReceipt(ctx.branch, {
        applicationId,
        name: app.name,
        ssn,
        cardId,
        profile,
        mode,
        accountType,
        channel: app.channel,
        progress,
        at,
      });
      return { ok: true as const, applicationId, cardId, progress, receipt };
    });
  } catch (e) {
    if (e instanceof ProfileError) {
      return {
        ok: false,
        rule: 'R9',
        zh: `申领资料不能用于制卡：${e.message}`,
        en: `the application's data cannot go on a card: ${e.message}`,
      };
    }
    throw e;
  }
}

/**
 * R10.1 steps 5–6 and instant printing: PRODUCTION_DONE, PRODUCTION_FAILED (with the vendor's
 * reason), RESUBMIT, CITY_BRANCH_RECEIVED, OUTLET_RECEIVED, PRINTED_BUT_PENDING.
 */
export function advance(
  ctx: CounterContext,
  cardId: string,
  event: AdvanceEvent,
): CounterResult<CardProgress> {
  const e: IssuanceEvent = typeof event === 'string' ? ({ type: event } as IssuanceEvent) : event;
  return ctx.lifecycles.simpleStep(cardId, e);
}

/** R10.1 step 5: the outlet's progress query, with a failed production's reason. */
export function progress(ctx: CounterContext, cardId: string): CounterResult<ProgressOk> {
  const snapshot = ctx.lifecycles.snapshotOf(cardId);
  if (!snapshot) return unknownCard(cardId);
  const c = snapshot.context;
  const last = c.lastRefusal;
  return {
    ok: true,
    ...progressFields(cardId, snapshot),
    productionAttempts: c.productionAttempts,
    productionFailure: c.productionFailure,
    lastRefusal: last ? { rule: last.rule, zh: last.zh, en: last.en } : null,
  };
}

/**
 * Instant issuance (R10.2): the printer finished. 'registered' — 省卡系统 registered the card
 * (PRODUCTION_DONE); 'pending' — the card face printed but the system still says 制卡中
 * (PRINTED_BUT_PENDING, a network failure).
 */
export function printInstant(
  ctx: CounterContext,
  cardId: string,
  outcome: 'registered' | 'pending',
): CounterResult<CardProgress> {
  return ctx.lifecycles.simpleStep(cardId, {
    type: outcome === 'registered' ? 'PRODUCTION_DONE' : 'PRINTED_BUT_PENDING',
  });
}

/** R10.2: 预制管理-新即时制卡-制卡补登, with the card back in the printer. */
export function makeUpRegistration(ctx: CounterContext, cardId: string): CounterResult<CardProgress> {
  return ctx.lifecycles.simpleStep(cardId, { type: 'MAKE_UP_REGISTRATION' });
}

/**
 * R10.2: the teller checks the card's state in 省卡系统 before the holder leaves. By default
 * the state is what the books say: the card is in the ledger, not activated (normal, 正常).
 * `{ normal: false }` is the check finding the system still says 制卡中: the card goes back
 * to printedButPending and needs 制卡补登.
 */
export function verifyNormalState(
  ctx: CounterContext,
  cardId: string,
  observed: { normal?: boolean },
): CounterResult<CardProgress> {
  const normal = observed.normal ?? ctx.ledger.getCard(cardId)?.status === 'not-activated';
  const event: LifecycleEvent = { type: 'VERIFY_NORMAL_STATE', normal };
  return ctx.lifecycles.simpleStep(cardId, event);
}
