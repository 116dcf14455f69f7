import type { RunStatus } from "../api-types.ts"
import { runStatuses } from "../api-types.ts"
import { count } from "../format.ts"

/* A run status as a coloured label; the colours are app.css's .status-<STATUS>. */
export const StatusBadge = ({ status }: { readonly status: string }) => (
  <span class={`status status-${status}`} data-testid="run-status" data-status={status}>
    {status}
  </span>
)

const shortNames: Record<RunStatus, string> = {
  PENDING: "pending",
  STAGING_DATA: "staging",
  SUBMITTED: "submitted",
  RUNNING: "running",
  COLLECTING_RESULTS: "collecting",
  COMPLETED: "completed",
  FAILED: "failed",
  CANCELLED: "cancelled"
}

/** Runs by status as small coloured counts, only the statuses that have runs. */
export const StatusCounts = ({ runs, labels = false }: { readonly runs: Partial<Record<string, number>>; readonly labels?: boolean }) => {
  const shown = runStatuses.filter((status) => (runs[status] ?? 0) > 0)
  if (shown.length === 0) return <span class="muted">no runs</span>
  return (
    <span class="counts" data-testid="status-counts">
      {shown.map((status) => (
        <span key={status} class={`count status-${status}`} title={`${status}: ${runs[status] ?? 0}`} data-status={status}>
          {count(runs[status] ?? 0)}
          {labels ? ` ${shortNames[status]}` : ""}
        </span>
      ))}
    </span>
  )
}
