/**
 * 销卡销户 (R14): medical accounts first — their balances go back to the medical insurance fund
 * (the insurance office settles the personal account) — then the reserve paid out to the holder
 * in cash, and the bank takes the card back. The accounts stay in the ledger at 0.
 */
import type { PostingLine } from '../../ledger/ledger.ts';
import type { Bilingual, LifecycleEvent } from '../../../state-machines/card-lifecycle.machine.ts';
import { progressFields, unknownCard, type CounterContext } from './context.ts';
import type { CloseOk, CloseOptions, CounterResult } from './types.ts';

/**
 * 销卡销户: with a medical account, only once its closing was registered at the medical
 * insurance office; then the medical accounts first, the financial account second, and the
 * bank takes the card back.
 */
export function close(ctx: CounterContext, cardId: string, options: CloseOptions): CounterResult<CloseOk> {
  const { lifecycles, ledger } = ctx;
  const row = lifecycles.lifecycleRow(cardId);
  if (!row) return unknownCard(cardId);
  const b = ledger.balances(cardId);
  const hasMedicalAccount = b.medicalCurrent !== null || b.medicalPrior !== null;
  const event: LifecycleEvent = {
    type: 'CLOSE',
    hasMedicalAccount,
    medicalAccountClosed: options.medicalAccountClosedAtInsuranceOffice,
    crossRegion: options.crossRegion === true,
  };
  const outcome = lifecycles.run(row, event);
  if (outcome.kind !== 'moved') return lifecycles.commitRefusal(row, event, outcome);

  return ctx.tx(() => {
    const steps: Bilingual[] = [];
    let medicalPaidOutFen = 0;
    if (hasMedicalAccount) {
      const lines: PostingLine[] = [];
      for (const kind of ['medical_current', 'medical_prior'] as const) {
        const a = ledger.getAccount(cardId, kind);
        if (a && a.balanceFen > 0) {
          lines.push({ accountId: a.accountId, amountFen: -a.balanceFen });
          medicalPaidOutFen += a.balanceFen;
        }
      }
      if (lines.length > 0) {
        lines.push({
          accountId: ledger.systemAccount('medical_funding'),
          amountFen: medicalPaidOutFen,
        });
        ledger.post({
          txnId: `closing-medical:${cardId}`,
          kind: 'closing-medical',
          memo: `销户：医保个人账户清算 ${cardId}`,
          lines,
        });
      }
      steps.push({
        zh: `销医保账户（95000/95001），余额 ${yuan(medicalPaidOutFen)} 元交回医保基金清算`,
        en: `medical accounts (95000/95001) closed, ${yuan(medicalPaidOutFen)} yuan settled back to the medical insurance fund`,
      });
    }
    const reserve = ledger.getAccount(cardId, 'reserve');
    const reservePaidOutFen = reserve?.balanceFen ?? 0;
    if (reserve && reservePaidOutFen > 0) {
      ledger.post({
        txnId: `closing-reserve:${cardId}`,
        kind: 'closing-withdrawal',
        memo: `销户：备用金账户余额现金支取 ${cardId}`,
        lines: [
          { accountId: reserve.accountId, amountFen: -reservePaidOutFen },
          { accountId: ledger.systemAccount('bank_funding'), amountFen: reservePaidOutFen },
        ],
      });
    }
    steps.push({
      zh: `销金融账户（备用金），余额 ${yuan(reservePaidOutFen)} 元现金支付给持卡人`,
      en: `financial (reserve) account closed, ${yuan(reservePaidOutFen)} yuan paid out to the holder in cash`,
    });
    ledger.setCardStatus(cardId, 'closed');
    steps.push({ zh: '银行收回社保卡', en: 'the bank takes the card back' });
    lifecycles.commit(row, event, outcome, null);
    return {
      ok: true as const,
      ...progressFields(cardId, outcome.snapshot),
      hadMedicalAccount: hasMedicalAccount,
      medicalPaidOutFen,
      reservePaidOutFen,
      steps,
    };
  });
}

function yuan(fen: number): string {
  return (fen / 100).toFixed(2);
}
