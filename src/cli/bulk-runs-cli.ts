import { Options } from "@effect/cli"
import type { SqlClient, SqlError } from "@effect/sql"
import { Console, Effect, Option } from "effect"
import type { RunStatus } from "../runtime/execution/run-status.ts"
import { runsMatching, type BulkOutcome } from "../runtime/ops/bulk-runs.ts"
import type { RunSummary } from "../runtime/ops/run-row.ts"
import { Confirmation } from "./confirmation.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { failWith } from "./command-failure.ts"
import { usageError } from "./command-failure.ts"
import { parseStatus, unknownName } from "./run-arguments.ts"

/*
 * The bulk forms of `ccat cancel` and `ccat retry` (`--pipeline P --step S --status S [--yes]`):
 * how they choose runs, say them, get a yes and report each run, so the two say it alike. What
 * each does to a run is its own (src/runtime/ops/bulk-runs.ts).
 */

/** The most runs one bulk command acts on; more are left for the next. */
export const bulkLimit = 10_000

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
