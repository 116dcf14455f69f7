import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { renderTable, utcSeconds } from "../runtime/ops/format.ts"
import { listRunsPage } from "../runtime/ops/list-runs.ts"
import { allStatuses, runJson, type RunSummary } from "../runtime/ops/run-row.ts"
import { usageError } from "./command-failure.ts"
import { failWith, oneLineErrors } from "./command-failure.ts"
import { intervalOption, stdoutIsTerminal, watchInterval, watchOption, watchSnapshots } from "./watch.ts"
import { jsonOption, parseInstant, parseStatus, runIdOf, unknownName } from "./run-arguments.ts"

/*
 * `ccat runs [--status S] [--pipeline P] [--step S] [--sub-group KEY] [--reason CODE]
 * [--since ISO] [--until ISO] [--before ID] [--limit N] [--json | --watch [--interval S]]`: the
 * runs, newest first (50 unless --limit says otherwise), through the same listRunsPage as the
 * HTTP API. Exit 0 (also when none match), 1 unknown pipeline or step or database error, 2 usage
 * (an unknown status, a limit below 1, a date or run id that is not one, --watch with --json).
 * `--watch` lists them again every 2 s (or --interval) until Ctrl-C (src/cli/watch.ts).
 *
 * `--json`: `{ "filter": {...}, "limit": N, "runs": [ { "id", "pipeline", "step",
 * "subGroupKey", "status", "reason", "attempt", "retryCount", "softwareVersion", "jobName",
 * "backendJobId", "runDir", "createdAt", "finishedAt", "failureReason" } ], "nextCursor" }`,
 * times in ISO 8601 UTC, absent values null; `nextCursor` is the `--before` of the next page,
 * null on the last.
 *
 * The arguments other commands share with it are in run-arguments.ts; how a command fails, in
 * command-failure.ts.
 */

const statusOption = Options.text("status").pipe(
  Options.withDescription(`Only runs in this status: ${allStatuses.join(", ")} (any case).`),
  Options.optional
)
const pipelineOption = Options.text("pipeline").pipe(Options.withDescription("Only runs of this pipeline."), Options.optional)
const stepOption = Options.text("step").pipe(
  Options.withDescription("Only runs of steps with this name (with --pipeline: of that pipeline's step)."),
  Options.optional
)
const subGroupOption = Options.text("sub-group").pipe(
  Options.withDescription("Only runs of this sub-group (its key, as listed)."),
  Options.optional
)
const reasonOption = Options.text("reason").pipe(
  Options.withDescription("Only runs created for this reason (NEW_DATA, UPSTREAM_CHANGED, MANUAL, …; as listed)."),
  Options.optional
)
const sinceOption = Options.text("since").pipe(
  Options.withDescription("Only runs created at or after this time (ISO 8601: 2026-05-01, 2026-05-01T12:00Z; UTC unless it says)."),
  Options.optional
)
const untilOption = Options.text("until").pipe(
  Options.withDescription("Only runs created before this time (as --since)."),
  Options.optional
)
const beforeOption = Options.text("before").pipe(
  Options.withDescription("Only runs older than this run id: the next page after a listing that ended before it."),
  Options.optional
)
const limitOption = Options.integer("limit").pipe(Options.withDescription("At most this many runs, newest first."), Options.withDefault(50))

const usage =
  "ccat runs [--status S] [--pipeline P] [--step S] [--sub-group KEY] [--reason CODE] [--since ISO] [--until ISO] [--before ID] [--limit N] [--json]"

/** An unknown pipeline or step, with the nearest known name and the ones there are. */
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

/** The runs as `ccat runs` prints them: the table, and how to see more when there are more. */
const runsText = (runs: ReadonlyArray<RunSummary>, nextCursor: number | null, cursor: number | null, limit: number): string => {
  if (runs.length === 0) return "No runs match."
  if (nextCursor === null) return renderRuns(runs)
  const more = cursor === null ? `(the newest ${limit}; --limit N shows more)` : `(${limit} shown; --before ${nextCursor} shows older ones)`
  return `${renderRuns(runs)}\n${more}`
}

const optionalInstant = (text: Option.Option<string>, option: string) =>
  Option.match(text, {
    onNone: () => Effect.succeed(null),
    onSome: (t) => {
      const at = parseInstant(t)
      return at === null
        ? usageError(`${option} expects a time in ISO 8601 (2026-05-01, 2026-05-01T12:00Z), got \`${t}\``, usage)
        : Effect.succeed(at)
    }
  })

export const runsCommand = Command.make(
  "runs",
  {
    status: statusOption,
    pipeline: pipelineOption,
    step: stepOption,
    subGroup: subGroupOption,
    reason: reasonOption,
    since: sinceOption,
    until: untilOption,
    before: beforeOption,
    limit: limitOption,
    json: jsonOption("the runs"),
    watch: watchOption,
    interval: intervalOption
  },
  ({ status, pipeline, step, subGroup, reason, since, until, before, limit, json, watch, interval }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const watching = yield* watchInterval({ watch, interval, json, usage })
        const wanted = Option.isSome(status) ? yield* parseStatus(status.value, allStatuses, usage) : null
        if (limit < 1) return yield* usageError(`--limit must be at least 1, got ${limit}`, usage)
        const from = yield* optionalInstant(since, "--since")
        const to = yield* optionalInstant(until, "--until")
        let cursor: number | null = null
        if (Option.isSome(before)) {
          cursor = runIdOf(before.value)
          if (cursor < 1) return yield* usageError(`--before expects a run id (a positive whole number), got \`${before.value}\``, usage)
        }
        const filter = {
          status: wanted,
          pipeline: Option.getOrNull(pipeline),
          step: Option.getOrNull(step),
          subGroupKey: Option.getOrNull(subGroup),
          reason: Option.getOrNull(reason),
          since: from,
          until: to,
          before: cursor
        }
        const page = listRunsPage({ ...filter, limit }).pipe(Effect.catchTag("UnknownName", (e) => failWith(unknownName(e))))
        if (json) {
          const { runs, nextCursor } = yield* page
          const shown = { ...filter, since: from?.toISOString() ?? null, until: to?.toISOString() ?? null }
          yield* Console.log(JSON.stringify({ filter: shown, limit, runs: runs.map(runJson), nextCursor }, null, 2))
          return
        }
        const text = Effect.map(page, ({ runs, nextCursor }) => runsText(runs, nextCursor, cursor, limit))
        if (Option.isSome(watching)) {
          return yield* watchSnapshots(text, { title: "ccat runs", intervalSeconds: watching.value, terminal: stdoutIsTerminal() })
        }
        yield* Console.log(yield* text)
      })
    )
).pipe(
  Command.withDescription(
    "List runs, newest first: id, step, sub-group, status, reason, attempt, software version, backend job, created, finished, failure; filtered by status, pipeline, step, sub-group, reason and creation time, a page at a time (--before); --watch lists them again every 2 s until Ctrl-C. Exit 0: listed; 1: unknown pipeline or step, or database error; 2: usage (unknown status, bad time or run id, --watch with --json)."
  )
)
