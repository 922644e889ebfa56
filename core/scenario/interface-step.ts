import { CounterPinKey } from '../card/psam.ts';
import { READER_FUNCTION_PARAMS } from '../reader-interface/functions.ts';
import {
  createReaderInterface,
  type ReaderInterface,
  type ReaderInterfaceResult,
} from '../reader-interface/interface.ts';
import { outputField } from '../reader-interface/output-fields.ts';
import { VirtualPinPad } from '../reader-interface/pin-pad.ts';
import type { InterfaceStep, ReaderInterfaceHeader } from './interface-step-schema.ts';
import type { ExpectationFailure } from './expect.ts';
import type { ScenarioWorld } from './world.ts';

/**
 * Runs the `interface` step (its format and an example: interface-step-schema.ts): calls a
 * function of the standard reader interface (core/reader-interface) on the scenario's reader,
 * till and host, with the PIN pad entries it lists, and checks its return code and named
 * output fields. The steps of one run share one session (its HSM Step 1 state, the last card
 * information read).
 */
interface Session {
  ri: ReaderInterface;
  pad: VirtualPinPad;
  cardInfo: string | null;
  step1: string | null;
}

const sessions = new WeakMap<ScenarioWorld, Session>();

function sessionOf(w: ScenarioWorld, header: ReaderInterfaceHeader | undefined): Session {
  let s = sessions.get(w);
  if (!s) {
    const pad = new VirtualPinPad({ timeoutMs: header?.pinTimeoutMs ?? 2_000 });
    const { medicalOrder, shortfall } = w.scenario.settings;
    const host = w.faults.host;
    const ri = createReaderInterface({
      reader: w.faults.reader,
      pinPad: pad,
      till: { pos: w.pos, medicalOrder, shortfall, ...(host ? { host } : {}) },
      clock: w.clock,
      ...(header?.counterKey ? { counterKey: new CounterPinKey() } : {}),
      ...(header?.settings ? { settings: header.settings } : {}),
    });
    s = { ri, pad, cardInfo: null, step1: null };
    sessions.set(w, s);
  }
  return s;
}

/** Runs one interface step; what does not match comes back as failures under `interface.…`. */
export async function runInterfaceStep(
  w: ScenarioWorld,
  step: InterfaceStep,
  header: ReaderInterfaceHeader | undefined,
  notes: string[],
): Promise<ExpectationFailure[]> {
  const s = sessionOf(w, header);
  const request: Record<string, unknown> = { function: step.call, ...step.with };
  if (request.pCardInfo === 'card') {
    if (s.cardInfo === null) throw new Error('pCardInfo: card, but no iReadCardBas has succeeded yet');
    request.pCardInfo = s.cardInfo;
  }
  if (request.pKey === 'centre') {
    if (s.step1 === null) throw new Error('pKey: centre, but no HSM Step 1 has succeeded yet');
    const a = s.ri.cardManagement.authenticate(s.step1);
    if (!('pKey' in a))
      throw new Error(`the card-management centre refused Step 1: ${a.message} (${a.code})`);
    request.pKey = a.pKey;
  }
  for (const k of ['iType', 'iAuthType'] as const)
    if (request[k] === undefined && (READER_FUNCTION_PARAMS[step.call] ?? []).includes(k))
      request[k] = k === 'iType' ? 1 : 0;
  s.pad.clear();
  if (step.pins.length) s.pad.enter(...step.pins);
  const r = await s.ri.call(request);
  remember(s, r);
  notes.push(
    `${r.functionName} → ${r.code}${r.pOutInfo ? ` ${r.pOutInfo}` : ''}${r.detail ? ` (${r.detail})` : ''}`,
  );
  return check(step, r);
}

function remember(s: Session, r: ReaderInterfaceResult): void {
  if (r.code !== 0) return;
  if (r.functionName === 'iReadCardBas' || r.functionName === 'iReadCardBas_HSM_Step2')
    s.cardInfo = r.pOutInfo;
  if (r.functionName.endsWith('_HSM_Step1')) s.step1 = r.pOutInfo;
}

function check(step: InterfaceStep, r: ReaderInterfaceResult): ExpectationFailure[] {
  const e = step.expect ?? { code: 0 };
  const failures: ExpectationFailure[] = [];
  const same = (field: string, expected: string, actual: string | null) => {
    if (expected !== actual)
      failures.push({ field: `interface.${field}`, expected, actual: actual ?? 'nothing' });
  };
  if (e.code !== undefined) same('code', String(e.code), String(r.code));
  if (e.outInfo !== undefined) same('outInfo', e.outInfo, r.pOutInfo);
  for (const [k, v] of Object.entries(e.fields ?? {}))
    same(`fields.${k}`, v, outputField(r.functionName, r.pOutInfo, k));
  for (const [k, v] of Object.entries(e.outputs ?? {})) same(`outputs.${k}`, v, r.outputs?.[k] ?? null);
  if (e.triesLeft !== undefined) same('triesLeft', String(e.triesLeft), r.pOutInfo.split('|')[0] ?? null);
  return failures;
}
