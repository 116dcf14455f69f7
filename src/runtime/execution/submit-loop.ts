import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Duration, Effect } from "effect"
import { existsSync } from "node:fs"
import { delimiter, join, resolve } from "node:path"
import { ExecutionBackend, type ExecutionBackendService } from "../backends/execution-backend.ts"
import type { ExecutionConfig } from "./execution-config.ts"
import { failAttempt } from "./fail-run.ts"
import { leaseOwner, releaseDeadLeases } from "./lease.ts"
import { loadRunContexts, RunDefinitionUnreadable, type RunContext } from "./run-context.ts"
import { transition } from "./run-status.ts"
import { stageRun, type StagingEnvironment } from "./stage-run.ts"

/*
 * The submit loop (runtime.md §3): claim PENDING runs with FOR UPDATE SKIP LOCKED, stage them,
 * mark each with its job name, then submit. The mark comes first and is committed: after a
 * crash between the two, the run is found in STAGING_DATA with a job name, and the backend is
 * asked for that name: a job that exists is adopted, never submitted twice.
 *
 * A claim is a lease (`lease_until`): a run left in STAGING_DATA by an instance that died is
 * taken over once its lease has run out. A backend that is busy or unreachable leaves the run
 * in STAGING_DATA with an expired lease, so the next cycle tries again.
 */

export const leaseSeconds = 120

/** Job names: `ccat-<run id>` for the first attempt, `ccat-<run id>.<n>` for the n-th retry. */
export const jobNameOf = (runId: number, retryCount: number): string => (retryCount === 0 ? `ccat-${runId}` : `ccat-${runId}.${retryCount}`)

const apptainerInstalled = (): boolean => (process.env["PATH"] ?? "").split(delimiter).some((dir) => existsSync(join(dir, "apptainer")))

/** The base folder for a location: CCAT_BASE_DIR, else its base_dir, else <CCAT_DATA_DIR>/runs. */
export const baseDirFor = (config: ExecutionConfig, location: RunContext["location"]): string =>
  config.baseDir ?? (location.baseDir === null ? config.defaultBaseDir : resolve(location.baseDir))

export const stagingEnvironment = (config: ExecutionConfig, run: RunContext): StagingEnvironment => ({
  baseDir: baseDirFor(config, run.location),
  container: config.container !== "none" && run.location.containerRuntime === "apptainer" && apptainerInstalled() ? "apptainer" : "none",
  softwarePath: config.softwarePath
})

export interface SubmitCycleResult {
  readonly claimed: number
  readonly submitted: number
  readonly adopted: number
  readonly failed: number
  readonly waiting: number
}

/** Claim up to `limit` runs: PENDING ones whose backoff is over, and STAGING_DATA ones whose lease ran out. */
const claim = (limit: number, now: Date, location: string | null) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const lease = new Date(now.getTime() + leaseSeconds * 1000)
    const where = location === null ? sql`TRUE` : sql`l.name = ${location}`
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const rows = yield* sql<{ id: string; status: string }>`
          SELECT r.id, r.status FROM executed_reduction_step r
          JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id JOIN location l ON l.id = p.location_id
          WHERE ${where} AND (
            (r.status = 'PENDING' AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ${now}))
            OR (r.status = 'STAGING_DATA' AND (r.lease_until IS NULL OR r.lease_until <= ${now})))
          ORDER BY p.priority DESC, r.id
          LIMIT ${limit}
          FOR UPDATE OF r SKIP LOCKED`
        for (const row of rows) {
          if (row.status === "PENDING") {
            yield* transition({
              runId: Number(row.id),
              from: ["PENDING"],
              to: "STAGING_DATA",
              actor: "submit",
              reason: "claimed for staging",
              now,
              set: [sql`lease_until = ${lease}`, sql`lease_owner = ${leaseOwner}`]
            })
          } else {
            yield* sql`UPDATE executed_reduction_step SET lease_until = ${lease}, lease_owner = ${leaseOwner} WHERE id = ${row.id}`
          }
        }
        return rows.map((r) => Number(r.id))
      })
    )
  })

const submitOne = (
  run: RunContext,
  adoptable: ReadonlyMap<string, string>,
  backend: ExecutionBackendService,
  config: ExecutionConfig,
  now: Date
): Effect.Effect<"submitted" | "adopted" | "failed" | "waiting", SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobName = jobNameOf(run.runId, run.retryCount)
    const fail = (reason: string) =>
      failAttempt({ runId: run.runId, from: ["STAGING_DATA"], reason, retryCount: run.retryCount, retries: run.definition.retries, backoff: config.retryBackoff, now, actor: "submit" }).pipe(
        Effect.as("failed" as const)
      )
    const recordSubmitted = (jobId: string, how: string) =>
      transition({
        runId: run.runId,
        from: ["STAGING_DATA"],
        to: "SUBMITTED",
        actor: "submit",
        reason: `${how} ${backend.kind} job ${jobId}`,
        now,
        set: [sql`backend_job_id = ${jobId}`, sql`submitted_at = ${now}`, sql`last_seen_at = ${now}`, sql`lease_until = NULL`]
      })

    // Marked before, and not submitted: did the submission reach the backend after all?
    const existing = run.jobName === jobName ? adoptable.get(jobName) : undefined
    if (existing !== undefined) {
      yield* recordSubmitted(existing, "adopted")
      yield* Effect.logInfo(`run ${run.runId}: adopted ${backend.kind} job ${existing} (${jobName})`)
      return "adopted"
    }

    const staged = yield* stageRun(run, stagingEnvironment(config, run)).pipe(Effect.either)
    if (staged._tag === "Left") {
      if (staged.left._tag === "StagingFailed") {
        yield* Effect.logWarning(staged.left.message)
        return yield* fail(`STAGING_FAILED: ${staged.left.reason}`)
      }
      return yield* staged.left
    }
    const job = { ...staged.right.job, jobName }
    // The mark: committed before the backend hears of the job.
    const marked = yield* sql<{ id: string }>`
      UPDATE executed_reduction_step SET run_dir = ${job.runDir}, job_name = ${jobName}
      WHERE id = ${run.runId} AND status = 'STAGING_DATA' RETURNING id`
    // Cancelled (or taken over) while staging: submitting now would leave a job no run tracks.
    if (marked.length === 0) return "waiting"
    const submitted = yield* backend.submit(job).pipe(Effect.either)
    // Fault injection for the crash-safety tests: die by SIGKILL exactly between the backend
    // accepting the job and the database recording its id, the window adoption exists for.
    if (submitted._tag === "Right" && process.env["CCAT_FAULT"] === "kill-after-submit") process.kill(process.pid, "SIGKILL")
    if (submitted._tag === "Right") {
      if (yield* recordSubmitted(submitted.right, "submitted")) return "submitted"
      // The run moved on between the mark and now (a person cancelled it): so does its job.
      yield* backend.cancel(submitted.right).pipe(Effect.ignore)
      return "waiting"
    }
    if (submitted.left._tag === "JobRejected") return yield* fail(`SUBMIT_REJECTED: ${submitted.left.reason}`)
    // Busy or unreachable: try again next cycle.
    yield* sql`UPDATE executed_reduction_step SET lease_until = ${now} WHERE id = ${run.runId} AND status = 'STAGING_DATA'`
    return "waiting"
  })

/** One cycle: claim as many runs as the backend can take, adopt or stage and submit each. */
export const submitCycle = (config: ExecutionConfig): Effect.Effect<SubmitCycleResult, SqlError.SqlError, SqlClient.SqlClient | ExecutionBackend> =>
  Effect.gen(function* () {
    const backend = yield* ExecutionBackend
    const now = new Date(yield* Clock.currentTimeMillis)
    const capacity = yield* backend.capacity.pipe(Effect.orElseSucceed(() => 0))
    const limit = Math.min(config.submitBatch, capacity ?? config.submitBatch)
    const result = { claimed: 0, submitted: 0, adopted: 0, failed: 0, waiting: 0 }
    yield* releaseDeadLeases(now)
    if (limit <= 0) return result
    const ids = yield* claim(limit, now, config.location)
    result.claimed = ids.length
    if (ids.length === 0) return result
    const contexts = yield* loadRunContexts(ids)
    const marked = contexts.flatMap((c) => (c instanceof RunDefinitionUnreadable || c.jobName === null ? [] : [c.jobName]))
    const adoptable = marked.length === 0 ? new Map<string, string>() : yield* backend.findByName(marked).pipe(Effect.orElseSucceed(() => null))
    for (const run of contexts) {
      if (run instanceof RunDefinitionUnreadable) {
        yield* failAttempt({ runId: run.runId, from: ["STAGING_DATA"], reason: `STAGING_FAILED: ${run.reason}`, retryCount: 0, retries: 0, backoff: config.retryBackoff, now, actor: "submit" })
        result.failed++
        continue
      }
      // Without an answer about marked jobs, submitting could duplicate one: wait for the backend.
      if (adoptable === null && run.jobName !== null) {
        result.waiting++
        continue
      }
      const outcome = yield* submitOne(run, adoptable ?? new Map(), backend, config, now)
      result[outcome]++
    }
    return result
  })

export const submitSummaryLine = (r: SubmitCycleResult): string =>
  `submit: ${r.submitted} submitted, ${r.adopted} adopted, ${r.failed} failed, ${r.waiting} waiting for the backend`

/** For the local default: the registry folder of the local backend. */
export const localRegistryDir = (config: ExecutionConfig): string => join(config.defaultBaseDir, "..", "local-jobs")

export const submitInterval = (config: ExecutionConfig): Duration.Duration => config.submitInterval
