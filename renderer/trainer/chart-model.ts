import type { AnyStateMachine } from 'xstate';
import type { TillView } from '../../core/api/events.ts';
import type { Bi } from '../apdu-decode.ts';

/**
 * A drawable picture of a state machine, read from its definition (`machine.root.states`,
 * transitions, `always`, invoke onDone/onError): columns by distance from the initial state,
 * final states in the last column, compound states as a frame around their children.
 * Pure: the state chart component draws it as SVG.
 */

export interface ChartNode {
  /** Path from the root, dot-separated: 'idle', 'session.gen3', 'awaitingPin'. */
  id: string;
  /** The state's own key: what `state-<name>` test ids and the highlight use. */
  name: string;
  kind: 'atomic' | 'final' | 'compound';
  parent: string | null;
  col: number;
  row: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ChartEdge {
  from: string;
  to: string;
  /** Readable event names: 'PIN_ENTERED', 'done: verifyPin', 'always'. */
  events: string[];
}

export interface ChartModel {
  id: string;
  nodes: ChartNode[];
  groups: ChartNode[];
  edges: ChartEdge[];
  width: number;
  height: number;
}

export const NODE_W = 120;
export const NODE_H = 46;
const COL_W = 152;
const ROW_H = 64;
const PAD_X = 16;
const PAD_TOP = 40;
const PAD_BOTTOM = 40;
const GROUP_PAD = 10;
const GROUP_LABEL = 22;

interface StateNodeLike {
  key: string;
  type: string;
  path: string[];
  states: Record<string, StateNodeLike>;
  transitions: Map<string, { target?: readonly StateNodeLike[] | undefined }[]>;
  always?: { target?: readonly StateNodeLike[] | undefined }[];
  initial?: { target: readonly StateNodeLike[] };
}

/** 'xstate.done.actor.verifyPin' → 'done: verifyPin'. */
export function eventLabel(type: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(type);
  if (done) return `done: ${done[1]}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(type);
  if (error) return `error: ${error[1]}`;
  return type;
}

const pathId = (n: StateNodeLike) => n.path.join('.');

/** The leaf a transition into `n` ends in (a compound state enters its initial child). */
function leafOf(n: StateNodeLike): StateNodeLike {
  let cur = n;
  while (cur.type === 'compound' && cur.initial?.target[0]) cur = cur.initial.target[0];
  return cur;
}

export function chartModel(machine: AnyStateMachine): ChartModel {
  const root = machine.root as unknown as StateNodeLike;
  const all: StateNodeLike[] = [];
  const walk = (n: StateNodeLike) => {
    for (const child of Object.values(n.states)) {
      all.push(child);
      walk(child);
    }
  };
  walk(root);
  const leaves = all.filter((n) => n.type !== 'compound');
  const compounds = all.filter((n) => n.type === 'compound');

  // Edges, merged per (from, to), with every event that takes that way.
  const edgeMap = new Map<string, ChartEdge>();
  for (const n of all) {
    const add = (event: string, targets: readonly StateNodeLike[] | undefined) => {
      for (const t of targets ?? []) {
        const to = pathId(leafOf(t));
        const from = pathId(n);
        if (to === from && n.type === 'compound') continue;
        const key = `${from}→${to}`;
        const e = edgeMap.get(key) ?? { from, to, events: [] };
        const label = eventLabel(event);
        if (!e.events.includes(label)) e.events.push(label);
        edgeMap.set(key, e);
      }
    };
    for (const [event, ts] of n.transitions) for (const t of ts) add(event, t.target);
    for (const t of n.always ?? []) add('always', t.target);
  }
  const edges = [...edgeMap.values()];

  // Columns: breadth-first distance from the initial leaf; a compound's edges leave from each child.
  const parentOf = new Map<string, string | null>();
  for (const n of all) parentOf.set(pathId(n), n.path.length > 1 ? n.path.slice(0, -1).join('.') : null);
  const outOf = (id: string): string[] => {
    const ids = [id];
    for (let p = parentOf.get(id); p; p = parentOf.get(p)) ids.push(p);
    return edges.filter((e) => ids.includes(e.from)).map((e) => e.to);
  };
  const start = root.initial?.target[0] ? pathId(leafOf(root.initial.target[0])) : pathId(leaves[0]!);
  const depth = new Map<string, number>([[start, 0]]);
  const queue = [start];
  while (queue.length) {
    const id = queue.shift()!;
    for (const to of outOf(id)) {
      if (depth.has(to)) continue;
      const target = leaves.find((l) => pathId(l) === to);
      if (target?.type === 'final') continue;
      depth.set(to, depth.get(id)! + 1);
      queue.push(to);
    }
  }
  const maxDepth = Math.max(0, ...depth.values());
  const colOf = (l: StateNodeLike) =>
    l.type === 'final' || !depth.has(pathId(l)) ? maxDepth + 1 : depth.get(pathId(l))!;
  const lastCol = Math.max(...leaves.map(colOf));

  // Rows: per column in definition order; the members of a compound state sit together below
  // the others of the columns it spans, so its frame encloses only them.
  const groupOf = (l: StateNodeLike) => (l.path.length > 1 ? l.path.slice(0, -1).join('.') : null);
  const rows = new Map<string, number>();
  const groupTop = new Map<string, number>();
  for (const g of compounds) {
    const members = leaves.filter((l) => groupOf(l) === pathId(g));
    const cols = new Set(members.map(colOf));
    const others = (c: number) => leaves.filter((l) => colOf(l) === c && groupOf(l) === null).length;
    groupTop.set(pathId(g), Math.max(0, ...[...cols].map(others)));
  }
  for (let c = 0; c <= lastCol; c++) {
    const inCol = leaves.filter((l) => colOf(l) === c);
    let r = 0;
    for (const l of inCol.filter((x) => groupOf(x) === null)) rows.set(pathId(l), r++);
    const byGroup = new Map<string, StateNodeLike[]>();
    for (const l of inCol.filter((x) => groupOf(x) !== null)) {
      const g = groupOf(l)!;
      byGroup.set(g, [...(byGroup.get(g) ?? []), l]);
    }
    for (const [g, members] of byGroup) {
      let gr = groupTop.get(g) ?? r;
      for (const l of members) rows.set(pathId(l), gr++);
    }
  }
  // Flat machines: centre each column on the tallest.
  const maxRows = Math.max(...[...rows.values()].map((r) => r + 1));
  const centred = compounds.length === 0;
  const colCount = (c: number) => leaves.filter((l) => colOf(l) === c).length;
  const hasGroups = compounds.length > 0;
  const rowOffset = hasGroups ? GROUP_LABEL : 0;

  const nodes: ChartNode[] = leaves.map((l) => {
    const col = colOf(l);
    const row = rows.get(pathId(l)) ?? 0;
    const shift = centred ? ((maxRows - colCount(col)) * ROW_H) / 2 : 0;
    const inGroup = groupOf(l) !== null;
    return {
      id: pathId(l),
      name: l.key,
      kind: l.type === 'final' ? 'final' : 'atomic',
      parent: groupOf(l),
      col,
      row,
      x: PAD_X + col * COL_W,
      y: PAD_TOP + row * ROW_H + shift + (inGroup ? rowOffset : 0),
      w: NODE_W,
      h: NODE_H,
    };
  });

  const groups: ChartNode[] = compounds.map((g) => {
    const members = nodes.filter((n) => n.parent === pathId(g));
    const x0 = Math.min(...members.map((m) => m.x)) - GROUP_PAD;
    const y0 = Math.min(...members.map((m) => m.y)) - GROUP_PAD - GROUP_LABEL;
    const x1 = Math.max(...members.map((m) => m.x + m.w)) + GROUP_PAD;
    const y1 = Math.max(...members.map((m) => m.y + m.h)) + GROUP_PAD;
    return {
      id: pathId(g),
      name: g.key,
      kind: 'compound',
      parent: g.path.length > 1 ? g.path.slice(0, -1).join('.') : null,
      col: Math.min(...members.map((m) => m.col)),
      row: Math.min(...members.map((m) => m.row)),
      x: x0,
      y: y0,
      w: x1 - x0,
      h: y1 - y0,
    };
  });

  const width = PAD_X * 2 + lastCol * COL_W + NODE_W;
  const bottom = Math.max(...nodes.map((n) => n.y + n.h), ...groups.map((g) => g.y + g.h));
  return { id: machine.id, nodes, groups, edges, width, height: bottom + PAD_BOTTOM };
}

/** Bilingual captions of the states, under their names. */
export const STATE_LABELS: Record<string, Bi> = {
  idle: { zh: '空闲，等待插卡', en: 'waiting for a card' },
  readingCard: { zh: '读卡中', en: 'reading the card' },
  refused: { zh: '拒绝此卡', en: 'card refused' },
  session: { zh: '交易会话', en: 'session' },
  dispatch: { zh: '按代别分派', en: 'by generation' },
  gen1: { zh: '一代卡会话', en: 'gen 1 session' },
  gen2: { zh: '二代卡会话', en: 'gen 2 session' },
  gen3: { zh: '三代卡会话', en: 'gen 3 session' },
  ended: { zh: '会话结束', en: 'session over' },
  removeCard: { zh: '请取卡', en: 'remove the card' },
  holder: { zh: '输入金额', en: 'amount' },
  authenticating: { zh: 'PSAM 认证', en: 'PSAM authentication' },
  awaitingPin: { zh: '等待社保卡密码', en: 'waiting for the PIN' },
  verifyingPin: { zh: '卡片校验密码', en: 'card checks the PIN' },
  awaitingPinAgain: { zh: '密码错，重输', en: 'wrong PIN, again' },
  awaitingPassword: { zh: '等待交易密码', en: 'waiting for password' },
  verifyingPassword: { zh: '银行验交易密码', en: 'bank checks password' },
  awaitingPasswordAgain: { zh: '交易密码错，重输', en: 'wrong password, again' },
  paying: { zh: '扣款中', en: 'debiting' },
  reversing: { zh: '冲正中', en: 'reversing' },
  paid: { zh: '已支付', en: 'paid' },
  declined: { zh: '已拒绝', en: 'declined' },
  cancelled: { zh: '已取消', en: 'cancelled' },
  pulled: { zh: '卡被拔出', en: 'card pulled' },
  reversed: { zh: '已冲正', en: 'reversed' },
};

/** Which states are current, by chart: the names to highlight, from the till's view. */
export function activeStates(till: TillView | null): { terminal: string[]; session: string[] } {
  if (!till) return { terminal: ['idle'], session: [] };
  const terminal = [till.terminalState];
  // 'session.gen3/awaitingPin': the terminal's session child is gen3.
  const child = /^session\.([^/]+)/.exec(till.state)?.[1];
  if (child) terminal.push(child);
  return { terminal, session: till.sessionState ? [till.sessionState] : [] };
}
