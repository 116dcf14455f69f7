import { Clock, Effect, Ref } from "effect"
import type { BackendUnavailable, JobStatus } from "./execution-backend.ts"
import { failedCall, unavailable } from "./slurm-command.ts"
import { submitRateOf } from "./slurm-options.ts"
import { parseNamedJobs } from "./slurm-parse.ts"
import type { SlurmContext } from "./slurm-state.ts"

/*
 * Whether a submit may go to Slurm now: the submit rate (a token bucket, so that a backlog does
 * not flood the controller) and the cap on our queued jobs (so that ccat does not fill a shared
 * queue). Both answer "not now" as BackendUnavailable, which the caller retries later.
 */

type RateContext = SlurmContext<"submitRate" | "maxRateWaitMs", "submitTokens">
type QueueContext = SlurmContext<"maxQueued" | "jobNamePrefix", "queued" | "queueRefreshedAt">
export type AdmissionContext = SlurmContext<
  "submitRate" | "maxRateWaitMs" | "maxQueued" | "jobNamePrefix",
  "submitTokens" | "queued" | "queueRefreshedAt"
>

/** Take a token, waiting up to maxRateWaitMs for one. */
export const takeToken = (ctx: RateContext): Effect.Effect<void, BackendUnavailable> => {
  const rate = submitRateOf(ctx.options)
  if (rate === null) return Effect.void
  const maxRateWait = ctx.options.maxRateWaitMs ?? 2000
  return Effect.gen(function* () {
    const perMs = rate / 60_000
    const now = yield* Clock.currentTimeMillis
    const waitMs = yield* Ref.modify(ctx.state.submitTokens, ({ tokens, at }) => {
      const filled = Math.min(rate, tokens + (now - at) * perMs)
      if (filled >= 1) return [0, { tokens: filled - 1, at: now }] as const
      return [Math.ceil((1 - filled) / perMs), { tokens: filled, at: now }] as const
    })
    if (waitMs === 0) return
    if (waitMs > maxRateWait) {
      return yield* Effect.fail(unavailable(`submit rate limit (${rate}/min): next slot in ${Math.ceil(waitMs / 1000)} s`))
    }
    yield* Effect.sleep(waitMs)
    yield* takeToken(ctx)
  })
}

/**
 * Our queued jobs as far as we know; when that reaches the cap, asked again with one squeue
 * (at most every 5 s), which also counts jobs other ccat instances submitted and drops jobs
 * that have started since the last poll.
 */
const queuedCount = (ctx: QueueContext, cap: number): Effect.Effect<number, BackendUnavailable> =>
  Effect.gen(function* () {
    const known = (yield* Ref.get(ctx.state.queued)).size
    if (known < cap) return known
    const now = yield* Clock.currentTimeMillis
    if (now - (yield* Ref.get(ctx.state.queueRefreshedAt)) <= 5_000) return known
    const r = yield* ctx.slurm("squeue", ["-h", "--me", "-t", "PENDING,CONFIGURING", "-o", "%i|%j|%T"])
    if (r.exitCode !== 0) return yield* Effect.fail(failedCall("squeue", r))
    const namePrefix = ctx.options.jobNamePrefix ?? "ccat-"
    const mine = parseNamedJobs(r.stdout).filter((j) => j.jobName.startsWith(namePrefix) && j.state === "QUEUED")
    yield* Ref.set(ctx.state.queued, new Set(mine.map((j) => j.jobId)))
    yield* Ref.set(ctx.state.queueRefreshedAt, now)
    return mine.length
  })

/** How many more jobs the queue cap allows now; null without a cap. */
export const capacity = (ctx: QueueContext): Effect.Effect<number | null, BackendUnavailable> => {
  const cap = ctx.options.maxQueued
  return cap === undefined ? Effect.succeed(null) : Effect.map(queuedCount(ctx, cap), (n) => Math.max(0, cap - n))
}

export const checkQueueCap = (ctx: QueueContext): Effect.Effect<void, BackendUnavailable> => {
  const cap = ctx.options.maxQueued
  if (cap === undefined) return Effect.void
  return Effect.gen(function* () {
    const count = yield* queuedCount(ctx, cap)
    if (count >= cap) return yield* Effect.fail(unavailable(`queue full: ${count} jobs queued (cap ${cap})`))
  })
}

/** A job sbatch accepted is queued until a poll says otherwise. */
export const noteSubmitted = (ctx: SlurmContext<never, "queued">, jobId: string): Effect.Effect<void> =>
  Ref.update(ctx.state.queued, (s) => new Set(s).add(jobId))

/** After a poll: the polled jobs still QUEUED stay counted, the others no longer are. */
export const notePolled = (
  ctx: SlurmContext<never, "queued">,
  ids: ReadonlyArray<string>,
  result: ReadonlyMap<string, JobStatus>
): Effect.Effect<void> =>
  Ref.update(ctx.state.queued, (s) => {
    const next = new Set(s)
    for (const id of ids) {
      if (result.get(id)?.state === "QUEUED") next.add(id)
      else next.delete(id)
    }
    return next
  })
