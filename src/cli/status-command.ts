import { Command } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { nextTick } from "../runtime/gaps/trigger-requests.ts"
import { age, renderTable, utcMinutes } from "../runtime/ops/format.ts"
import { allStatuses } from "../runtime/ops/run-row.ts"
import { statusReport, type StatusReport, type StepStatusReport } from "../runtime/ops/status.ts"
import { oneLineErrors } from "./command-failure.ts"
import { jsonOption } from "./run-arguments.ts"
import { intervalOption, stdoutIsTerminal, watchInterval, watchOption, watchSnapshots } from "./watch.ts"
import { databaseJson, databaseLine } from "../db/database.ts"

/*
 * `ccat status [--json | --watch [--interval S]]`: per enabled step, upstream first (pipelines
 * by priority, then name): its runs by status, its gap and its oldest waiting input
 * (src/runtime/ops/status.ts says how each is computed). Read-only: the gap comes from a preview
 * pass that is rolled back.
 *
 * `--json`: `{ "applied": bool, "evaluatedAt": ISO, "steps": [ { "pipeline", "step", "after",
 * "trigger", "priority", "runs": { STATUS: n, ... }, "gap": n | null, "gapByReason": { REASON: n },
 * "notTriggered": null | "no-request" | "outside-request", "oldestWaitingInput": null |
 * { "at": ISO, "kind": "raw_package.archived_at" | "data_product.created_at" } } ] }`.
 *
 * `--watch` shows it again every 2 s (or --interval) until Ctrl-C (src/cli/watch.ts); with
 * --json it is a usage error (exit 2).
 */

const usage = "ccat status [--json | --watch [--interval S]]"

const columns: ReadonlyArray<readonly [string, (typeof allStatuses)[number]]> = [
  ["PENDING", "PENDING"],
  ["STAGING", "STAGING_DATA"],
  ["SUBMITTED", "SUBMITTED"],
  ["RUNNING", "RUNNING"],
  ["COLLECTING", "COLLECTING_RESULTS"],
  ["COMPLETED", "COMPLETED"],
  ["FAILED", "FAILED"],
  ["CANCELLED", "CANCELLED"]
]

const why = (s: StepStatusReport, at: Date): string => {
  if (s.notTriggered === "outside-request") return `${s.pipeline}.${s.step}: not evaluated: outside the open request's --step`
  if (s.trigger.mode === "cron") {
    const next = nextTick(s.trigger, at)
    return `${s.pipeline}: not evaluated until its next cron tick${next === null ? "" : ` (${utcMinutes(next)})`} or \`ccat run ${s.pipeline}\``
  }
  return `${s.pipeline}: not evaluated: triggered by hand (\`ccat run ${s.pipeline}\`)`
}

export const renderStatus = (report: StatusReport, now: Date): string => {
  if (!report.applied) return "No definitions have been applied yet: run `ccat apply <dir>` first. No pipelines, no runs."
  if (report.steps.length === 0) return "No enabled pipelines in the applied definitions."
  const table = renderTable(
    ["STEP", ...columns.map(([h]) => h), "GAP", "OLDEST WAITING"],
    report.steps.map((s) => [
      `${s.pipeline}.${s.step}`,
      ...columns.map(([, status]) => String(s.runs[status])),
      s.gap === null ? "-" : String(s.gap),
      s.oldestWaiting === null ? "-" : `${utcMinutes(s.oldestWaiting.at)} (${age(s.oldestWaiting.at, now)})`
    ]),
    ["left", ...columns.map(() => "right" as const), "right"]
  )
  const notes = [...new Set(report.steps.filter((s) => s.gap === null).map((s) => why(s, report.at)))]
  return [
    `Status as of ${utcMinutes(report.at)}. GAP: sub-groups that get a run now, or once a cooldown or the run in flight allows.`,
    "",
    table,
    ...(notes.length === 0 ? [] : ["", ...notes.map((n) => `- ${n}`)])
  ].join("\n")
}

export const statusJson = (report: StatusReport) => ({
  applied: report.applied,
  evaluatedAt: report.at.toISOString(),
  steps: report.steps.map((s) => ({
    pipeline: s.pipeline,
    step: s.step,
    after: s.after,
    trigger: s.trigger.mode,
    priority: s.priority,
    runs: s.runs,
    gap: s.gap,
    gapByReason: s.gapByReason,
    notTriggered: s.notTriggered,
    oldestWaitingInput: s.oldestWaiting === null ? null : { at: s.oldestWaiting.at.toISOString(), kind: s.oldestWaiting.kind }
  }))
})

const statusText = Effect.gen(function* () {
  const report = yield* statusReport
  // First, which database this is: a status of the wrong one looks like a quiet day.
  return [yield* databaseLine, renderStatus(report, new Date(yield* Clock.currentTimeMillis))].join("\n")
})

export const statusCommand = Command.make(
  "status",
  { json: jsonOption("the status"), watch: watchOption, interval: intervalOption },
  ({ json, watch, interval }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const watching = yield* watchInterval({ watch, interval, json, usage })
        if (Option.isSome(watching)) {
          return yield* watchSnapshots(statusText, { title: "ccat status", intervalSeconds: watching.value, terminal: stdoutIsTerminal() })
        }
        if (json) {
          yield* Console.log(JSON.stringify({ database: yield* databaseJson, ...statusJson(yield* statusReport) }, null, 2))
          return
        }
        yield* Console.log(yield* statusText)
      })
    )
).pipe(
  Command.withDescription(
    "Per pipeline and step: runs by status, the gap (sub-groups that would get a run now) and the oldest input waiting for it. Read-only; --watch shows it again every 2 s until Ctrl-C. Exit 0: shown; 1: database error; 2: usage (--watch with --json)."
  )
)
