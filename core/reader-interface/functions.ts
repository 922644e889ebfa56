/**
 * The functions of the standard reader interface SSCard Lab offers, with their parameters by
 * their C names, in the order of the C signature (docs/reader-interface.md). The C library and
 * the local service are generated from / checked against this table: every input is an `int`
 * or a `string` (`char *`); every function writes `pOutInfo` except where `outputs` says
 * otherwise (iGetCardType writes pCardType too; iGetReaderInfo writes pReaderSN and
 * pPsamTermNo and has no pOutInfo).
 */
export type ParamKind = 'int' | 'string';

export interface FunctionSpec {
  readonly name: string;
  /** Input parameters in C order, by C name. */
  readonly params: readonly { readonly name: string; readonly kind: ParamKind }[];
  /** Output buffers in C order (after the inputs). */
  readonly outputs: readonly string[];
  /** Whether the holder is asked for a PIN on the PIN pad. */
  readonly takesPin: boolean;
}

const int = (name: string) => ({ name, kind: 'int' as const });
const str = (name: string) => ({ name, kind: 'string' as const });
const OUT = ['pOutInfo'] as const;

function fn(
  name: string,
  params: FunctionSpec['params'],
  options: { outputs?: readonly string[]; takesPin?: boolean } = {},
): FunctionSpec {
  return { name, params, outputs: options.outputs ?? OUT, takesPin: options.takesPin ?? false };
}

export const READER_FUNCTION_SPECS: readonly FunctionSpec[] = [
  fn('iReadCardBas', [int('iType')]),
  fn('iReadCardBas_HSM_Step1', [int('iType')]),
  fn('iReadCardBas_HSM_Step2', [str('pKey')]),
  fn('iReadCard', [int('iType'), int('iAuthType'), str('pCardInfo'), str('pFileAddr')]),
  fn('iReadCard_HSM_Step1', [int('iType'), str('pCardInfo'), str('pFileAddr')]),
  fn('iReadCard_HSM_Step2', [str('pKey')]),
  fn('iVerifyPIN', [int('iType')], { takesPin: true }),
  fn('iChangePIN', [int('iType')], { takesPin: true }),
  fn('iReloadPIN', [int('iType'), str('pCardInfo')], { takesPin: true }),
  fn('iReloadPIN_HSM_Step1', [int('iType'), str('pCardInfo')], { takesPin: true }),
  fn('iReloadPIN_HSM_Step2', [str('pKey')]),
  fn('iUnblockPIN', [int('iType'), str('pCardInfo')]),
  fn('iUnblockPIN_HSM_Step1', [int('iType'), str('pCardInfo')]),
  fn('iUnblockPIN_HSM_Step2', [str('pKey')]),
  fn('iDoDebit', [int('iType'), str('pCardInfo'), str('pPayInfo')], { takesPin: true }),
  fn('iReadDebitRecord', [int('iType')]),
  fn('iGetCardType', [], { outputs: ['pCardType', 'pOutInfo'] }),
  fn('iGetReaderInfo', [], { outputs: ['pReaderSN', 'pPsamTermNo'] }),
];

/** The function names, in table order. */
export const READER_FUNCTIONS: readonly string[] = READER_FUNCTION_SPECS.map((f) => f.name);

const BY_NAME = new Map(READER_FUNCTION_SPECS.map((f) => [f.name, f]));

export function functionSpec(name: string): FunctionSpec | undefined {
  return BY_NAME.get(name);
}

/** Each function's input parameter names, for generators and checks: { iReadCard: ['iType', …] }. */
export const READER_FUNCTION_PARAMS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  READER_FUNCTION_SPECS.map((f) => [f.name, f.params.map((p) => p.name)]),
);
