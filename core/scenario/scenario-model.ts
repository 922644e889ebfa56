import type { CardProfile } from '../card/profile.ts';
import type { MedicalOrder, PaymentMethod, ShortfallPolicy } from '../host/types.ts';
import type { CrashPointName, Expectations } from './schema.ts';
import type { ScenarioIssue } from './scenario-issues.ts';
import type { InterfaceStep, ReaderInterfaceHeader } from './interface-step-schema.ts';

/**
 * A scenario as the engine runs it: every card resolved to its profile, every amount in fen,
 * each step one variant of StepBody. What the loader makes of a file that passed the schema.
 */

/** A card the scenario uses, resolved to its profile. */
export interface ScenarioCard {
  /** How the scenario names it: a bundled id, a file, or the inline profile's id. */
  ref: string;
  profile: CardProfile;
}

export type CounterStep =
  | { action: 'change-pin'; old: string; new: string }
  | { action: 'unblock' }
  | { action: 'report-loss'; crossRegion: boolean }
  | { action: 'release-loss'; crossRegion: boolean }
  | { action: 'activate'; newPin: string; password: string };

export type FaultStep =
  | { type: 'remove-card-at-apdu'; n: number }
  | { type: 'remove-card-in-state'; state: string }
  | { type: 'detach-reader-at-apdu'; n: number }
  | { type: 'corrupt-record'; file: 'EF05' | 'EF06'; record: number; mode: 'flip' | 'truncate' | 'garbage' }
  | { type: 'none' }
  | { type: 'reattach' };

export type StepBody =
  | { kind: 'insert'; card: ScenarioCard | null }
  | { kind: 'remove' }
  | { kind: 'amount'; fen: number; yuan: string; method: PaymentMethod }
  | { kind: 'pin'; value: string }
  | { kind: 'password'; value: string }
  | { kind: 'cancel' }
  | { kind: 'timeout' }
  | { kind: 'host'; to: 'up' | 'down' | 'slow' | 'error' | 'drop-after-apply' }
  | { kind: 'clock'; set: string | null; advanceMs: number | null }
  | { kind: 'counter'; counter: CounterStep; card: ScenarioCard | null }
  | { kind: 'sync' }
  | { kind: 'settle'; date: string | null }
  | { kind: 'reconcile'; date: string | null }
  | { kind: 'refund'; fen: number; yuan: string; payment: string }
  | { kind: 'fault'; fault: FaultStep }
  | { kind: 'crash'; point: CrashPointName; after: number }
  | { kind: 'expect'; expect: Expectations; balancesCard: ScenarioCard | null }
  | { kind: 'interface'; call: InterfaceStep };

export type Step = StepBody & {
  /** Position in the file's step list, from 0. */
  index: number;
  line: number;
  /** The step as written, on one line, for logs: `amount: 12.50 medical`. */
  text: string;
};

export interface Scenario {
  file: string;
  name: string;
  description: string;
  rules: string[];
  card: ScenarioCard | null;
  reader: { kind: 'virtual' } | { kind: 'pcsc'; name: string };
  host: { link: 'up' | 'down' | 'slow'; timeoutMs: number };
  settings: { medicalOrder: MedicalOrder; shortfall: ShortfallPolicy };
  /** The start instant, ISO UTC. */
  start: string;
  stepTimeoutMs: number;
  /** The `readerInterface:` header block; undefined: the defaults. */
  readerInterface?: ReaderInterfaceHeader;
  steps: Step[];
}

export type LoadResult =
  { ok: true; scenario: Scenario } | { ok: false; file: string; issues: ScenarioIssue[] };
