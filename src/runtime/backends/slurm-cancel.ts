import { Effect } from "effect"
import type { BackendUnavailable, CancelOutcome } from "./execution-backend.ts"
import { failedCall, type SlurmCommand } from "./slurm-command.ts"
import { isAlreadyFinishedMessage, isInvalidJobIdMessage, isJobId } from "./slurm-parse.ts"

/**
 * Cancel one job with scancel. A job that already ended, or that Slurm no longer knows, is an
 * answer (the caller records it), not a failure; a malformed id is a bug in the caller.
 */
export const cancel = (slurm: SlurmCommand, jobId: string): Effect.Effect<CancelOutcome, BackendUnavailable> =>
  Effect.gen(function* () {
    if (!isJobId(jobId)) return yield* Effect.dieMessage(`slurm: not a Slurm job id: ${JSON.stringify(jobId)}`)
    const r = yield* slurm("scancel", [jobId])
    if (r.exitCode === 0) return "cancelled" as const
    if (isAlreadyFinishedMessage(r.stderr)) return "ended" as const
    if (isInvalidJobIdMessage(r.stderr)) return "unknown" as const
    return yield* Effect.fail(failedCall("scancel", r))
  })
