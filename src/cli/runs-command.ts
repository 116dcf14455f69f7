import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { didYouMean } from "../compiler/suggest.ts"
import type { RunStatus } from "../runtime/execution/run-status.ts"
import type { UnknownName } from "../runtime/ops/errors.ts"
import { renderTable, utcSeconds } from "../runtime/ops/format.ts"
import { listRuns } from "../runtime/ops/list-runs.ts"
import { allStatuses, type RunSummary } from "../runtime/ops/run-row.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { failWith, oneLineErrors } from "./plan-command.ts"

/*
 * `ccat runs [--status S] [--pipeline P] [--step S] [--limit N] [--json]`: the runs, newest
 * first (50 unless --limit says otherwise). Exit 0 (also when none match), 1 unknown pipeline or
 * step or database error, 2 usage (an unknown status, a limit below 1).
 *
 * `--json`: `{ "filter": {...}, "limit": N, "runs": [ { "id", "pipeline", "step",
 * "subGroupKey", "status", "reason", "attempt", "retryCount", "softwareVersion", "jobName",
 * "backendJobId", "runDir", "createdAt", "finishedAt", "failureReason" } ] }`, times in ISO 8601
 * UTC, absent values null.
 */

/** Prints a usage error and exits 2. */
export const usageError = (message: string, usage: string) =>
  Console.error(`error: ${message}\nusage: ${usage}`).pipe(Effect.zipRight(new CommandExit({ code: ExitCode.usage })))

/** A run id argument: a positive whole number (`12`, also `run-12` as run folders name it). */
export const parseRunId = (text: string, usage: string): Effect.Effect<number, CommandExit> => {
  const m = /^(?:run-)?(\d{1,15})$/.exec(text.trim())
  const id = m === null ? 0 : Number(m[1])
  return id > 0
    ? Effect.succeed(id)
    : usageError(`expected a run id (a positive whole number, as \`ccat runs\` lists them), got \`${text}\``, usage)
}

export const runIdArg = Args.text({ name: "run" }).pipe(Args.withDescription("The run's id, as `ccat runs` lists it."))

export const jsonOption = (what: string) =>
  Options.boolean("json").pipe(Options.withDescription(`Print ${what} as a JSON document instead of text.`))

const statusOption = Options.text("status").pipe(
  Options.withDescription(`Only runs in this status: ${allStatuses.join(", ")} (any case).`),
  Options.optional
)
const pipelineOption = Options.text("pipeline").pipe(Options.withDescription("Only runs of this pipeline."), Options.optional)
const stepOption = Options.text("step").pipe(
  Options.withDescription("Only runs of steps with this name (with --pipeline: of that pipeline's step)."),
  Options.optional
)
const limitOption = Options.integer("limit").pipe(Options.withDescription("At most this many runs, newest first."), Options.withDefault(50))

const usage = "ccat runs [--status S] [--pipeline P] [--step S] [--limit N] [--json]"

const unknownName = (e: UnknownName): string => {
  const hint = didYouMean(e.name, e.known)
  const known = e.known.length === 0 ? "there are none: run `ccat apply <dir>` first" : `known: ${e.known.join(", ")}`
  return `no ${e.kind} \`${e.name}\`${hint === undefined ? "" : `; ${hint}`} (${known})`
}

export const runJson = (r: RunSummary) => ({
  id: r.id,
  pipeline: r.pipeline,
  step: r.step,
  subGroupKey: r.subGroupKey,
  status: r.status,
  reason: r.reason,
  attempt: r.attempt,
  retryCount: r.retryCount,
  softwareVersion: r.softwareVersion,
  jobName: r.jobName,
  backendJobId: r.backendJobId,
  runDir: r.runDir,
  createdAt: r.createdAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
  failureReason: r.failureReason
})

export const renderRuns = (runs: ReadonlyArray<RunSummary>): string =>
  renderTable(
    ["ID", "STEP", "SUB-GROUP", "STATUS", "REASON", "ATTEMPT", "VERSION", "JOB", "CREATED", "FINISHED", "FAILURE"],
    runs.map((r) => [
      String(r.id),
      `${r.pipeline}.${r.step}`,
      r.subGroupKey,
      r.status,
      r.reason,
      String(r.attempt),
      r.softwareVersion,
      r.backendJobId ?? "-",
      utcSeconds(r.createdAt),
      utcSeconds(r.finishedAt),
      r.failureReason ?? "-"
    ]),
    ["right", "left", "left", "left", "left", "right"]
  )

export const runsCommand = Command.make(
  "runs",
  { status: statusOption, pipeline: pipelineOption, step: stepOption, limit: limitOption, json: jsonOption("the runs") },
  ({ status, pipeline, step, limit, json }) =>
    oneLineErrors(
      Effect.gen(function* () {
        let wanted: RunStatus | null = null
        if (Option.isSome(status)) {
          const upper = status.value.trim().toUpperCase()
          const match = allStatuses.find((s) => s === upper)
          if (match === undefined) return yield* usageError(`unknown status \`${status.value}\`; valid: ${allStatuses.join(", ")}`, usage)
          wanted = match
        }
        if (limit < 1) return yield* usageError(`--limit must be at least 1, got ${limit}`, usage)
        const filter = { status: wanted, pipeline: Option.getOrNull(pipeline), step: Option.getOrNull(step), limit }
        const runs = yield* listRuns(filter).pipe(Effect.catchTag("UnknownName", (e) => failWith(unknownName(e))))
        if (json) {
          yield* Console.log(
            JSON.stringify(
              { filter: { status: filter.status, pipeline: filter.pipeline, step: filter.step }, limit, runs: runs.map(runJson) },
              null,
              2
            )
          )
          return
        }
        if (runs.length === 0) {
          yield* Console.log("No runs match.")
          return
        }
        yield* Console.log(renderRuns(runs))
        if (runs.length === limit) yield* Console.log(`(the newest ${limit}; --limit N shows more)`)
      })
    )
).pipe(
  Command.withDescription(
    "List runs, newest first: id, step, sub-group, status, reason, attempt, software version, backend job, created, finished, failure. Exit 0: listed; 1: unknown pipeline or step, or database error; 2: usage (unknown status)."
  )
)
