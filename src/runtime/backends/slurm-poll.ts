import { Clock, Effect, Ref } from "effect"
import { type BackendUnavailable, finishedStates, type JobStatus } from "./execution-backend.ts"
import { accountingStatuses, type AccountingContext, controllerStatuses } from "./slurm-accounting.ts"
import { notePolled } from "./slurm-admission.ts"
import { chunks, failedCall, unavailable } from "./slurm-command.ts"
import { idsPerCall } from "./slurm-options.ts"
import { isInvalidJobIdMessage, isJobId, parseSqueueStates, type SqueueState } from "./slurm-parse.ts"
import type { SlurmContext } from "./slurm-state.ts"

/*
 * Polling jobs: one squeue for all ids (per chunk) plus, for those that left the queue or ended,
 * one sacct; never a call per job, so that a thousand running jobs cost a few calls per poll.
 */

export type PollContext = AccountingContext & SlurmContext<"accountingLagMs", "lagSince" | "queued">

/** A state without exit code or metrics: not final yet, or all squeue can tell when no record has more. */
const withoutDetails = (jobId: string, state: JobStatus["state"]): JobStatus => ({
  jobId,
  state,
  exitCode: null,
  wallSeconds: null,
  cpuSeconds: null,
  maxRssBytes: null
})

const squeueStates = (ctx: PollContext, ids: ReadonlyArray<string>): Effect.Effect<Map<string, SqueueState>, BackendUnavailable> =>
  Effect.gen(function* () {
    const result = new Map<string, SqueueState>()
    for (const chunk of chunks(ids, idsPerCall(ctx.options))) {
      const r = yield* ctx.slurm("squeue", ["-h", "-t", "all", "-j", chunk.join(","), "-o", "%i|%T|%r"])
      // squeue -j with ONLY unknown ids exits 1 "Invalid job id specified": none known, not an error.
      if (r.exitCode !== 0 && !isInvalidJobIdMessage(r.stderr)) return yield* Effect.fail(failedCall("squeue", r))
      for (const s of parseSqueueStates(r.stdout)) result.set(s.jobId, s)
    }
    return result
  })

/**
 * Statuses of the jobs that ended or left the queue (`need`), from accounting, else the
 * controller. `ids` are all the jobs of this poll: their lag clocks are settled here.
 */
const endedStatuses = (
  ctx: PollContext,
  ids: ReadonlyArray<string>,
  need: ReadonlyArray<string>,
  inQueue: ReadonlyMap<string, SqueueState>
) =>
  Effect.gen(function* () {
    const result = new Map<string, JobStatus>()
    const accounted = yield* accountingStatuses(ctx, need)
    const gone = need.filter((id) => !inQueue.has(id))
    // slurmdbd unreachable and jobs only accounting knows: say "ask again later", never "unknown".
    if (accounted === null && (yield* Ref.get(ctx.state.accountingMode)) === "slurmdbd" && gone.length > 0) {
      return yield* Effect.fail(unavailable("accounting (slurmdbd) does not answer; cannot report jobs that left the queue"))
    }
    // Finished in squeue but not (yet) in accounting: slurmctld hands the record to slurmdbd
    // a moment after the job ends. While accounting answers, wait for it (reported as
    // RUNNING, not final yet) up to accountingLagMs, so that CPU time and MaxRSS are not
    // lost; after that, or when accounting cannot answer, ask the controller (no metrics).
    const accountingLagMs = ctx.options.accountingLagMs ?? 30_000
    const now = yield* Clock.currentTimeMillis
    const lagging = yield* Ref.get(ctx.state.lagSince)
    const nextLagging = new Map<string, number>()
    const missing: Array<string> = []
    for (const id of need) {
      const a = accounted?.get(id)
      const q = inQueue.get(id)
      if (a !== undefined && (finishedStates.has(a.state) || q === undefined)) {
        result.set(id, a)
      } else if (q !== undefined) {
        const since = lagging.get(id) ?? now
        if (accounted !== null && (yield* Ref.get(ctx.state.accountingMode)) !== "controller" && now - since < accountingLagMs) {
          nextLagging.set(id, since)
          result.set(id, withoutDetails(id, "RUNNING"))
        } else {
          missing.push(id)
        }
      }
    }
    yield* Ref.update(ctx.state.lagSince, (m) => {
      const polled = new Set(ids)
      const next = new Map([...m].filter(([id]) => !polled.has(id)))
      for (const [id, since] of nextLagging) next.set(id, since)
      return next
    })
    if (missing.length > 0) {
      const fromController = yield* controllerStatuses(ctx.slurm)
      for (const id of missing) {
        const c = fromController.get(id)
        const q = inQueue.get(id)!
        result.set(id, c ?? withoutDetails(id, q.state))
      }
    }
    return result
  })

export const poll = (ctx: PollContext, jobIds: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, JobStatus>, BackendUnavailable> =>
  Effect.gen(function* () {
    const ids = [...new Set(jobIds)].filter(isJobId)
    const result = new Map<string, JobStatus>()
    if (ids.length === 0) return result

    const inQueue = yield* squeueStates(ctx, ids)
    const unfinished = (id: string) => {
      const s = inQueue.get(id)
      return s !== undefined && !finishedStates.has(s.state)
    }
    for (const id of ids) {
      const s = inQueue.get(id)
      if (s !== undefined && unfinished(id)) result.set(id, withoutDetails(id, s.state))
    }

    // Ended, or gone from the queue: exit code and metrics from accounting.
    const need = ids.filter((id) => !unfinished(id))
    if (need.length > 0) {
      for (const [id, status] of yield* endedStatuses(ctx, ids, need, inQueue)) result.set(id, status)
    }

    yield* notePolled(ctx, ids, result)
    return result
  })
