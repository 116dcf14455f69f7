import { Args, Command } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { currentUser } from "../definitions/apply.ts"
import { defaultRetryStatuses, retryableStatuses, retryRuns } from "../runtime/ops/bulk-runs.ts"
import { retryRun, type RetryOutcome } from "../runtime/ops/retry.ts"
import { actOnMatchingRuns, bulkOptions, choosesRuns } from "./bulk-runs-cli.ts"
import { oneLineErrors } from "./command-failure.ts"
import { usageError } from "./command-failure.ts"
import { parseRunId, runIdArg } from "./run-arguments.ts"

/*
 * `ccat retry <run>`: a FAILED or CANCELLED run goes back to PENDING, for `ccat serve` to stage
 * and submit again (what changes on the run, and why: src/runtime/ops/retry.ts). Refused while
 * another run of the same step and sub-group is in flight. Exit 0 queued; 1 unknown run, a run
 * that cannot be retried, another run in flight, database error; 2 usage.
 *
 * `ccat retry --pipeline P --step S --status S [--yes]` (at least one of the three; without
 * --status the FAILED runs): retries each run that matches, one at a time, after saying how many
 * and asking (--yes where no one can be asked); a run that cannot be retried is said and the
 * others go on. Exit 0 all queued; 1 any not; 2 usage.
 */

const usage = "ccat retry <run> | ccat retry [--pipeline P] [--step S] [--status S] [--yes]"

const retriedLines = (outcome: RetryOutcome): ReadonlyArray<string> => [
  `Run ${outcome.runId} (${outcome.target}) is PENDING again (was ${outcome.from}; attempt ${outcome.attempt}); \`ccat serve\` submits it.`,
  ...(outcome.newerRunId === null
    ? []
    : [`note: run ${outcome.newerRunId} is newer for this sub-group; this retry re-runs the older run's inputs.`])
]

const chooseOptions = bulkOptions(
  "Retry",
  `Retry the runs in this status: ${retryableStatuses.join(" or ")} (default: ${defaultRetryStatuses.join(", ")}).`
)

export const retryCommand = Command.make(
  "retry",
  { run: runIdArg.pipe(Args.optional), ...chooseOptions },
  ({ run, pipeline, step, status, yes }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const choice = { pipeline, step, status, yes }
        const actor = yield* currentUser
        const now = new Date(yield* Clock.currentTimeMillis)
        if (Option.isNone(run)) {
          if (!choosesRuns(choice)) return yield* usageError("name a run, or choose runs with --pipeline, --step or --status", usage)
          return yield* actOnMatchingRuns(
            {
              verb: "retry",
              done: "retried",
              usage,
              defaultStatuses: defaultRetryStatuses,
              allowedStatuses: retryableStatuses,
              act: (runs) => retryRuns(runs, { actor, now }),
              describe: retriedLines
            },
            choice
          )
        }
        if (choosesRuns(choice)) return yield* usageError("a run id and --pipeline, --step or --status do not go together", usage)
        const runId = yield* parseRunId(run.value, usage)
        const outcome = yield* retryRun({ runId, actor, now })
        for (const line of retriedLines(outcome)) yield* Console.log(line)
      })
    )
).pipe(
  Command.withDescription(
    "Put a FAILED or CANCELLED run back to PENDING for another attempt, recording who asked. With --pipeline, --step or --status instead of a run: every run that matches (FAILED unless --status says), after a confirmation (--yes without a terminal). Exit 0: queued; 1: unknown run, not FAILED or CANCELLED, another run of its sub-group in flight, any of many not queued, or database error; 2: usage."
  )
)
