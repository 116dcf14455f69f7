import type { ComponentChildren } from "preact"
import { api, productFileUrl } from "../api-client.ts"
import type { RunDetail, RunStatus } from "../api-types.ts"
import { ActionBar } from "../components/action-bar.tsx"
import { ErrorNotice, Loading } from "../components/error-notice.tsx"
import { RelativeTime } from "../components/relative-time.tsx"
import { StatusBadge } from "../components/status.tsx"
import { bytes, duration, runSeconds } from "../format.ts"
import { useApi, useRunsChanged } from "../hooks.ts"
import { Link, paths } from "../router.tsx"
import { useTitle } from "../title.ts"
import { RunLog } from "./run-log.tsx"

/*
 * `/runs/:id`: one run — its status history, metrics, live log, inputs and products (plots
 * inline) — with Cancel and Retry. Refetched when runs change, so a run cancelled elsewhere
 * shows CANCELLED here without a reload.
 */

const cancellable: ReadonlyArray<RunStatus> = ["PENDING", "STAGING_DATA", "SUBMITTED", "RUNNING"]
const retryable: ReadonlyArray<RunStatus> = ["FAILED", "CANCELLED"]

const Actions = ({ detail, onDone }: { readonly detail: RunDetail; readonly onDone: () => void }) => {
  const run = detail.run
  return (
    <ActionBar
      onDone={onDone}
      actions={[
        {
          label: "Cancel",
          testId: "cancel-button",
          danger: true,
          enabled: cancellable.includes(run.status),
          perform: async () => {
            const done = await api.cancel(run.id)
            return `Cancelled (was ${done.from}) by ${done.actor}${done.job !== null ? `; job ${done.job.id}: ${done.job.outcome}` : ""}.`
          }
        },
        {
          label: "Retry",
          testId: "retry-button",
          enabled: retryable.includes(run.status),
          perform: async () => {
            const done = await api.retry(run.id)
            return `Back to PENDING (was ${done.from}), attempt ${done.attempt}, by ${done.actor}.`
          }
        }
      ]}
    />
  )
}

const Fact = ({ label, children }: { readonly label: string; readonly children: ComponentChildren }) => (
  <>
    <dt>{label}</dt>
    <dd>{children}</dd>
  </>
)

const orDash = (value: string | number | null) => (value === null ? <span class="muted">–</span> : value)

const RunPage = ({ detail, reload }: { readonly detail: RunDetail; readonly reload: () => void }) => {
  const { run, metrics, job } = detail
  const seconds = runSeconds(run.createdAt, run.finishedAt)
  return (
    <>
      <div class="view-heading">
        <h1>
          Run #{run.id} <StatusBadge status={run.status} />
        </h1>
        <Link href={paths.step(run.pipeline, run.step)}>
          {run.pipeline}.{run.step}
        </Link>
        <Link href={paths.why(run.pipeline, run.step, run.subGroupKey)} class="mono">
          {run.subGroupKey}
        </Link>
      </div>
      <Actions detail={detail} onDone={reload} />
      {run.failureReason !== null ? (
        <p class="notice notice-error" data-testid="failure-reason">
          {run.failureReason}
        </p>
      ) : null}
      <div class="columns">
        <section class="panel facts">
          <h2>Run</h2>
          <dl>
            <Fact label="Reason">
              <span class="mono">{run.reason}</span>
            </Fact>
            <Fact label="Attempt">
              {run.attempt} ({detail.attempts} recorded, {run.retryCount} retries)
            </Fact>
            <Fact label="Created">
              <RelativeTime iso={run.createdAt} />
            </Fact>
            <Fact label="Finished">
              <RelativeTime iso={run.finishedAt} />
              {seconds !== null ? ` after ${duration(seconds)}` : ""}
            </Fact>
            <Fact label="Software">{run.softwareVersion}</Fact>
            <Fact label="Image">
              <span class="mono">{detail.image}</span>
            </Fact>
          </dl>
        </section>
        <section class="panel facts" data-testid="run-metrics">
          <h2>Metrics and job</h2>
          <dl>
            <Fact label="Exit code">{orDash(metrics.exitCode)}</Fact>
            <Fact label="Wall time">{metrics.wallSeconds === null ? orDash(null) : duration(metrics.wallSeconds)}</Fact>
            <Fact label="CPU hours">{metrics.cpuHours === null ? orDash(null) : metrics.cpuHours.toFixed(3)}</Fact>
            <Fact label="Peak memory">{metrics.peakMemoryBytes === null ? orDash(null) : bytes(metrics.peakMemoryBytes)}</Fact>
            <Fact label="Submitted">
              <RelativeTime iso={metrics.submittedAt} />
            </Fact>
            <Fact label="Job">
              {orDash(job.backend)} {job.name !== null ? <span class="mono">{job.name}</span> : null}{" "}
              {job.id !== null ? <span class="mono">({job.id})</span> : null}
            </Fact>
            <Fact label="Location">{job.location}</Fact>
            <Fact label="Folder">
              <span class="mono">{orDash(run.runDir)}</span>
            </Fact>
          </dl>
        </section>
      </div>
      <section class="panel" data-testid="run-timeline">
        <h2>Status history</h2>
        <ol class="timeline">
          {detail.events.map((event, index) => (
            <li key={index} data-testid="run-event" data-to={event.to}>
              <RelativeTime iso={event.at} /> {event.from !== null ? <span class="muted">{event.from} →</span> : null}{" "}
              <StatusBadge status={event.to} /> <span class="muted">by {event.actor}</span> {event.reason}
            </li>
          ))}
        </ol>
      </section>
      <RunLog key={`${run.id}-${run.attempt}`} runId={run.id} hasFolder={run.runDir !== null} />
      <section class="panel" data-testid="run-inputs">
        <h2>Inputs ({detail.inputs.length})</h2>
        {detail.inputs.length === 0 ? (
          <p class="muted">None recorded.</p>
        ) : (
          <ul class="inputs">
            {detail.inputs.map((input) =>
              input.kind === "package" ? (
                <li key={`package-${input.id}`} data-testid="run-input" data-kind="package">
                  <span class="tag">raw</span> {input.name} <span class="muted mono">{input.id}</span>
                </li>
              ) : (
                <li key={`product-${input.id}`} data-testid="run-input" data-kind="product">
                  <span class="tag">{input.type}</span>{" "}
                  <Link href={paths.product(input.id)} data-testid="input-product-link">
                    {input.relativePath}
                  </Link>{" "}
                  <span class="muted">
                    from <Link href={paths.run(input.runId)}>run #{input.runId}</Link>
                  </span>
                </li>
              )
            )}
          </ul>
        )}
      </section>
      <section class="panel" data-testid="run-products">
        <h2>Products ({detail.products.length})</h2>
        {detail.products.length === 0 ? (
          <p class="muted">None yet.</p>
        ) : (
          <ul class="products">
            {detail.products.map((product) => (
              <li key={product.id} data-testid="run-product" data-product-id={product.id}>
                <span class="tag">{product.type}</span>{" "}
                <Link href={paths.product(product.id)} data-testid="product-link">
                  {product.relativePath}
                </Link>{" "}
                <span class="muted">{bytes(product.sizeBytes)}</span>{" "}
                <a href={productFileUrl(product.id)} download>
                  download
                </a>
                {product.type === "PLOT" ? (
                  <img
                    class="plot"
                    src={productFileUrl(product.id)}
                    alt={`Plot ${product.relativePath}`}
                    loading="lazy"
                    data-testid="plot"
                  />
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="panel">
        <h2>Config</h2>
        <pre class="config">{JSON.stringify(detail.config, null, 2)}</pre>
      </section>
    </>
  )
}

export const RunView = ({ id }: { readonly id: number }) => {
  useTitle(`Run ${id}`)
  const detail = useApi(String(id), (signal) => api.run(id, signal))
  useRunsChanged(detail.reload, 250)
  return (
    <div data-testid="view-run" data-run-id={id}>
      {detail.error !== undefined ? <ErrorNotice error={detail.error} /> : null}
      {detail.data === undefined ? (
        detail.error === undefined ? (
          <Loading />
        ) : null
      ) : (
        <RunPage detail={detail.data} reload={detail.reload} />
      )}
    </div>
  )
}
