import { Effect } from "effect"
import type { BackendUnavailable } from "./execution-backend.ts"
import { failedCall, type SlurmCommand } from "./slurm-command.ts"

/** Whether the controller answers here: one `sinfo` listing the partitions. */
export const probe = (slurm: SlurmCommand): Effect.Effect<void, BackendUnavailable> =>
  Effect.gen(function* () {
    const r = yield* slurm("sinfo", ["-h", "-o", "%P"])
    if (r.exitCode !== 0) return yield* Effect.fail(failedCall("sinfo", r))
  })
