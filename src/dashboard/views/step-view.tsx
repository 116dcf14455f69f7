import { api } from "../api-client.ts"
import { ActionBar } from "../components/action-bar.tsx"
import { DurationChart } from "../components/duration-chart.tsx"
import { ErrorNotice, Loading } from "../components/error-notice.tsx"
import { RelativeTime } from "../components/relative-time.tsx"
import { RunsTable } from "../components/runs-table.tsx"
import { StatusCounts } from "../components/status.tsx"
import { useApi, useRunsChanged } from "../hooks.ts"
import { Link, paths } from "../router.tsx"
import { useTitle } from "../title.ts"

/*
 * `/pipelines/:pipeline/steps/:step`: the step's runs by status and gap, the durations of its
 * last 200 runs, the newest 50 of them, the way to `why`, and a request to evaluate it now (as
 * `ccat run <pipeline> --step <step> [--force]`).
 */

const runRequest = (pipeline: string, step: string, force: boolean) => async () => {
  const done = await api.requestRun(pipeline, { step, force })
  return `Request ${done.requestId} recorded by ${done.actor}: the next trigger pass evaluates ${pipeline}.${step}${force ? ", up-to-date sub-groups too" : ""}.`
}

const chartRuns = 200
const tableRuns = 50

export const StepView = ({ pipeline, step }: { readonly pipeline: string; readonly step: string }) => {
  useTitle(`${pipeline}.${step}`)
  const key = JSON.stringify([pipeline, step])
  const definition = useApi(key, (signal) => api.pipeline(pipeline, signal))
  const runs = useApi(key, (signal) => api.runs({ pipeline, step, limit: chartRuns }, signal))
  useRunsChanged(() => {
    definition.reload()
    runs.reload()
  }, 2000)
  const overview = definition.data?.overview?.steps.find((s) => s.name === step)
  return (
    <div data-testid="view-step" data-step={`${pipeline}.${step}`}>
      <div class="view-heading">
        <h1>
          <Link href={paths.overview()}>{pipeline}</Link>.{step}
        </h1>
        <Link href={paths.why(pipeline, step)} data-testid="why-link">
          Why (what the trigger decides)
        </Link>
        <Link href={paths.runs({ pipeline, step })}>All runs of this step</Link>
      </div>
      <ActionBar
        onDone={definition.reload}
        actions={[
          { label: "Run now", testId: "run-button", enabled: true, perform: runRequest(pipeline, step, false) },
          { label: "Run all sub-groups (force)", testId: "force-run-button", enabled: true, perform: runRequest(pipeline, step, true) }
        ]}
      />
      {definition.error !== undefined ? <ErrorNotice error={definition.error} /> : null}
      {definition.data !== undefined && overview === undefined ? (
        <p class="notice">
          {definition.data.overview === null
            ? `${pipeline} is disabled.`
            : `${pipeline} has no step ${step} in generation ${definition.data.generation}.`}
        </p>
      ) : null}
      {overview !== undefined ? (
        <section class="panel facts" data-testid="step-facts">
          <dl>
            <dt>Runs</dt>
            <dd>
              <StatusCounts runs={overview.runs} labels />
            </dd>
            <dt>Gap</dt>
            <dd data-testid="step-gap">
              {overview.gap === null
                ? `not evaluated (${overview.notTriggered ?? "no request"})`
                : `${overview.gap} sub-group${overview.gap === 1 ? "" : "s"} with work due`}
              {Object.entries(overview.gapByReason).map(([reason, n]) => (
                <span key={reason} class="tag mono">
                  {reason} {n}
                </span>
              ))}
            </dd>
            <dt>Oldest waiting input</dt>
            <dd>
              {overview.oldestWaiting === null ? (
                <span class="muted">none</span>
              ) : (
                <>
                  <RelativeTime iso={overview.oldestWaiting.at} /> <span class="muted">({overview.oldestWaiting.kind})</span>
                </>
              )}
            </dd>
            <dt>Reads from</dt>
            <dd>
              {overview.after.length === 0
                ? "raw data"
                : overview.after.map((upstream) => (
                    <Link key={upstream} href={paths.step(pipeline, upstream)} class="tag">
                      {upstream}
                    </Link>
                  ))}
            </dd>
          </dl>
        </section>
      ) : null}
      <section class="panel">
        <h2>Durations of the last {chartRuns} runs</h2>
        {runs.error !== undefined ? <ErrorNotice error={runs.error} /> : null}
        {runs.data === undefined ? runs.error === undefined ? <Loading /> : null : <DurationChart runs={runs.data.runs} />}
      </section>
      <section class="panel">
        <h2>Newest runs</h2>
        {runs.data !== undefined ? <RunsTable runs={runs.data.runs.slice(0, tableRuns)} showStep={false} /> : null}
        {runs.data !== undefined && runs.data.runs.length > tableRuns ? (
          <Link href={paths.runs({ pipeline, step })}>More runs…</Link>
        ) : null}
      </section>
    </div>
  )
}
