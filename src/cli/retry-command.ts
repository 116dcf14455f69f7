import { Command } from "@effect/cli"
import { Clock, Console, Effect } from "effect"
import { currentUser } from "../definitions/apply.ts"
import { retryRun } from "../runtime/ops/retry.ts"
import { oneLineErrors } from "./plan-command.ts"
import { parseRunId, runIdArg } from "./runs-command.ts"

/*
 * `ccat retry <run>`: a FAILED or CANCELLED run goes back to PENDING, for `ccat serve` to stage
 * and submit again (what changes on the run, and why: src/runtime/ops/retry.ts). Refused while
 * another run of the same step and sub-group is in flight. Exit 0 queued; 1 unknown run, a run
 * that cannot be retried, another run in flight, database error; 2 usage.
 */

const usage = "ccat retry <run>"

export const retryCommand = Command.make("retry", { run: runIdArg }, ({ run }) =>
  oneLineErrors(
    Effect.gen(function* () {
      const runId = yield* parseRunId(run, usage)
      const actor = yield* currentUser
      const now = new Date(yield* Clock.currentTimeMillis)
      const outcome = yield* retryRun({ runId, actor, now })
      yield* Console.log(
        `Run ${runId} (${outcome.target}) is PENDING again (was ${outcome.from}; attempt ${outcome.attempt}); \`ccat serve\` submits it.`
      )
      if (outcome.newerRunId !== null) {
        yield* Console.log(`note: run ${outcome.newerRunId} is newer for this sub-group; this retry re-runs the older run's inputs.`)
      }
    })
  )
).pipe(
  Command.withDescription(
    "Put a FAILED or CANCELLED run back to PENDING for another attempt, recording who asked. Exit 0: queued; 1: unknown run, not FAILED or CANCELLED, another run of its sub-group in flight, or database error; 2: usage."
  )
)
