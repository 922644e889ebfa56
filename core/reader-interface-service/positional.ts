import { functionSpec } from '../reader-interface/index.ts';
import type { DriverCallRequest, DriverCallResult } from './server.ts';

/**
 * The other shape vendors' local services speak (Decard's, for one): the inputs by position
 * as strings, the outputs by position —
 *   {"func":"iReadCardBas","in":["3"]}  →  {"result":"0","out":["<pOutInfo>"]}
 * `result` is the return code ("0" on success, as those front ends parseInt it); `out` the
 * function's output buffers in C order (iGetReaderInfo: pReaderSN, pPsamTermNo).
 */
export function isPositional(body: Record<string, unknown>): boolean {
  return 'func' in body && !('function' in body);
}

/** The named request, or why the positional one is malformed. */
export function positionalRequest(body: Record<string, unknown>): DriverCallRequest | string {
  const name = body.func;
  if (typeof name !== 'string' || name === '')
    return 'func must name the function: {"func":"iReadCardBas","in":["3"]}';
  const given = body.in ?? [];
  if (!Array.isArray(given)) return `in must be an array of the inputs of ${name.slice(0, 64)} in C order`;
  const spec = functionSpec(name);
  // An unknown function goes to the interface, which answers -13 for it.
  if (!spec) return { function: name };
  if (given.length > spec.params.length)
    return `${name} takes ${spec.params.length} input(s) (${spec.params.map((p) => p.name).join(', ') || 'none'}), not ${given.length}`;
  const request: DriverCallRequest = { function: name };
  spec.params.forEach((p, i) => {
    if (i < given.length) request[p.name] = given[i];
  });
  return request;
}

export function positionalAnswer(r: DriverCallResult): { result: string; out: string[] } {
  const spec = functionSpec(r.functionName);
  const names = spec ? spec.outputs : ['pOutInfo'];
  const out = names.map((n) => {
    const v = n === 'pOutInfo' ? r.pOutInfo : r[n];
    return typeof v === 'string' ? v : '';
  });
  return { result: String(r.code), out };
}
