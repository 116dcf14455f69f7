import { Effect, Ref } from "effect"
import type { BackendUnavailable, JobStatus } from "./execution-backend.ts"
import { chunks, failedCall, type SlurmCommand } from "./slurm-command.ts"
import { idsPerCall } from "./slurm-options.ts"
import { isAccountingDisabledMessage, parseSacctStatuses, parseScontrolJobs, slurmErrorText } from "./slurm-parse.ts"
import type { SlurmContext } from "./slurm-state.ts"

/*
 * Finished jobs' details: from accounting (sacct against slurmdbd, or the jobcomp file on a
 * cluster without slurmdbd), else from the controller (scontrol), which knows a job only for a
 * few minutes after it ends and has no CPU time or MaxRSS. Which of the three answers here is
 * learnt from the sacct calls Slurm refuses, and kept in the state's accountingMode.
 */

export type AccountingContext = SlurmContext<"maxIdsPerCall", "accountingMode">

const sacctFields = "JobID,State,ExitCode,Elapsed,TotalCPU,MaxRSS,End"

/**
 * One sacct call in the current accounting mode. When sacct says accounting storage is
 * disabled it switches to the jobcomp file (`sacct -c`) and asks again at once; when that
 * cannot be read either, to the controller. `null`: no accounting can answer here (controller
 * mode). Fails when slurmdbd exists but does not answer now. Every reader of accounting goes
 * through here, so a switch made by one is seen by all and none stops at the switch.
 */
export const askAccounting = (ctx: AccountingContext, args: ReadonlyArray<string>): Effect.Effect<string | null, BackendUnavailable> =>
  Effect.gen(function* () {
    const mode = ctx.state.accountingMode
    for (;;) {
      const m = yield* Ref.get(mode)
      if (m === "controller") return null
      const r = yield* ctx.slurm("sacct", m === "jobcomp" ? ["-c", ...args] : [...args])
      if (r.exitCode === 0) return r.stdout
      if (m === "slurmdbd" && isAccountingDisabledMessage(r.stderr)) {
        yield* Effect.logInfo("slurm: accounting storage is disabled; reading the jobcomp file (sacct -c) from now on")
        yield* Ref.set(mode, "jobcomp")
        continue
      }
      if (m === "jobcomp") {
        yield* Effect.logInfo(`slurm: sacct -c failed (${slurmErrorText(r.stderr)}); asking the controller (scontrol) from now on`)
        yield* Ref.set(mode, "controller")
        return null
      }
      return yield* Effect.fail(failedCall("sacct", r))
    }
  })

/**
 * Details of finished jobs from accounting, in one sacct call (per chunk). `null` when
 * accounting cannot answer now (slurmdbd down): the caller decides whether that is fatal.
 */
export const accountingStatuses = (
  ctx: AccountingContext,
  ids: ReadonlyArray<string>
): Effect.Effect<Map<string, JobStatus> | null, BackendUnavailable> =>
  Effect.gen(function* () {
    const result = new Map<string, JobStatus>()
    if (ids.length === 0) return result
    for (const chunk of chunks(ids, idsPerCall(ctx.options))) {
      const answer = yield* askAccounting(ctx, ["-P", "-n", "-j", chunk.join(","), "-o", sacctFields]).pipe(
        Effect.catchAll((e) => Effect.logWarning(`slurm: ${e.reason}`).pipe(Effect.as(null)))
      )
      if (answer === null) return null
      for (const [id, status] of parseSacctStatuses(answer)) result.set(id, status)
    }
    return result
  })

/** Jobs the controller still holds, with exit codes, from ONE `scontrol show job -o` (all jobs). */
export const controllerStatuses = (slurm: SlurmCommand): Effect.Effect<Map<string, JobStatus>, BackendUnavailable> =>
  Effect.gen(function* () {
    const r = yield* slurm("scontrol", ["show", "job", "-o"])
    if (r.exitCode !== 0) {
      if (/no jobs in the system/i.test(r.stdout + r.stderr)) return new Map<string, JobStatus>()
      return yield* Effect.fail(failedCall("scontrol", r))
    }
    return parseScontrolJobs(r.stdout)
  })
