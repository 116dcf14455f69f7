import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Duration, Effect } from "effect"
import { existsSync } from "node:fs"
import { delimiter, join, resolve } from "node:path"
import { installationId } from "../../db/installation.ts"
import { ExecutionBackend, type ExecutionBackendService, type FoundJob } from "../backends/execution-backend.ts"
import { DiskSpace, type DiskSpaceService } from "./disk-space.ts"
import type { ExecutionConfig } from "./execution-config.ts"
import { failAttempt, failRunAttempt } from "./fail-run.ts"
import { attemptLimits, type AttemptLimits, limitsWords } from "./retry-policy.ts"
import { FailureCounters } from "./failure-counters.ts"
import { jobIdentity, judgeFoundJobs, notAdoptedReason } from "./job-identity.ts"
import { LeaseOwner, releaseDeadLeases } from "./lease.ts"
import { freeSlots, type SlotCap, slotCap } from "./location-slots.ts"
import { loadRunContexts, RunDefinitionUnreadable, type RunContext } from "./run-context.ts"
import { recordRunEvent, transition } from "./run-status.ts"
import { stageRun, type StagingEnvironment } from "./stage-run.ts"

/*
 * The submit loop (docs/design/runtime.md §3.5): claim PENDING runs with FOR UPDATE SKIP LOCKED, stage a new
 * attempt of each, mark it with its job's name, then submit. The mark comes first and is
 * committed: after a crash between the two, the run is found in STAGING_DATA with a job name,
 * and the backend is asked for that name: a job that is ours (job-identity.ts: name, comment,
 * user and submission time all match) is adopted, never submitted twice. Jobs under the name that
 * are not ours are reported in the run's events and left alone; without a job of ours the run
 * begins a new attempt, in a new folder under a new name, which no earlier job can touch.
 *
 * A claim is a lease (`lease_until`): a run left in STAGING_DATA by an instance that died is
 * taken over once its lease has run out. A backend that is busy or unreachable leaves the run
 * in STAGING_DATA with an expired lease, so the next cycle tries again. A location whose disk is
 * full is not claimed for (disk-space.ts); a run whose staging found it full goes back to
 * PENDING without the attempt counting.
 *
 * A claim takes no more runs at a location than its cap leaves free, counted in the database
 * across every instance that serves it (location-slots.ts): replicas share a location's
 * `max_parallel` (`max_queued`), they do not each get it.
 */

export const leaseSeconds = 120

/** The wait after a submission the backend turned away for now: doubling from this ... */
const minDeferralMs = 2_000
/** ... up to this. */
const maxDeferralMs = 60_000

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
  /** Runs put back to PENDING because the location's disk is full. */
  readonly outOfSpace: number
}

interface Claimable {
  readonly id: string
  readonly status: string
  readonly location_id: string
  readonly backend_options: Readonly<Record<string, unknown>> | null
}

/**
 * Claim up to `limit` runs: PENDING ones whose backoff is over, and STAGING_DATA ones whose lease
 * ran out; none at a location in `skip` (out of space), and at each location no more than
 * `capOf` leaves free.
 */
const claim = (
  limit: number,
  now: Date,
  location: string | null,
  skip: ReadonlyArray<string>,
  capOf: (options: Readonly<Record<string, unknown>>) => SlotCap | null
) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const owner = yield* LeaseOwner
    const lease = new Date(now.getTime() + leaseSeconds * 1000)
    const where = sql.and([
      location === null ? sql`TRUE` : sql`l.name = ${location}`,
      skip.length === 0 ? sql`TRUE` : sql`l.name NOT IN ${sql.in(skip)}`
    ])
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const candidates = yield* sql<Claimable>`
          SELECT r.id, r.status, l.id AS location_id, l.definition->'backend'->'options' AS backend_options FROM executed_reduction_step r
          JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id JOIN location l ON l.id = p.location_id
          WHERE ${where} AND (
            (r.status = 'PENDING' AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ${now}))
            OR (r.status = 'STAGING_DATA' AND (r.lease_until IS NULL OR r.lease_until <= ${now})))
          ORDER BY p.priority DESC, r.id
          LIMIT ${limit}
          FOR UPDATE OF r SKIP LOCKED`
        // Each location's slots are counted under its lock, the locks taken in one order (by
        // location id) so that two claims never wait for each other in a circle.
        const locations = [...new Set(candidates.map((c) => Number(c.location_id)))].sort((a, b) => a - b)
        const rows: Array<Claimable> = []
        for (const locationId of locations) {
          const here = candidates.filter((c) => Number(c.location_id) === locationId)
          const cap = capOf(here[0]!.backend_options ?? {})
          const free = cap === null ? here.length : yield* freeSlots(locationId, cap, now)
          rows.push(...here.slice(0, free))
        }
        for (const row of rows) {
          if (row.status === "PENDING") {
            yield* transition({
              runId: Number(row.id),
              from: ["PENDING"],
              to: "STAGING_DATA",
              actor: "submit",
              reason: "claimed for staging",
              now,
              set: [sql`lease_until = ${lease}`, sql`lease_owner = ${owner}`]
            })
          } else {
            yield* sql`UPDATE executed_reduction_step SET lease_until = ${lease}, lease_owner = ${owner} WHERE id = ${row.id}`
          }
        }
        return rows.map((r) => Number(r.id))
      })
    )
  })

type SubmitOutcome = "submitted" | "adopted" | "failed" | "waiting" | "outOfSpace"

/** What a cycle knows about the jobs of marked runs: found under their names, and who we submit as. */
interface MarkedJobs {
  readonly found: ReadonlyMap<string, ReadonlyArray<FoundJob>>
  readonly user: string
}

const submitOne = (
  run: RunContext,
  marked: MarkedJobs | null,
  installation: string,
  backend: ExecutionBackendService,
  disk: DiskSpaceService,
  config: ExecutionConfig,
  now: Date
): Effect.Effect<SubmitOutcome, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const counters = yield* FailureCounters
    const fail = (reason: string, noRetry = false) =>
      failRunAttempt(run, { from: ["STAGING_DATA"], reason, backoff: config.retryBackoff, now, actor: "submit", noRetry }).pipe(
        Effect.as("failed" as const)
      )
    const recordSubmitted = (jobId: string, how: string, attempt: number, limits: AttemptLimits | null) =>
      transition({
        runId: run.runId,
        from: ["STAGING_DATA"],
        to: "SUBMITTED",
        actor: "submit",
        // Each attempt's resources are in its event: a retry policy may have grown them.
        reason: `${how} ${backend.kind} job ${jobId} (attempt ${attempt}${limits === null || limitsWords(limits) === "" ? "" : `; ${limitsWords(limits)}`})`,
        now,
        set: [
          sql`backend_job_id = ${jobId}`,
          sql`submitted_at = ${now}`,
          sql`last_seen_at = ${now}`,
          sql`lease_until = NULL`,
          sql`submit_deferrals = 0`
        ]
      })

    // Marked before, and not recorded: did the submission reach the backend after all?
    if (run.jobName !== null && marked !== null) {
      const expected = { ...jobIdentity(installation, run.runId, run.attempt), user: marked.user, markedAt: run.markedAt ?? now }
      const verdict = judgeFoundJobs(expected, marked.found.get(run.jobName) ?? [])
      for (const rejected of verdict.rejected) {
        yield* recordRunEvent({ runId: run.runId, actor: "submit", reason: notAdoptedReason(rejected), now })
        yield* Effect.logWarning(`run ${run.runId}: ${notAdoptedReason(rejected)}`)
      }
      if (verdict.adopt !== null) {
        yield* recordSubmitted(verdict.adopt.jobId, "adopted", run.attempt, run.attemptLimits)
        yield* Effect.logInfo(`run ${run.runId}: adopted ${backend.kind} job ${verdict.adopt.jobId} (${run.jobName})`)
        return "adopted"
      }
      // No job of ours under that name: the mark never reached the backend, or what did is not
      // ours. A new attempt follows (not a failure), in a new folder under a new name: a job
      // that reaches the backend late under the old name can only ever touch the old folder.
    }
    const attempt = run.attempt + 1
    const identity = jobIdentity(installation, run.runId, attempt)
    // What this attempt asks for: the step's resources, grown by its retry policy for the
    // failures so far, held to what the partition offers.
    const limits = attemptLimits(run.definition, run.failureHistory, yield* backend.limits(run.definition.resources.partition))
    const staged = yield* stageRun(run, stagingEnvironment(config, run), { attempt, identity, limits }).pipe(Effect.either)
    if (staged._tag === "Left") {
      const error = staged.left
      if (error._tag === "StagingFailed") {
        yield* Effect.logWarning(error.message)
        return yield* fail(`STAGING_FAILED: ${error.reason}`)
      }
      if (error._tag === "StagingOutOfSpace") {
        yield* disk.report({
          location: run.location.name,
          folder: error.folder,
          neededBytes: error.neededBytes,
          neededInodes: error.neededInodes,
          what: `staging run ${run.runId}: ${error.reason}`
        })
        yield* transition({
          runId: run.runId,
          from: ["STAGING_DATA"],
          to: "PENDING",
          actor: "submit",
          reason: `OUT_OF_SPACE: ${error.folder} is full (${error.reason}); waits for room, the attempt does not count`,
          now,
          set: [sql`job_name = NULL`, sql`lease_until = NULL`, sql`lease_owner = NULL`, sql`next_attempt_at = NULL`]
        })
        return "outOfSpace"
      }
      return yield* error
    }
    const job = staged.right.job
    // The mark: committed before the backend hears of the job. The run's products so far can
    // only be the logs of an earlier attempt that failed for good (a person retried it): they
    // are not this run's result any more (their files stay in that attempt's folder).
    const markedAt = new Date(yield* Clock.currentTimeMillis)
    const isMarked = yield* sql.withTransaction(
      Effect.gen(function* () {
        const rows = yield* sql<{ id: string }>`
          UPDATE executed_reduction_step SET run_dir = ${job.runDir}, job_name = ${job.jobName}, attempt = ${attempt}, marked_at = ${markedAt},
            staged_inputs = ${JSON.stringify(staged.right.stagedInputs)}::jsonb, backend = ${backend.kind}, resources = ${JSON.stringify(limits)}::jsonb
          WHERE id = ${run.runId} AND status = 'STAGING_DATA' AND attempt = ${run.attempt} RETURNING id`
        if (rows.length === 0) return false
        const superseded = sql`SELECT id FROM data_product WHERE run_id = ${run.runId} AND product_type = 'LOG'`
        yield* sql`DELETE FROM physical_copy WHERE data_product_id IN (${superseded})`
        yield* sql`DELETE FROM data_product_lineage WHERE product_id IN (${superseded})`
        yield* sql`DELETE FROM data_product WHERE id IN (${superseded})`
        return true
      })
    )
    // Cancelled (or taken over) while staging: submitting now would leave a job no run tracks.
    if (!isMarked) return "waiting"
    const submitted = yield* backend.submit(job).pipe(Effect.either)
    // Fault injection for the crash-safety tests: die by SIGKILL exactly between the backend
    // accepting the job and the database recording its id, the window adoption exists for.
    if (submitted._tag === "Right" && process.env["CCAT_FAULT"] === "kill-after-submit") process.kill(process.pid, "SIGKILL")
    if (submitted._tag === "Right") {
      if (yield* recordSubmitted(submitted.right, "submitted", attempt, limits)) return "submitted"
      // The run moved on between the mark and now (a person cancelled it): so does its job.
      yield* backend.cancel(submitted.right).pipe(Effect.ignore)
      return "waiting"
    }
    if (submitted.left._tag === "JobRejected") {
      // Slurm said no for good (a partition that does not exist, more CPUs than any node has):
      // asking again gives the same answer, so the run fails at once, with the backend's words.
      yield* counters.submissionRejected(run.location.name, "permanent")
      return yield* fail(`SUBMIT_REJECTED: ${submitted.left.reason}`, true)
    }
    // Busy, unreachable, or over a submit limit for now: try again after a wait that doubles
    // with each time in a row (the backend may have taken the job after all: the next try looks
    // for it by name first).
    const wait = Math.min(maxDeferralMs, minDeferralMs * 2 ** run.submitDeferrals)
    yield* counters.submissionRejected(run.location.name, "transient")
    yield* Effect.logWarning(
      `run ${run.runId} (${run.pipeline}.${run.step} ${run.subGroupKey}): submission deferred (${submitted.left.message}); next try in ${Math.round(wait / 1000)} s`
    )
    // When the job surely did not reach the backend (a queue cap, the rate limit, a controller
    // that could not be contacted), the mark is taken back: the next try stages the same attempt
    // again, over its folder, instead of copying the inputs into a new one.
    const unmark = submitted.left.notSubmitted === true ? [sql`job_name = NULL`, sql`marked_at = NULL`, sql`attempt = ${run.attempt}`] : []
    yield* sql`
      UPDATE executed_reduction_step SET ${sql.join(", ", false)([sql`lease_until = ${new Date(now.getTime() + wait)}`, sql`submit_deferrals = submit_deferrals + 1`, ...unmark])}
      WHERE id = ${run.runId} AND status = 'STAGING_DATA'`
    return "waiting"
  })

/** One cycle: claim as many runs as the backend can take, adopt or stage and submit each. */
export const submitCycle = (
  config: ExecutionConfig
): Effect.Effect<SubmitCycleResult, SqlError.SqlError, SqlClient.SqlClient | ExecutionBackend> =>
  Effect.gen(function* () {
    const backend = yield* ExecutionBackend
    const disk = yield* DiskSpace
    const now = new Date(yield* Clock.currentTimeMillis)
    const capacity = yield* backend.capacity.pipe(Effect.orElseSucceed(() => 0))
    const limit = Math.min(config.submitBatch, capacity ?? config.submitBatch)
    const result = { claimed: 0, submitted: 0, adopted: 0, failed: 0, waiting: 0, outOfSpace: 0 }
    yield* releaseDeadLeases(now)
    const full = (yield* disk.blocked).map((s) => s.location)
    if (limit <= 0) return result
    const installation = yield* installationId
    if (installation === null) return yield* Effect.dieMessage("the database has no installation id (migration 9): run `ccat db migrate`")
    const ids = yield* claim(limit, now, config.location, full, (options) => slotCap(backend.kind, config, options))
    result.claimed = ids.length
    if (ids.length === 0) return result
    const contexts = yield* loadRunContexts(ids)
    const names = contexts.flatMap((c) => (c instanceof RunDefinitionUnreadable || c.jobName === null ? [] : [c.jobName]))
    const marked: MarkedJobs | null =
      names.length === 0
        ? { found: new Map(), user: "" }
        : yield* Effect.all({ found: backend.findJobs(names), user: backend.submitter }).pipe(Effect.orElseSucceed(() => null))
    for (const run of contexts) {
      if (run instanceof RunDefinitionUnreadable) {
        yield* failAttempt({
          runId: run.runId,
          target: run.target,
          from: ["STAGING_DATA"],
          reason: `STAGING_FAILED: ${run.reason}`,
          retryCount: 0,
          retries: 0,
          backoff: config.retryBackoff,
          now,
          actor: "submit"
        })
        result.failed++
        continue
      }
      // Without an answer about marked jobs, submitting could duplicate one: wait for the backend.
      if (marked === null && run.jobName !== null) {
        result.waiting++
        continue
      }
      const outcome = yield* submitOne(run, marked, installation, backend, disk, config, now)
      result[outcome]++
    }
    return result
  })

export const submitSummaryLine = (r: SubmitCycleResult): string =>
  `submit: ${r.submitted} submitted, ${r.adopted} adopted, ${r.failed} failed, ${r.waiting} waiting for the backend` +
  (r.outOfSpace === 0 ? "" : `, ${r.outOfSpace} waiting for disk space`)

/** For the local default: the registry folder of the local backend. */
export const localRegistryDir = (config: ExecutionConfig): string => join(config.defaultBaseDir, "..", "local-jobs")

export const submitInterval = (config: ExecutionConfig): Duration.Duration => config.submitInterval
