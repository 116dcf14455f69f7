import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Layer, Option } from "effect"
import { currentUser } from "../definitions/apply.ts"
import { BackendUnavailable, ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { cancelRun, type BackendAccess } from "../runtime/ops/cancel.ts"
import { NoBackend } from "../runtime/ops/errors.ts"
import { failWith, oneLineErrors } from "./plan-command.ts"
import { parseRunId, runIdArg } from "./runs-command.ts"

/*
 * `ccat cancel <run> [--reason TEXT]`: cancel a run that is PENDING, STAGING_DATA, SUBMITTED or
 * RUNNING: its backend job first (if it has one), then the run becomes CANCELLED, with the person
 * (CCAT_USER, else the OS user) and the reason in its event log. src/runtime/ops/cancel.ts has
 * the details. Exit 0 cancelled; 1 unknown run, a run that ended or is collecting its results,
 * the backend unreachable (nothing changed), database error; 2 usage.
 *
 * The backend is needed only for a run that has (or may have) a job. Two ways to give it:
 * - `cancelCommand` takes an ExecutionBackend from its environment when there is one
 *   (`Command.provide(backendLayer)`, built eagerly) and works without one for runs without a job;
 * - `cancelCommandWithBackend(layer)` builds the layer only when the run has a job, so
 *   cancelling a PENDING run never touches the backend.
 */

const reasonOption = Options.text("reason").pipe(Options.withDescription("Why, recorded in the run's event log."), Options.optional)

const usage = "ccat cancel <run> [--reason TEXT]"

const make = (access: Effect.Effect<BackendAccess>) =>
  Command.make("cancel", { run: runIdArg, reason: reasonOption }, ({ run, reason }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const runId = yield* parseRunId(run, usage)
        const actor = yield* currentUser
        const now = new Date(yield* Clock.currentTimeMillis)
        const outcome = yield* cancelRun({ runId, actor, reason: Option.getOrNull(reason), now }, yield* access).pipe(
          Effect.catchTag("BackendUnavailable", (e) => failWith(`cannot cancel run ${runId}: ${e.message}; the run is unchanged`))
        )
        yield* Console.log(
          `Cancelled run ${runId} (was ${outcome.from}${outcome.jobId === null ? ", no backend job" : `; backend job ${outcome.jobId} cancelled`}).`
        )
      })
    )
  ).pipe(
    Command.withDescription(
      "Cancel a run that is pending, staging, submitted or running: cancels its backend job, then marks it CANCELLED with who and why. Exit 0: cancelled; 1: unknown run, run already ended or collecting, backend unreachable (nothing changed), or database error; 2: usage."
    )
  )

/** The ExecutionBackend of the environment, if any. */
const fromEnvironment: Effect.Effect<BackendAccess> = Effect.map(Effect.serviceOption(ExecutionBackend), (backend) => ({
  use: (runId, job, f) => (Option.isSome(backend) ? f(backend.value) : Effect.fail(new NoBackend({ runId, job })))
}))

/** A backend built from `layer` only when it is needed, and released right after. */
const fromLayer = (layer: Layer.Layer<ExecutionBackend, unknown>): Effect.Effect<BackendAccess> =>
  Effect.succeed({
    use: (_runId, _job, f) =>
      Effect.flatMap(ExecutionBackend, f).pipe(
        Effect.provide(layer),
        Effect.catchAll((e) =>
          e instanceof BackendUnavailable ? Effect.fail(e) : Effect.fail(new BackendUnavailable({ backend: "configured", reason: e instanceof Error ? e.message : String(e) }))
        )
      )
  })

export const cancelCommand = make(fromEnvironment)

export const cancelCommandWithBackend = (layer: Layer.Layer<ExecutionBackend, unknown>) => make(fromLayer(layer))
