import { api } from "../api-client.ts"
import type { PipelineOverview, StepOverview } from "../api-types.ts"
import { DagGraph } from "../components/dag-graph.tsx"
import { ErrorNotice, Loading } from "../components/error-notice.tsx"
import { RelativeTime } from "../components/relative-time.tsx"
import { StatusCounts } from "../components/status.tsx"
import { count } from "../format.ts"
import { useApi, useRunsChanged } from "../hooks.ts"
import { Link, paths } from "../router.tsx"
import { useTitle } from "../title.ts"

/*
 * `/`: every enabled pipeline as the DAG of its steps, each step with its runs by status, its gap
 * and its oldest waiting input. Refetched (debounced) when runs change, without a reload.
 */

const stepBox = { width: 224, height: 96 }

const gapText = (step: StepOverview): string => {
  if (step.gap === null) return step.notTriggered === "outside-request" ? "not requested for this step" : "waits for a request"
  return step.gap === 0 ? "nothing due" : `gap ${count(step.gap)}`
}

const gapTitle = (step: StepOverview): string =>
  Object.entries(step.gapByReason)
    .map(([reason, n]) => `${reason}: ${n}`)
    .join("\n")

const StepNode = ({ pipeline, step }: { readonly pipeline: string; readonly step: StepOverview }) => (
  <Link
    href={paths.step(pipeline, step.name)}
    class="step-node"
    data-testid="step-node"
    data-step={`${pipeline}.${step.name}`}
    data-gap={step.gap ?? ""}
  >
    <span class="step-name">{step.name}</span>
    <StatusCounts runs={step.runs} />
    <span class="step-meta">
      <span class={step.gap !== null && step.gap > 0 ? "gap gap-due" : "gap"} title={gapTitle(step)} data-testid="step-gap">
        {gapText(step)}
      </span>
      {step.oldestWaiting !== null ? (
        <span class="oldest" data-testid="step-oldest">
          {" · oldest input "}
          <RelativeTime iso={step.oldestWaiting.at} />
        </span>
      ) : null}
    </span>
  </Link>
)

const PipelineMap = ({ pipeline }: { readonly pipeline: PipelineOverview }) => {
  const byName = new Map(pipeline.steps.map((step) => [step.name, step]))
  return (
    <section class="panel pipeline" data-testid="pipeline" data-pipeline={pipeline.name}>
      <header class="panel-header">
        <h2>{pipeline.name}</h2>
        <span class="muted">
          {pipeline.trigger.mode}
          {pipeline.trigger.cron !== null ? ` ${pipeline.trigger.cron}` : ""} · priority {pipeline.priority} · {pipeline.location} ·{" "}
          {pipeline.data}
        </span>
        <Link href={paths.runs({ pipeline: pipeline.name })} class="push-right">
          Runs
        </Link>
      </header>
      {pipeline.steps.length === 0 ? (
        <p class="muted">No steps.</p>
      ) : (
        <DagGraph
          label={`Steps of ${pipeline.name}`}
          direction="LR"
          nodes={pipeline.steps.map((step) => ({ id: step.name, ...stepBox }))}
          edges={pipeline.steps.flatMap((step) => step.after.map((from) => ({ from, to: step.name })))}
          renderNode={(name) => {
            const step = byName.get(name)
            return step === undefined ? null : <StepNode pipeline={pipeline.name} step={step} />
          }}
        />
      )}
    </section>
  )
}

export const OverviewView = () => {
  useTitle("Overview")
  const overview = useApi("overview", (signal) => api.overview(signal))
  useRunsChanged(overview.reload, 1000)
  const data = overview.data
  return (
    <div data-testid="view-overview">
      <div class="view-heading">
        <h1>Pipelines</h1>
        {data !== undefined ? (
          <span class="muted" data-testid="overview-at">
            generation {data.generation ?? "none applied"} · as of <RelativeTime iso={data.at} />
          </span>
        ) : null}
      </div>
      {overview.error !== undefined ? <ErrorNotice error={overview.error} /> : null}
      {data === undefined ? (
        overview.error === undefined ? (
          <Loading />
        ) : null
      ) : data.pipelines.length === 0 ? (
        <p class="muted">No enabled pipeline: apply definitions with `ccat apply`.</p>
      ) : (
        data.pipelines.map((pipeline) => <PipelineMap key={pipeline.name} pipeline={pipeline} />)
      )}
    </div>
  )
}
