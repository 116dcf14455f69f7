import { Effect, Ref } from "effect"
import type { BackendUnavailable } from "./execution-backend.ts"
import { unavailable } from "./slurm-command.ts"
import { slurmErrorText } from "./slurm-parse.ts"
import type { SlurmContext } from "./slurm-state.ts"

/**
 * The user Slurm sees our commands as (through commandPrefix, if any), which owns the jobs we
 * submit: asked once with `id -un`, then remembered, since it cannot change while we run.
 */
export const submitter = (ctx: SlurmContext<never, "submitter">): Effect.Effect<string, BackendUnavailable> =>
  Effect.gen(function* () {
    const known = yield* Ref.get(ctx.state.submitter)
    if (known !== null) return known
    const r = yield* ctx.slurm("id", ["-un"])
    const user = r.stdout.trim()
    if (r.exitCode !== 0 || user === "")
      return yield* Effect.fail(
        unavailable(`cannot tell which user submits jobs (id -un: ${slurmErrorText(r.stderr, r.stdout) || `exit ${r.exitCode}`})`)
      )
    yield* Ref.set(ctx.state.submitter, user)
    return user
  })
