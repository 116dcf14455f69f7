import { Args, Command, Options } from "@effect/cli"
import type { SqlClient, SqlError } from "@effect/sql"
import { Console, Context, Effect, Option } from "effect"
import { createInterface } from "node:readline/promises"
import { didYouMean } from "../compiler/suggest.ts"
import type { RunStatus } from "../runtime/execution/run-status.ts"
import { runsMatching, type BulkOutcome } from "../runtime/ops/bulk-runs.ts"
import type { UnknownName } from "../runtime/ops/errors.ts"
import { renderTable, utcSeconds } from "../runtime/ops/format.ts"
import { listRunsPage } from "../runtime/ops/list-runs.ts"
import { allStatuses, type RunSummary } from "../runtime/ops/run-row.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { failWith, oneLineErrors } from "./plan-command.ts"

/*
 * `ccat runs [--status S] [--pipeline P] [--step S] [--sub-group KEY] [--reason CODE]
 * [--since ISO] [--until ISO] [--before ID] [--limit N] [--json]`: the runs, newest first (50
 * unless --limit says otherwise), through the same listRunsPage as the HTTP API. Exit 0 (also
 * when none match), 1 unknown pipeline or step or database error, 2 usage (an unknown status, a
 * limit below 1, a date or run id that is not one).
 *
 * `--json`: `{ "filter": {...}, "limit": N, "runs": [ { "id", "pipeline", "step",
 * "subGroupKey", "status", "reason", "attempt", "retryCount", "softwareVersion", "jobName",
 * "backendJobId", "runDir", "createdAt", "finishedAt", "failureReason" } ], "nextCursor" }`,
 * times in ISO 8601 UTC, absent values null; `nextCursor` is the `--before` of the next page,
 * null on the last.
 *
 * Also here, as the commands that list runs by filter share them: the bulk forms of `ccat
 * cancel` and `ccat retry` (`actOnMatchingRuns`).
 */

/** Prints a usage error and exits 2. */
export const usageError = (message: string, usage: string) =>
  Console.error(`error: ${message}\nusage: ${usage}`).pipe(Effect.zipRight(new CommandExit({ code: ExitCode.usage })))

const runIdOf = (text: string): number => {
  const m = /^(?:run-)?(\d{1,15})$/.exec(text.trim())
  return m === null ? 0 : Number(m[1])
}

/** A run id argument: a positive whole number (`12`, also `run-12` as run folders name it). */
export const parseRunId = (text: string, usage: string): Effect.Effect<number, CommandExit> => {
  const id = runIdOf(text)
  return id > 0
    ? Effect.succeed(id)
    : usageError(`expected a run id (a positive whole number, as \`ccat runs\` lists them), got \`${text}\``, usage)
}

/**
 * `2026-05-01`, `2026-05-01T12:00`, `2026-05-01T12:00:30.5Z`, `2026-05-01 12:00+02:00`: a time
 * without an offset is UTC, as ccat prints every time; null when the text is none of these (or
 * names a day that does not exist).
 */
export const parseInstant = (text: string): Date | null => {
  const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)(Z|[+-]\d\d:?\d\d)?)?$/i.exec(text.trim())
  if (m === null) return null
  const [, day, time, offset] = m
  if (new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) return null
  const at = new Date(`${day}T${time ?? "00:00"}${offset ?? "Z"}`)
  return Number.isNaN(at.getTime()) ? null : at
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

/** A status named in any case, or a usage error listing the ones `allowed` (`refusal` says it for a command that takes only some). */
const parseStatus = (text: string, allowed: ReadonlyArray<RunStatus>, usage: string, refusal?: string) => {
  const upper = text.trim().toUpperCase()
  const match = allowed.find((s) => s === upper)
  if (match !== undefined) return Effect.succeed(match)
  return usageError(refusal ?? `unknown status \`${text}\`; valid: ${allowed.join(", ")}`, usage)
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
    json: jsonOption("the runs")
  },
  ({ status, pipeline, step, subGroup, reason, since, until, before, limit, json }) =>
    oneLineErrors(
      Effect.gen(function* () {
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
        const page = yield* listRunsPage({ ...filter, limit }).pipe(Effect.catchTag("UnknownName", (e) => failWith(unknownName(e))))
        const { runs, nextCursor } = page
        if (json) {
          const shown = { ...filter, since: from?.toISOString() ?? null, until: to?.toISOString() ?? null }
          yield* Console.log(JSON.stringify({ filter: shown, limit, runs: runs.map(runJson), nextCursor }, null, 2))
          return
        }
        if (runs.length === 0) {
          yield* Console.log("No runs match.")
          return
        }
        yield* Console.log(renderRuns(runs))
        if (nextCursor !== null) {
          yield* Console.log(
            cursor === null ? `(the newest ${limit}; --limit N shows more)` : `(${limit} shown; --before ${nextCursor} shows older ones)`
          )
        }
      })
    )
).pipe(
  Command.withDescription(
    "List runs, newest first: id, step, sub-group, status, reason, attempt, software version, backend job, created, finished, failure; filtered by status, pipeline, step, sub-group, reason and creation time, a page at a time (--before). Exit 0: listed; 1: unknown pipeline or step, or database error; 2: usage (unknown status, bad time or run id)."
  )
)

/* ---- The bulk forms of `ccat cancel` and `ccat retry` ---- */

/** The most runs one bulk command acts on; more are left for the next. */
export const bulkLimit = 10_000

/** Asks a yes/no question on the terminal; anything but `y` or `yes` is no. */
const askOnTerminal = (question: string): Effect.Effect<boolean> =>
  Effect.acquireUseRelease(
    Effect.sync(() => createInterface({ input: process.stdin, output: process.stdout })),
    (rl) => Effect.promise(() => rl.question(question)).pipe(Effect.map((answer) => /^(y|yes)$/i.test(answer.trim()))),
    (rl) => Effect.sync(() => rl.close())
  )

/**
 * How a bulk command gets a person's yes: on a terminal it asks; anywhere else there is no one
 * to ask, and it needs --yes. A Reference so tests can be a terminal (or not) whatever runs them.
 */
export class Confirmation extends Context.Reference<Confirmation>()("ccat/Confirmation", {
  defaultValue: (): { readonly interactive: () => boolean; readonly ask: (question: string) => Effect.Effect<boolean> } => ({
    interactive: () => process.stdin.isTTY === true,
    ask: askOnTerminal
  })
}) {}

/** The options that choose runs for a bulk command, and --yes. */
export const bulkOptions = (verb: string, statusHelp: string) => ({
  pipeline: Options.text("pipeline").pipe(
    Options.withDescription(`${verb} the runs of this pipeline (instead of one run).`),
    Options.optional
  ),
  step: Options.text("step").pipe(
    Options.withDescription(`${verb} the runs of steps with this name (with --pipeline: of that pipeline's step).`),
    Options.optional
  ),
  status: Options.text("status").pipe(Options.withDescription(statusHelp), Options.optional),
  yes: Options.boolean("yes").pipe(Options.withDescription("Do not ask for confirmation (required when standard input is not a terminal)."))
})

export interface BulkChoice {
  readonly pipeline: Option.Option<string>
  readonly step: Option.Option<string>
  readonly status: Option.Option<string>
  readonly yes: boolean
}

export const choosesRuns = (c: BulkChoice): boolean => Option.isSome(c.pipeline) || Option.isSome(c.step) || Option.isSome(c.status)

export interface BulkAction<A, R> {
  /** `cancel`, `retry`: as the question and the lines say it. */
  readonly verb: string
  /** `cancelled`, `retried`. */
  readonly done: string
  readonly usage: string
  readonly defaultStatuses: ReadonlyArray<RunStatus>
  readonly allowedStatuses: ReadonlyArray<RunStatus>
  readonly act: (runs: ReadonlyArray<RunSummary>) => Effect.Effect<ReadonlyArray<BulkOutcome<A>>, never, R>
  /** The lines for a run the action succeeded on. */
  readonly describe: (outcome: A) => ReadonlyArray<string>
}

/** `A`, `A or B`, `A, B or C`. */
const anyOf = (words: ReadonlyArray<string>): string =>
  words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`

const runsWord = (n: number) => (n === 1 ? "1 run" : `${n} runs`)

/**
 * The bulk form: the runs the filter matches (newest first), said and confirmed, then `act` on
 * them, a line for each and a summary. Exit 0 when every run succeeded, 1 when any did not (or
 * the person said no), 2 usage.
 */
export const actOnMatchingRuns = <A, R>(
  action: BulkAction<A, R>,
  choice: BulkChoice
): Effect.Effect<void, CommandExit | SqlError.SqlError, R | SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const statuses = Option.isSome(choice.status)
      ? [
          yield* parseStatus(
            choice.status.value,
            action.allowedStatuses,
            action.usage,
            `\`ccat ${action.verb} --status\` takes ${anyOf(action.allowedStatuses)}, got \`${choice.status.value}\``
          )
        ]
      : action.defaultStatuses
    const filter = { pipeline: Option.getOrNull(choice.pipeline), step: Option.getOrNull(choice.step), status: statuses }
    const found = yield* runsMatching(filter, bulkLimit + 1).pipe(Effect.catchTag("UnknownName", (e) => failWith(unknownName(e))))
    if (found.length === 0) return yield* Console.log(`No runs match (${statuses.join(", ")}).`)
    const runs = found.slice(0, bulkLimit)
    const first = runs.slice(0, 10).map((r) => r.id)
    const more = runs.length - first.length
    yield* Console.log(
      `${runsWord(runs.length)} ${runs.length === 1 ? "matches" : "match"} (${statuses.join(", ")}): ${first.join(", ")}${more > 0 ? ` and ${more} more` : ""}`
    )
    if (found.length > bulkLimit) yield* Console.log(`(more than ${bulkLimit} match: these are the newest; run it again for the rest)`)
    const Verb = action.verb.charAt(0).toUpperCase() + action.verb.slice(1)
    if (!choice.yes) {
      const confirmation = yield* Confirmation
      if (!confirmation.interactive()) {
        return yield* usageError(
          `standard input is not a terminal, so ccat cannot ask: pass --yes to ${action.verb} ${runsWord(runs.length)}`,
          action.usage
        )
      }
      if (!(yield* confirmation.ask(`${Verb} ${runsWord(runs.length)}? [y/N] `))) {
        yield* Console.log(`Nothing ${action.done}.`)
        return yield* new CommandExit({ code: ExitCode.failure })
      }
    }
    const outcomes = yield* action.act(runs)
    for (const o of outcomes) {
      if (o.ok) for (const line of action.describe(o.outcome)) yield* Console.log(line)
      else yield* Console.log(`Run ${o.runId} not ${action.done}: ${o.error}`)
    }
    const failed = outcomes.filter((o) => !o.ok).length
    const Done = action.done.charAt(0).toUpperCase() + action.done.slice(1)
    yield* Console.log(
      `${Done} ${outcomes.length - failed} of ${runsWord(outcomes.length)}${failed === 0 ? "." : `; ${failed} could not be ${action.done}.`}`
    )
    if (failed > 0) return yield* new CommandExit({ code: ExitCode.failure })
  })
