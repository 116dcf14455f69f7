import type { Run } from "../api-types.ts"
import { duration, runSeconds } from "../format.ts"
import { Link, paths } from "../router.tsx"
import { RelativeTime } from "./relative-time.tsx"
import { StatusBadge } from "./status.tsx"

/** Runs as rows, newest first as the API gives them. */
export const RunsTable = ({ runs, showStep = true }: { readonly runs: ReadonlyArray<Run>; readonly showStep?: boolean }) => {
  if (runs.length === 0)
    return (
      <p class="muted" data-testid="no-runs">
        No runs.
      </p>
    )
  return (
    <div class="table-scroll">
      <table class="runs-table" data-testid="runs-table">
        <thead>
          <tr>
            <th>Run</th>
            {showStep ? <th>Step</th> : null}
            <th>Sub-group</th>
            <th>Status</th>
            <th>Reason</th>
            <th>Attempt</th>
            <th>Created</th>
            <th>Took</th>
            <th>Failure</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const seconds = runSeconds(run.createdAt, run.finishedAt)
            return (
              <tr key={run.id} data-testid="run-row" data-run-id={run.id} data-status={run.status}>
                <td>
                  <Link href={paths.run(run.id)} data-testid="run-link">
                    #{run.id}
                  </Link>
                </td>
                {showStep ? (
                  <td>
                    <Link href={paths.step(run.pipeline, run.step)}>
                      {run.pipeline}.{run.step}
                    </Link>
                  </td>
                ) : null}
                <td class="mono" title={run.subGroupKey}>
                  {run.subGroupKey}
                </td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td class="mono">{run.reason}</td>
                <td class="num">{run.attempt}</td>
                <td>
                  <RelativeTime iso={run.createdAt} />
                </td>
                <td class="num">{seconds === null ? <span class="muted">–</span> : duration(seconds)}</td>
                <td class="failure" title={run.failureReason ?? undefined}>
                  {run.failureReason ?? ""}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
