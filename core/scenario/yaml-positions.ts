import { isMap, isNode, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * Where a field path points in the YAML source, so each issue names the file's own line and
 * column (a missing field: its parent; an unknown key: the key itself).
 */

export type Seg = string | number;

export function pathText(path: readonly Seg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

export interface Located {
  line: number;
  column: number;
  /** How much of the path exists in the file. */
  depth: number;
  /** The deepest node found is a scalar (a shorthand), not a mapping or list. */
  scalar: boolean;
}

/** Where a path points in the YAML: the deepest node of it that exists in the file. */
export function locate(doc: Document, lc: LineCounter, path: readonly Seg[], key?: string): Located {
  let node: unknown = doc.contents;
  let depth = 0;
  let pos = rangeStart(node) ?? 0;
  for (const seg of path) {
    let next: unknown = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (pair) {
        next = pair.value ?? pair.key;
        // A key without a value (`- insert:`): point at the key.
        if (!isNode(pair.value) || rangeStart(pair.value) === rangeEnd(pair.value))
          pos = rangeStart(pair.key) ?? pos;
        else pos = rangeStart(pair.value) ?? pos;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
      if (next !== undefined) pos = rangeStart(next) ?? pos;
    }
    if (next === undefined) break;
    node = next;
    depth++;
  }
  // An unknown key: point at the key itself.
  if (key !== undefined && depth === path.length && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    if (pair) pos = rangeStart(pair.key) ?? pos;
  }
  const { line, col } = lc.linePos(pos);
  return { line, column: col, depth, scalar: isScalar(node) || node === null };
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

function rangeEnd(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[1] : undefined;
}
