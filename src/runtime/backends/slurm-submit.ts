import { Effect, Either } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { BackendUnavailable, JobRejected, type JobSpec } from "./execution-backend.ts"
import { type AdmissionContext, checkQueueCap, noteSubmitted, takeToken } from "./slurm-admission.ts"
import { BACKEND, unavailable } from "./slurm-command.ts"
import { isNotContactedMessage, isSubmitLimitMessage, isUnavailableMessage, parseSbatchJobId, slurmErrorText } from "./slurm-parse.ts"
import { renderBatchScript, type SlurmScriptOptions } from "./slurm-script.ts"
import type { SlurmContext } from "./slurm-state.ts"

/*
 * Submitting a job: the batch script is written into the run folder (logs/job.sbatch, kept for
 * the person reading the run), admission is asked (slurm-admission.ts), then one sbatch. Every
 * failure says whether the job surely did not reach Slurm (`notSubmitted`): only then may the
 * caller submit again without first asking findJobs, or the job could run twice.
 */

export type SubmitContext = AdmissionContext & SlurmContext<keyof SlurmScriptOptions, "submitLock">

const writeScript = (job: JobSpec, script: string): Effect.Effect<string, BackendUnavailable | JobRejected> =>
  Effect.tryPromise({
    try: async () => {
      const logs = join(job.runDir, "logs")
      await mkdir(logs, { recursive: true })
      const path = join(logs, "job.sbatch")
      await writeFile(path, script, { mode: 0o644 })
      return path
    },
    catch: (e) => {
      const err = e as NodeJS.ErrnoException
      const reason = `cannot write the batch script in ${job.runDir}: ${err.message}`
      // A folder that cannot be written is the run's problem; a full or flaky disk may pass.
      return err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS" || err.code === "ENOTDIR"
        ? new JobRejected({ backend: BACKEND, reason })
        : unavailable(reason)
    }
  })

/** A failure before sbatch was run: the job surely did not reach Slurm. */
const notSubmitted = <A, E>(effect: Effect.Effect<A, E | BackendUnavailable>) =>
  Effect.mapError(effect, (e) => (e instanceof BackendUnavailable ? new BackendUnavailable({ ...e, notSubmitted: true }) : e))

export const submit = (ctx: SubmitContext, job: JobSpec): Effect.Effect<string, BackendUnavailable | JobRejected> =>
  ctx.state.submitLock.withPermits(1)(
    Effect.gen(function* () {
      const script = renderBatchScript(job, ctx.options)
      if (Either.isLeft(script)) return yield* Effect.fail(script.left)
      const path = yield* notSubmitted(writeScript(job, script.right))
      yield* notSubmitted(checkQueueCap(ctx))
      yield* notSubmitted(takeToken(ctx))
      const r = yield* ctx.slurm("sbatch", ["--parsable", path])
      if (r.exitCode !== 0) {
        const text = slurmErrorText(r.stderr, r.stdout)
        if (isSubmitLimitMessage(r.stderr))
          return yield* Effect.fail(new BackendUnavailable({ backend: BACKEND, reason: `sbatch: ${text}`, notSubmitted: true }))
        if (!isUnavailableMessage(r.stderr)) return yield* Effect.fail(new JobRejected({ backend: BACKEND, reason: text }))
        // A controller that could not be contacted never got the job; one that stopped answering may have.
        return yield* Effect.fail(
          new BackendUnavailable({ backend: BACKEND, reason: `sbatch: ${text}`, notSubmitted: isNotContactedMessage(r.stderr) })
        )
      }
      const jobId = parseSbatchJobId(r.stdout)
      if (jobId === null) return yield* Effect.fail(unavailable(`sbatch printed no job id: ${JSON.stringify(r.stdout.slice(0, 200))}`))
      yield* noteSubmitted(ctx, jobId)
      return jobId
    })
  )
