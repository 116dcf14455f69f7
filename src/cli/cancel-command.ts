import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, Effect, type Layer, Option } from "effect"
import { currentUser } from "../definitions/apply.ts"
import { BackendUnavailable, ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { cancelRuns } from "../runtime/ops/bulk-runs.ts"
import { cancellableStatuses, cancelRun, type BackendAccess, type CancelOutcome } from "../runtime/ops/cancel.ts"
import { backendOfJobPlace } from "./backend-layer.ts"
import { actOnMatchingRuns, bulkOptions, choosesRuns } from "./bulk-runs-cli.ts"
import { failWith, oneLineErrors } from "./command-failure.ts"
import { usageError } from "./command-failure.ts"
import { parseRunId, runIdArg } from "./run-arguments.ts"

/*
 * `ccat cancel <run> [--reason TEXT]`: cancel a run that is PENDING, STAGING_DATA, SUBMITTED or
 * RUNNING: its backend job first (if it has one), then the run becomes CANCELLED, with the person
 * (CCAT_USER, else the OS user) and the reason in its event log. src/runtime/ops/cancel.ts has
 * the details. Exit 0 cancelled; 1 unknown run, a run that ended or is collecting its results,
 * the backend unreachable (nothing changed), database error; 2 usage.
 *
 * The backend is needed only for a run that has (or may have) a job, and it is the one that
 * job went to: the backend recorded with the job's name (else the one the run's location
 * declares), configured from the location's definition, never one the environment chooses.
 * A backend that cannot be reached here is an error that names the location; nothing changes.
 * - `cancelCommand` builds that backend only when the run has a job, so cancelling a PENDING
 *   run never touches one;
 * - `cancelCommandWithBackend(layer)` uses `layer` for every job instead (tests' stand-ins).
 *
 * `ccat cancel --pipeline P --step S --status S [--reason TEXT] [--yes]` (at least one of the
 * three; without --status every cancellable one): cancels each run that matches, one at a time,
 * after saying how many and asking (--yes where no one can be asked); a run that cannot be
 * cancelled is said and the others go on. Exit 0 all cancelled; 1 any not; 2 usage.
 */

const reasonOption = Options.text("reason").pipe(Options.withDescription("Why, recorded in the run's event log."), Options.optional)

const usage = "ccat cancel <run> [--reason TEXT] | ccat cancel [--pipeline P] [--step S] [--status S] [--reason TEXT] [--yes]"

/** What became of the run's job, as the backend said: never "cancelled" for a job it did not cancel. */
const jobWords = (job: CancelOutcome["job"]): string => {
  if (job === null) return ", no backend job"
  switch (job.outcome) {
    case "cancelled":
      return `; ${job.backend} job ${job.id} cancelled`
    case "ended":
      return `; ${job.backend} job ${job.id} had already ended`
    case "unknown":
      return `; the ${job.backend} backend does not know job ${job.id}: nothing was running`
  }
}

const cancelledLine = (outcome: CancelOutcome): string => `Cancelled run ${outcome.runId} (was ${outcome.from}${jobWords(outcome.job)}).`

const chooseOptions = bulkOptions("Cancel", `Cancel the runs in this status (default: any of ${cancellableStatuses.join(", ")}).`)

const make = (access: Effect.Effect<BackendAccess>) =>
  Command.make(
    "cancel",
    { run: runIdArg.pipe(Args.optional), reason: reasonOption, ...chooseOptions },
    ({ run, reason, pipeline, step, status, yes }) =>
      oneLineErrors(
        Effect.gen(function* () {
          const choice = { pipeline, step, status, yes }
          const actor = yield* currentUser
          const now = new Date(yield* Clock.currentTimeMillis)
          if (Option.isNone(run)) {
            if (!choosesRuns(choice)) return yield* usageError("name a run, or choose runs with --pipeline, --step or --status", usage)
            const backend = yield* access
            return yield* actOnMatchingRuns(
              {
                verb: "cancel",
                done: "cancelled",
                usage,
                defaultStatuses: cancellableStatuses,
                allowedStatuses: cancellableStatuses,
                act: (runs) => cancelRuns(runs, { actor, reason: Option.getOrNull(reason), now }, backend),
                describe: (outcome) => [cancelledLine(outcome)]
              },
              choice
            )
          }
          if (choosesRuns(choice)) return yield* usageError("a run id and --pipeline, --step or --status do not go together", usage)
          const runId = yield* parseRunId(run.value, usage)
          const outcome = yield* cancelRun({ runId, actor, reason: Option.getOrNull(reason), now }, yield* access).pipe(
            Effect.catchTag("BackendUnavailable", (e) => failWith(`cannot cancel run ${runId}: ${e.message}; the run is unchanged`))
          )
          yield* Console.log(cancelledLine(outcome))
        })
      )
  ).pipe(
    Command.withDescription(
      "Cancel a run that is pending, staging, submitted or running: cancels its job on the backend the job went to (as the run's location declares it; never one the environment picks) and says what the backend did with it, then marks the run CANCELLED with who and why. With --pipeline, --step or --status instead of a run: every run that matches, after a confirmation (--yes without a terminal). Exit 0: cancelled; 1: unknown run, run already ended or collecting, backend unreachable (nothing changed), any of many not cancelled, or database error; 2: usage."
    )
  )

/** A backend built from `layer` only when it is needed, and released right after. */
const fromLayer = (layer: Layer.Layer<ExecutionBackend, unknown>): Effect.Effect<BackendAccess> =>
  Effect.succeed({
    use: (_place, f) =>
      Effect.flatMap(ExecutionBackend, f).pipe(
        Effect.provide(layer),
        Effect.catchAll((e) =>
          e instanceof BackendUnavailable
            ? Effect.fail(e)
            : Effect.fail(new BackendUnavailable({ backend: "configured", reason: e instanceof Error ? e.message : String(e) }))
        )
      )
  })

export const cancelCommand = make(backendOfJobPlace.pipe(Effect.orDie))

export const cancelCommandWithBackend = (layer: Layer.Layer<ExecutionBackend, unknown>) => make(fromLayer(layer))
