import { Effect } from "effect"
import type { BackendUnavailable, FoundJob } from "./execution-backend.ts"
import { askAccounting, type AccountingContext } from "./slurm-accounting.ts"
import { chunks, failedCall } from "./slurm-command.ts"
import { idsPerCall } from "./slurm-options.ts"
import { fieldSeparator, isListableJobName, parseFoundJobs, sacctFoundJobFields, squeueFoundJobFormat } from "./slurm-parse.ts"

/**
 * Every job under the given names, of any user: first from the queue (one squeue), then the
 * names it did not show from accounting (one sacct over the last 7 days). With accounting
 * down, "not found" could make the caller submit twice: it is BackendUnavailable instead.
 */
export const findJobs = (
  ctx: AccountingContext,
  jobNames: ReadonlyArray<string>
): Effect.Effect<ReadonlyMap<string, ReadonlyArray<FoundJob>>, BackendUnavailable> =>
  Effect.gen(function* () {
    const names = [...new Set(jobNames)].filter(isListableJobName)
    const found = new Map<string, Array<FoundJob>>()
    const add = (jobs: ReadonlyArray<FoundJob>) => {
      for (const job of jobs) {
        if (!names.includes(job.jobName)) continue
        const list = found.get(job.jobName) ?? []
        if (!list.some((j) => j.jobId === job.jobId)) list.push(job)
        found.set(job.jobName, list)
      }
    }
    if (names.length === 0) return found
    const perCall = idsPerCall(ctx.options)
    for (const chunk of chunks(names, perCall)) {
      const r = yield* ctx.slurm("squeue", ["-h", "-t", "all", `--name=${chunk.join(",")}`, "-o", squeueFoundJobFormat])
      if (r.exitCode !== 0) return yield* Effect.fail(failedCall("squeue", r))
      add(parseFoundJobs(r.stdout))
    }
    const rest = names.filter((n) => !found.has(n))
    for (const chunk of chunks(rest, perCall)) {
      const answer = yield* askAccounting(ctx, [
        "-n",
        "-P",
        "-X",
        "--allusers",
        `--delimiter=${fieldSeparator}`,
        `--name=${chunk.join(",")}`,
        "-o",
        sacctFoundJobFields,
        "-S",
        "now-7days"
      ])
      // Without accounting only the controller's memory (squeue above) can show a job.
      if (answer === null) break
      add(parseFoundJobs(answer))
    }
    return found
  })
