import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { BackendCalls } from "../backends/execution-backend.ts"
import { DiskSpace } from "../execution/disk-space.ts"
import { FailureCounters } from "../execution/failure-counters.ts"
import { ServeState } from "./serve-state.ts"

/*
 * `/metrics` in the Prometheus text format (docs/design/runtime.md §6.6): runs by status, the gap per step,
 * loop durations and failures, backend calls by kind. Names and labels are in docs/metrics.md.
 */

const label = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

export const metricsText: Effect.Effect<string, SqlError.SqlError, SqlClient.SqlClient | ServeState | BackendCalls> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    const state = yield* (yield* ServeState).snapshot
    const calls = yield* (yield* BackendCalls).snapshot
    const runs = yield* sql<{ pipeline: string; step: string; status: string; n: number }>`
    SELECT p.name AS pipeline, s.name AS step, r.status, count(*)::int AS n
    FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
    const lines: Array<string> = []
    const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    family("ccat_runs", "gauge", "Runs by pipeline, step and status.")
    for (const r of runs) lines.push(`ccat_runs{pipeline="${label(r.pipeline)}",step="${label(r.step)}",status="${r.status}"} ${r.n}`)
    family("ccat_gap_size", "gauge", "Sub-groups the last trigger pass found with a gap (runs created or due), by step.")
    for (const [key, n] of Object.entries(state.gap).sort()) {
      const [pipeline, step] = key.split("\u0000")
      lines.push(`ccat_gap_size{pipeline="${label(pipeline ?? "")}",step="${label(step ?? "")}"} ${n}`)
    }
    family("ccat_loop_cycles_total", "counter", "Completed cycles per loop.")
    for (const [loop, s] of Object.entries(state.loops).sort()) lines.push(`ccat_loop_cycles_total{loop="${loop}"} ${s.cycles}`)
    family("ccat_loop_failures_total", "counter", "Failed cycles per loop (the loop is restarted with backoff).")
    for (const [loop, s] of Object.entries(state.loops).sort()) lines.push(`ccat_loop_failures_total{loop="${loop}"} ${s.failures}`)
    family("ccat_loop_last_duration_seconds", "gauge", "Duration of the last completed cycle per loop.")
    for (const [loop, s] of Object.entries(state.loops).sort()) {
      if (s.lastDurationMs !== null) lines.push(`ccat_loop_last_duration_seconds{loop="${loop}"} ${s.lastDurationMs / 1000}`)
    }
    family(
      "ccat_backend_calls_total",
      "counter",
      "Calls to the execution backend by kind (sbatch, squeue, sacct, scancel, spawn, poll, ...)."
    )
    for (const [kind, n] of [...calls].sort()) lines.push(`ccat_backend_calls_total{kind="${label(kind)}"} ${n}`)
    const failures = yield* (yield* FailureCounters).snapshot
    family(
      "ccat_run_failures_total",
      "counter",
      "Failed attempts of runs since this ccat serve started, by pipeline, step and reason (EXIT_CODE, TIMEOUT, SUBMIT_REJECTED, ...)."
    )
    for (const [key, n] of [...failures.runFailures].sort()) {
      const [pipeline = "", step = "", reason = ""] = key.split("\u0000")
      lines.push(`ccat_run_failures_total{pipeline="${label(pipeline)}",step="${label(step)}",reason="${label(reason)}"} ${n}`)
    }
    family(
      "ccat_submission_rejections_total",
      "counter",
      "Submissions the backend refused, by location and kind: permanent (the run failed at once) or transient (it waits and tries again)."
    )
    for (const [key, n] of [...failures.submissionRejections].sort()) {
      const [location = "", kind = ""] = key.split("\u0000")
      lines.push(`ccat_submission_rejections_total{location="${label(location)}",kind="${kind}"} ${n}`)
    }
    family(
      "ccat_location_out_of_space",
      "gauge",
      "1 while a location's disk is full and no work is staged there (its folder in the label)."
    )
    for (const s of [...(yield* (yield* DiskSpace).shortages)].sort((a, b) => a.location.localeCompare(b.location))) {
      lines.push(`ccat_location_out_of_space{location="${label(s.location)}",folder="${label(s.folder)}"} 1`)
    }
    family("ccat_uptime_seconds", "gauge", "Seconds since this ccat serve started.")
    lines.push(`ccat_uptime_seconds ${Math.round((Date.now() - state.startedAt) / 1000)}`)
    return lines.join("\n") + "\n"
  }
)
