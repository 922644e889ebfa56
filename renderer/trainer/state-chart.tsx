import { useMemo } from 'react';
import type { AnyStateMachine } from 'xstate';
import type { TillView } from '../../core/api/events.ts';
import { terminalMachine } from '../../state-machines/terminal.machine.ts';
import { gen1Machine } from '../../state-machines/gen1.machine.ts';
import { gen2Machine } from '../../state-machines/gen2.machine.ts';
import { gen3Machine } from '../../state-machines/gen3.machine.ts';
import { useI18n } from '../i18n.tsx';
import { STATE_LABELS, activeStates, chartModel, type ChartModel, type ChartNode } from './chart-model.ts';
import './state-chart.css';

/**
 * The live state chart of trainer mode: the terminal machine and the generation machine of
 * the card in the till, drawn from the machines' own definitions, with the current states
 * highlighted from the till's view (terminalState, the session's generation and state).
 */

const MACHINES: Record<1 | 2 | 3, AnyStateMachine> = { 1: gen1Machine, 2: gen2Machine, 3: gen3Machine };
const models = new Map<string, ChartModel>();
function modelOf(m: AnyStateMachine): ChartModel {
  let c = models.get(m.id);
  if (!c) {
    c = chartModel(m);
    models.set(m.id, c);
  }
  return c;
}

function edgePath(a: ChartNode, b: ChartNode): string {
  const ay = a.y + a.h / 2;
  const by = b.y + b.h / 2;
  if (b.col > a.col) {
    const x1 = a.x + a.w;
    const x2 = b.x;
    const dx = Math.max(30, (x2 - x1) / 2);
    return `M${x1},${ay} C${x1 + dx},${ay} ${x2 - dx},${by} ${x2},${by}`;
  }
  if (b.col === a.col) {
    const x = a.x + a.w;
    const bulge = 26 + Math.abs(by - ay) / 6;
    return `M${x},${ay} C${x + bulge},${ay} ${x + bulge},${by} ${x},${by}`;
  }
  // Back to an earlier column: over the top.
  const x1 = a.x + a.w / 2;
  const x2 = b.x + b.w / 2;
  const top = Math.min(a.y, b.y) - 18 - Math.min(14, (a.col - b.col) * 3);
  return `M${x1},${a.y} C${x1},${top} ${x2},${top} ${x2},${b.y}`;
}

function Chart({
  model,
  title,
  active,
  last,
}: {
  model: ChartModel;
  title: string;
  active: string[];
  last: string | null;
}) {
  const { lang } = useI18n();
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const activeIds = new Set(
    [...model.nodes, ...model.groups].filter((n) => active.includes(n.name)).map((n) => n.id),
  );
  const marker = `arrow-${model.id}`;
  const markerOn = `arrow-on-${model.id}`;
  const edges = model.edges
    .map((e) => ({ e, a: byId.get(e.from), b: byId.get(e.to) }))
    .filter((x): x is { e: (typeof model.edges)[number]; a: ChartNode; b: ChartNode } => Boolean(x.a && x.b));
  const isOn = (from: string) => activeIds.has(from) && model.nodes.some((n) => n.id === from);
  return (
    <figure className="chart" data-testid={`chart-${model.id}`}>
      <figcaption>{title}</figcaption>
      <svg
        viewBox={`0 0 ${model.width} ${model.height}`}
        width="100%"
        style={{ maxWidth: model.width }}
        role="img"
        aria-label={title}
      >
        <defs>
          {[marker, markerOn].map((id) => (
            <marker
              key={id}
              id={id}
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto-start-reverse"
            >
              <path d="M0,0 L10,5 L0,10 z" className={id === markerOn ? 'arrow-on' : 'arrow'} />
            </marker>
          ))}
        </defs>
        {model.groups.map((g) => (
          <g
            key={g.id}
            data-testid={`state-${g.name}`}
            data-active={activeIds.has(g.id) ? 'true' : 'false'}
            className={activeIds.has(g.id) ? 'chart-group active' : 'chart-group'}
          >
            <rect x={g.x} y={g.y} width={g.w} height={g.h} rx={12} />
            <text x={g.x + 10} y={g.y + 16} className="group-name">
              {g.name} · {STATE_LABELS[g.name]?.[lang] ?? ''}
            </text>
          </g>
        ))}
        {edges
          .filter((x) => !isOn(x.e.from))
          .map(({ e, a, b }) => (
            <path key={`${e.from}-${e.to}`} d={edgePath(a, b)} className="edge" markerEnd={`url(#${marker})`}>
              <title>{e.events.join(', ')}</title>
            </path>
          ))}
        {edges
          .filter((x) => isOn(x.e.from))
          .map(({ e, a, b }) => (
            <path
              key={`${e.from}-${e.to}`}
              d={edgePath(a, b)}
              className="edge edge-on"
              markerEnd={`url(#${markerOn})`}
            >
              <title>{e.events.join(', ')}</title>
            </path>
          ))}
        {model.nodes.map((n) => {
          const on = activeIds.has(n.id);
          const wasLast = !on && last === n.name;
          const label = STATE_LABELS[n.name]?.[lang] ?? '';
          const long = n.name.length > 16;
          return (
            <g
              key={n.id}
              data-testid={`state-${n.name}`}
              data-active={on ? 'true' : 'false'}
              data-last={wasLast ? 'true' : undefined}
              className={`chart-node ${n.kind}${on ? ' active' : ''}${wasLast ? ' last' : ''}`}
            >
              <rect x={n.x} y={n.y} width={n.w} height={n.h} rx={n.kind === 'final' ? 20 : 8} />
              {n.kind === 'final' && (
                <rect x={n.x + 3} y={n.y + 3} width={n.w - 6} height={n.h - 6} rx={17} className="inner" />
              )}
              <text
                x={n.x + n.w / 2}
                y={n.y + 19}
                className="node-name"
                {...(long ? { textLength: n.w - 12, lengthAdjust: 'spacingAndGlyphs' } : {})}
              >
                {n.name}
              </text>
              <text x={n.x + n.w / 2} y={n.y + 36} className="node-label">
                {label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** The events the current state accepts, and where each leads. */
function NextEvents({ model, state }: { model: ChartModel; state: string | null }) {
  const { t } = useI18n();
  if (!state) return null;
  const node = model.nodes.find((n) => n.name === state);
  if (!node) return null;
  const out = model.edges.filter((e) => e.from === node.id);
  if (!out.length)
    return (
      <p className="chart-next muted" data-testid="chart-next">
        {t(`${state} 是终态：会话在此结束。`, `${state} is final: the session ends here.`)}
      </p>
    );
  const name = (id: string) => model.nodes.find((n) => n.id === id)?.name ?? id;
  return (
    <p className="chart-next" data-testid="chart-next">
      <span className="muted">{t(`${state} 接受的事件：`, `${state} accepts: `)}</span>
      {out.map((e) => (
        <span key={e.to} className="next-event">
          <code>{e.events.join(' | ')}</code> → {name(e.to)}
        </span>
      ))}
    </p>
  );
}

export function StateChart({ till, gen }: { till: TillView | null; gen: 1 | 2 | 3 }) {
  const { t } = useI18n();
  const shownGen = (till?.generation ?? gen) as 1 | 2 | 3;
  const terminal = useMemo(() => modelOf(terminalMachine), []);
  const session = useMemo(() => modelOf(MACHINES[shownGen]), [shownGen]);
  const active = activeStates(till);
  // The session just ended (the till asks for the card back): mark where it ended.
  const last =
    till && till.terminalState === 'removeCard' && till.last && till.generation === shownGen
      ? till.last.result
      : null;
  const genTitle = { 1: t('一代卡', 'Gen 1'), 2: t('二代卡', 'Gen 2'), 3: t('三代卡', 'Gen 3') }[shownGen];
  return (
    <div className="state-chart" data-testid="state-chart" data-generation={shownGen}>
      <Chart
        model={terminal}
        title={t('终端状态机（terminal.machine）', 'Terminal machine (terminal.machine)')}
        active={active.terminal}
        last={null}
      />
      <Chart
        model={session}
        title={t(
          `${genTitle}会话状态机（gen${shownGen}.machine）`,
          `${genTitle} session machine (gen${shownGen}.machine)`,
        )}
        active={active.session}
        last={last}
      />
      <NextEvents model={session} state={active.session[0] ?? last} />
      <p className="chart-legend muted">
        <span className="swatch swatch-active" /> {t('当前状态', 'current state')}
        <span className="swatch swatch-last" /> {t('刚结束的会话停在此终态', 'where the session just ended')}
        <span className="swatch swatch-final" /> {t('终态', 'final state')}
      </p>
    </div>
  );
}
