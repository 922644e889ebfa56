import { useEffect, useMemo, useRef } from 'react';
import { useMachine } from '@xstate/react';
import { fromPromise, type SnapshotFrom } from 'xstate';
import type { Tab } from '../app.tsx';
import { useI18n } from '../i18n.tsx';
import { useClient, useLive, useLiveState } from '../live.tsx';
import { useNotify } from '../notify.tsx';
import { renderMessage } from '../../state-machines/messages.ts';
import { DEMOS } from '../trainer/demos.ts';
import { DemoRunner, type Call, type Demo, type StepReport } from '../trainer/runner.ts';
import { sequencerMachine, type SequencerState } from '../trainer/sequencer.machine.ts';
import { StateChart } from '../trainer/state-chart.tsx';
import type { Bi } from '../apdu-decode.ts';
import './trainer.css';

type SequencerSnapshot = SnapshotFrom<typeof sequencerMachine>;

/**
 * The demo in progress survives a visit to another tab (the APDU trace, the ledger): the
 * sequencer's snapshot is kept here while the panel is away, when it is between steps.
 */
let kept: { snapshot: unknown; runner: DemoRunner | null } | null = null;

const SPEEDS = [
  { ms: 2500, zh: '慢', en: 'slow' },
  { ms: 1500, zh: '中', en: 'normal' },
  { ms: 600, zh: '快', en: 'fast' },
];

function stateOf(s: SequencerSnapshot): SequencerState {
  return (typeof s.value === 'string' ? s.value : 'idle') as SequencerState;
}

export function TrainerPanel({ onNavigate }: { onNavigate(tab: Tab): void }) {
  const { t, lang } = useI18n();
  const client = useClient();
  const liveState = useLiveState();
  const live = useLive();
  const notify = useNotify();
  const runnerRef = useRef<DemoRunner | null>(kept?.runner ?? null);

  const machine = useMemo(
    () =>
      sequencerMachine.provide({
        actors: {
          startDemo: fromPromise<void, { demo: Demo }>(async () => {
            await client.call('startTraining', {});
            const call: Call = (m, a) => client.call(m, a);
            const runner = new DemoRunner(call);
            await runner.begin();
            runnerRef.current = runner;
          }),
          runStep: fromPromise<StepReport, { demo: Demo; index: number }>(async ({ input }) => {
            const runner = runnerRef.current;
            if (!runner) throw new Error('the demo has not started');
            const report = await runner.run(input.demo.steps[input.index]!, input.index);
            liveState.patchWorkspace({ hostLink: report.workspace.hostLink });
            return report;
          }),
        },
      }),
    [client, liveState],
  );
  const [snap, send, actor] = useMachine(machine, {
    input: { delayMs: 1500 },
    ...(kept ? { snapshot: kept.snapshot as never } : {}),
  });
  useEffect(() => {
    kept = null;
    return () => {
      const s = stateOf(actor.getSnapshot());
      if (s === 'waiting' || s === 'done' || s === 'failed') {
        actor.send({ type: 'AUTOPLAY', on: false });
        kept = { snapshot: actor.getPersistedSnapshot(), runner: runnerRef.current };
      } else kept = null;
    };
  }, [actor]);

  const state = stateOf(snap);
  const { demo, index, reports, error, autoplay, delayMs } = snap.context;
  const training = live.workspace?.mode === 'training';
  const total = demo?.steps.length ?? 0;
  const busy = state === 'starting' || state === 'running';

  // The step the screen is about: the one running, the one that failed, or the last one done.
  const shownIndex =
    state === 'running' ? index : state === 'failed' ? Math.max(0, error?.stepIndex ?? 0) : index - 1;
  const shownStep = demo && shownIndex >= 0 ? demo.steps[shownIndex] : undefined;
  const report: StepReport | undefined =
    state === 'failed' || state === 'running' ? undefined : reports[index - 1];
  const nextStep = demo && state === 'waiting' ? demo.steps[index] : undefined;
  const chartGen = shownStep?.gen ?? nextStep?.gen ?? demo?.gen ?? 3;

  const pickBi = (b: Bi) => b[lang];

  let caption = '';
  if (state === 'starting')
    caption = t('正在准备培训沙盒（全新的练习数据）…', 'Preparing a fresh training sandbox…');
  else if (demo && state === 'waiting' && index === 0) caption = pickBi(demo.summary);
  else if (shownStep) caption = pickBi(shownStep.caption);

  const stepNumber = state === 'waiting' && index === 0 ? 0 : shownIndex + 1;

  const exit = async () => {
    send({ type: 'STOP' });
    runnerRef.current = null;
    kept = null;
    try {
      await client.call('endTraining', {});
      onNavigate('till');
    } catch (e) {
      notify.error(e);
    }
  };

  return (
    <section className="panel trainer" data-testid="panel-trainer" data-status={state}>
      <div className="trainer-head">
        <div>
          <h2>{t('培训演示', 'Trainer mode')}</h2>
          <p className="muted trainer-intro">
            {t(
              '每个演示都在培训沙盒中进行：从随附的卡片重新开始，不动正式账务。每一步由应用通过接口完成，并核对结果是否与说明一致。',
              'Every demonstration runs in the training sandbox: it starts from the bundled cards and never touches the real books. The app performs each step through the Api and checks the outcome against the caption.',
            )}
          </p>
        </div>
        <button
          type="button"
          className="danger"
          data-testid="trainer-exit"
          disabled={!training && state === 'idle'}
          onClick={() => void exit()}
        >
          {t('退出培训', 'Leave training')}
        </button>
      </div>

      <div className="trainer-demos" role="list">
        {DEMOS.map((d) => (
          <button
            key={d.id}
            type="button"
            role="listitem"
            className={demo?.id === d.id ? 'demo-card selected' : 'demo-card'}
            data-testid={`trainer-demo-${d.id}`}
            disabled={busy}
            onClick={() => send({ type: 'START', demo: d })}
          >
            <strong>{pickBi(d.title)}</strong>
            <span className="demo-summary">{pickBi(d.summary)}</span>
            <span className="demo-meta">
              {d.rules.map((r) => (
                <span key={r} className="rule-tag">
                  {r}
                </span>
              ))}
              <span className="muted">{t(`${d.steps.length} 步`, `${d.steps.length} steps`)}</span>
            </span>
          </button>
        ))}
      </div>

      {!demo && (
        <p className="trainer-hint muted">
          {t('选择上面的一个演示开始。', 'Pick a demonstration above to start.')}
          {training && ' ' + t('（当前处于培训模式）', '(training mode is on)')}
        </p>
      )}

      {demo && (
        <div className="trainer-stage">
          <div
            className="trainer-step"
            data-testid="trainer-step"
            data-step={stepNumber}
            data-total={total}
            data-status={state}
          >
            <span className="step-count">
              {stepNumber === 0
                ? t(`${pickBi(demo.title)} · 共 ${total} 步`, `${pickBi(demo.title)} · ${total} steps`)
                : t(`第 ${stepNumber} / ${total} 步`, `Step ${stepNumber} of ${total}`)}
            </span>
            {shownStep && stepNumber > 0 && <span className="step-title">{pickBi(shownStep.title)}</span>}
            {state === 'running' && <span className="step-running">{t('进行中…', 'running…')}</span>}
            <ol className="step-dots" aria-hidden="true">
              {demo.steps.map((s, i) => (
                <li
                  key={i}
                  title={pickBi(s.title)}
                  className={
                    i < reports.length
                      ? 'dot done'
                      : state === 'failed' && error?.stepIndex === i
                        ? 'dot failed'
                        : state === 'running' && i === index
                          ? 'dot running'
                          : 'dot'
                  }
                />
              ))}
            </ol>
          </div>

          <p className="trainer-caption" data-testid="trainer-caption">
            {caption}
          </p>

          {report && <Outcome report={report} />}

          {state === 'failed' && error && (
            <div className="trainer-error" role="alert" data-testid="trainer-error">
              <strong>
                {t(
                  '演示中断：应用没有按说明完成这一步',
                  'Demo stopped: the app did not do what the step says',
                )}
              </strong>
              <p>{pickBi(error.problem)}</p>
              {error.checks.length > 0 && <CheckList checks={error.checks} />}
            </div>
          )}

          {state === 'done' && (
            <div className="trainer-done" data-testid="trainer-done">
              <div>
                <strong>{t('演示完成', 'Demonstration complete')}</strong>{' '}
                <span>
                  {t(
                    `${total} 步全部按说明完成。练习数据只在培训沙盒中，正式账务未受影响。`,
                    `All ${total} steps did what they said. The practice data stays in the sandbox; the real books are untouched.`,
                  )}
                </span>
              </div>
              <Recap demo={demo} reports={reports} />
            </div>
          )}

          <div className="trainer-controls">
            <button
              type="button"
              className="primary"
              data-testid="trainer-next"
              disabled={state !== 'waiting'}
              onClick={() => send({ type: 'NEXT' })}
            >
              {nextStep ? `${t('下一步', 'Next')}：${pickBi(nextStep.title)}` : t('下一步', 'Next')}
            </button>
            <button
              type="button"
              data-testid="trainer-autoplay"
              aria-pressed={autoplay}
              disabled={state !== 'waiting' && state !== 'running'}
              onClick={() => send({ type: 'AUTOPLAY', on: !autoplay })}
            >
              {autoplay ? t('暂停自动播放', 'Pause autoplay') : t('自动播放', 'Autoplay')}
            </button>
            <label className="speed">
              <span className="muted">{t('间隔', 'Pace')}</span>
              <select
                data-testid="trainer-speed"
                value={delayMs}
                onChange={(e) => send({ type: 'SPEED', delayMs: Number(e.target.value) })}
              >
                {SPEEDS.map((s) => (
                  <option key={s.ms} value={s.ms}>
                    {t(s.zh, s.en)} {(s.ms / 1000).toFixed(1)}s
                  </option>
                ))}
              </select>
            </label>
            {state === 'failed' && (
              <button type="button" data-testid="trainer-retry" onClick={() => send({ type: 'RETRY' })}>
                {t('重试本步', 'Retry the step')}
              </button>
            )}
            <button
              type="button"
              data-testid="trainer-restart"
              disabled={busy}
              onClick={() => send({ type: 'RESTART' })}
            >
              {t('重新开始', 'Start over')}
            </button>
            <span className="spacer" />
            <button type="button" className="link" onClick={() => onNavigate('trace')}>
              {t('在 APDU 跟踪中查看指令 →', 'See the APDUs in the trace →')}
            </button>
          </div>
        </div>
      )}

      <StateChart till={live.till} gen={chartGen} />
    </section>
  );
}

/** The whole demo at a glance: each step, what the till said, the last status word. */
function Recap({ demo, reports }: { demo: Demo; reports: StepReport[] }) {
  const { lang } = useI18n();
  return (
    <ol className="recap" data-testid="trainer-recap">
      {reports.map((r) => {
        const last = r.apdus.at(-1);
        return (
          <li key={r.index}>
            <span className="recap-title">{demo.steps[r.index]!.title[lang]}</span>
            <span className="recap-screen">{r.detail ? r.detail[lang] : renderMessage(r.message, lang)}</span>
            {last && (
              <span className={`sw-chip sev-${last.status.severity}`} title={last.status.text[lang]}>
                {last.status.sw}
              </span>
            )}
          </li>
        );
      })}
    </ol>
  );
}

function CheckList({ checks }: { checks: StepReport['checks'] }) {
  const { lang, t } = useI18n();
  return (
    <ul className="checks" data-testid="trainer-checks">
      {checks.map((c, i) => (
        <li key={i} className={c.ok ? 'check ok' : 'check bad'}>
          <span className="check-mark">{c.ok ? '✓' : '✗'}</span>
          {t('预期：', 'Expected: ')}
          {c.label[lang]}
          {!c.ok && c.actual !== undefined && (
            <span className="check-actual">
              {' '}
              — {t('实际：', 'got: ')}
              {typeof c.actual === 'string' ? c.actual : c.actual[lang]}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

const APDUS_SHOWN = 6;

function Outcome({ report }: { report: StepReport }) {
  const { lang, t } = useI18n();
  const last = report.apdus.at(-1);
  const hidden = Math.max(0, report.apdus.length - APDUS_SHOWN);
  return (
    <div className="trainer-outcome" data-testid="trainer-outcome">
      <div className="outcome-screen">
        <span className="outcome-label">{t('终端屏幕', 'Till screen')}</span>
        <span className="pos-screen" data-testid="trainer-message">
          {renderMessage(report.message, lang)}
        </span>
      </div>
      {report.detail && (
        <div className="outcome-row">
          <span className="outcome-label">{t('柜台', 'Counter')}</span>
          <span data-testid="trainer-detail">{report.detail[lang]}</span>
        </div>
      )}
      <div className="outcome-row">
        <span className="outcome-label">{t('最后状态字', 'Last SW')}</span>
        {last ? (
          <span data-testid="trainer-last-sw" className={`sw-text sev-${last.status.severity}`}>
            {last.status.text[lang]}
            <span className="muted"> · {last.cmd.text[lang]}</span>
          </span>
        ) : (
          <span data-testid="trainer-last-sw" className="muted">
            {t('本步没有与卡片的 APDU 交换', 'no APDU exchanged with the card in this step')}
          </span>
        )}
      </div>
      {report.apdus.length > 0 && (
        <details className="outcome-apdus" open={report.apdus.length <= 3}>
          <summary>
            {t(`本步 ${report.apdus.length} 条 APDU`, `${report.apdus.length} APDUs in this step`)}
            {' · '}
            <span className="sws">
              {report.apdus.map((a, i) => (
                <span key={i} className={`sw-chip sev-${a.status.severity}`}>
                  {a.status.sw || '—'}
                </span>
              ))}
            </span>
          </summary>
          <ul className="mono">
            {hidden > 0 && (
              <li className="muted">
                … {t(`前 ${hidden} 条见 APDU 跟踪`, `${hidden} earlier in the trace`)}
              </li>
            )}
            {report.apdus.slice(-APDUS_SHOWN).map((a) => (
              <li key={a.seq} className={`sev-${a.status.severity}`}>
                {a.line[lang]}
              </li>
            ))}
          </ul>
        </details>
      )}
      <CheckList checks={report.checks} />
    </div>
  );
}
