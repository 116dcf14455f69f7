import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Data, Duration, Effect } from "effect"
import { rm } from "node:fs/promises"
import { relative, sep } from "node:path"
import { ExecutionBackend, finishedStates, type JobStatus } from "../backends/execution-backend.ts"
import { missingOutputs } from "./missing-outputs.ts"
import { collectOutputs, type CollectedFile } from "./collect-outputs.ts"
import { DiskSpace } from "./disk-space.ts"
import type { ExecutionConfig } from "./execution-config.ts"
import { failRunAttempt } from "./fail-run.ts"
import { collectionClaimable, leaseHeld, LeaseOwner, releaseDeadLeases } from "./lease.ts"
import { loadRunContexts, RunDefinitionUnreadable, type RunContext } from "./run-context.ts"
import { runFolders } from "./run-folders.ts"
import { jobReleased, jobStatuses, transition } from "./run-status.ts"
import { processingLocationId } from "./stage-run.ts"
import { folderBytes, ranOutOfSpace } from "./job-out-of-space.ts"
import { inputModifiedReason, modifiedInputs, removeStagedInputs } from "./staged-inputs.ts"
import { baseDirFor, leaseSeconds } from "./submit-loop.ts"

/*
 * The collect loop (docs/design/runtime.md §3.9, §3.10): one poll of the backend for every active job per cycle,
 * then for each job that ended: COLLECTING_RESULTS, walk and checksum its outputs, and in ONE
 * transaction write its products, their lineage (to the run's input products and raw
 * packages), their physical copies, the job's metrics and the final status. A job the backend
 * no longer knows is LOST after `CCAT_LOST_GRACE`; preemption and requeueing are not failures.
 *
 * A run's result is exactly its own attempt's (the result-integrity issue): only the attempt's
 * folder is collected; a job that changed its staged inputs fails with INPUT_MODIFIED, one that
 * produced less than its step's `outputs` asks for with NO_OUTPUTS; a job that ran out of disk
 * space goes back to PENDING without the attempt counting. After collection the attempt's
 * staged input copies are removed: they were copies, the archive and the upstream runs keep theirs.
 *
 * Replicas (several serves on one database) collect each run once: COLLECTING_RESULTS is claimed
 * under a lease in one statement, and a run another instance is collecting is taken over only once
 * its lease has run out. Whatever the collection writes commits only while the lease is still the
 * claimant's; lineage edges and physical copies are unique (migration 12), so even a second
 * collection could not write them twice. A failed run keeps its standard output and error as LOG
 * products, whatever failed: the job, its outputs, or their collection.
 */

export interface CollectCycleResult {
  readonly polled: number
  readonly completed: number
  readonly failed: number
  readonly retried: number
  readonly lost: number
  /** Jobs that ran out of disk space: their runs wait for room, not counted as failures. */
  readonly outOfSpace: number
}

const failureReason = (s: JobStatus): string => {
  switch (s.state) {
    case "TIMEOUT":
      return "TIMEOUT"
    case "OUT_OF_MEMORY":
      return "OOM"
    case "NODE_FAIL":
      return "NODE_FAIL"
    case "CANCELLED":
      return "CANCELLED_BY_BACKEND"
    default:
      return s.exitCode === null ? "FAILED" : `EXIT_CODE ${s.exitCode}`
  }
}

const metricAssignments = (sql: SqlClient.SqlClient, s: JobStatus) => [
  sql`exit_code = ${s.exitCode}`,
  sql`wall_seconds = ${s.wallSeconds}`,
  sql`cpu_hours = ${s.cpuSeconds === null ? null : s.cpuSeconds / 3600}`,
  sql`peak_memory_bytes = ${s.maxRssBytes}`
]

/** Products, lineage and physical copies of one run, inside the caller's transaction. */
const writeProducts = (run: RunContext, runDir: string, files: ReadonlyArray<CollectedFile>, baseDir: string) =>
  Effect.gen(function* () {
    if (files.length === 0) return
    const sql = yield* SqlClient.SqlClient
    const rows = files.map((f) => ({ path: f.relativePath, type: f.type, size: f.sizeBytes, checksum: f.checksum }))
    const products = yield* sql<{ id: string; relative_path: string }>`
      INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
      SELECT ${run.runId}, v.type, v.path, v.size, v.checksum
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(path text, type text, size bigint, checksum text)
      ON CONFLICT (run_id, relative_path) DO UPDATE SET product_type = EXCLUDED.product_type, size_bytes = EXCLUDED.size_bytes, checksum = EXCLUDED.checksum
      RETURNING id, relative_path`
    const ids = products.map((p) => Number(p.id))
    yield* sql`DELETE FROM data_product_lineage WHERE product_id IN ${sql.in(ids)}`
    // A run that read the same product twice (or a concurrent writer) would repeat an edge: the
    // edge's unique index (migration 12) keeps one.
    yield* sql`
      INSERT INTO data_product_lineage (product_id, parent_product_id, raw_data_package_id)
      SELECT p.id, i.data_product_id, i.raw_data_package_id
      FROM data_product p JOIN run_input i ON i.run_id = p.run_id
      WHERE p.id IN ${sql.in(ids)} AND p.product_type <> 'LOG'
      ON CONFLICT DO NOTHING`
    const locationId = yield* processingLocationId(run.location, baseDir)
    const copies = products.map((p) => ({
      product: Number(p.id),
      path: relative(baseDir, `${runDir}/${p.relative_path}`).split(sep).join("/")
    }))
    yield* sql`
      INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
      SELECT ${locationId}, v.product, v.path, 'PRESENT'
      FROM jsonb_to_recordset(${JSON.stringify(copies)}::jsonb) AS v(product bigint, path text)
      ON CONFLICT (data_product_id, data_location_id) WHERE data_product_id IS NOT NULL AND status <> 'DELETED' DO NOTHING`
  })

/** The collection's lease was taken over before it could commit: what it wrote is rolled back. */
class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly runId: number }> {}

/** How often one run may be put back for a full disk without counting: after that it is a failure like any other. */
const uncountedOutOfSpace = 3

/** Collect one run whose job ended; returns what became of it. */
const finishRun = (run: RunContext, status: JobStatus, config: ExecutionConfig, now: Date) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const owner = yield* LeaseOwner
    const lease = new Date(now.getTime() + leaseSeconds * 1000)
    // Claimed as staging is (submit-loop.ts): another instance's live lease means it is theirs.
    const claimed = yield* transition({
      runId: run.runId,
      from: ["SUBMITTED", "RUNNING", "COLLECTING_RESULTS"],
      when: collectionClaimable(sql, now),
      to: "COLLECTING_RESULTS",
      actor: "collect",
      reason: `job ${status.jobId} ended: ${status.state}${status.exitCode === null ? "" : ` (exit ${status.exitCode})`}`,
      now,
      set: [sql`lease_until = ${lease}`, sql`lease_owner = ${owner}`]
    })
    if (!claimed) return "skipped" as const
    // Every change that ends the collection holds to the lease: a collection that took so long
    // that another instance took the run over writes nothing.
    const held = leaseHeld(sql, owner, lease)
    const failed = (reason: string) =>
      failRunAttempt(run, { from: ["COLLECTING_RESULTS"], when: held, reason, backoff: config.retryBackoff, now, actor: "collect" })
    if (run.runDir === null) return yield* failed("COLLECT_FAILED: the run has no folder")
    const runDir = run.runDir
    const baseDir = baseDirFor(config, run.location)
    const folders = runFolders(runDir, run.step, run.definition.final)
    const succeeded = status.state === "COMPLETED" && (status.exitCode ?? 0) === 0

    // A job that ran out of disk space is not the run's failure: it waits for room and runs
    // again, the attempt not counted, and what it wrote goes (its logs stay).
    const written = succeeded ? 0 : yield* Effect.promise(() => folderBytes(folders.output))
    const staged = (run.stagedInputs ?? []).reduce((n, f) => n + f.size, 0)
    const [paused] = succeeded
      ? [{ n: 0 }]
      : yield* sql<{
          n: number
        }>`SELECT count(*)::int AS n FROM run_event WHERE run_id = ${run.runId} AND reason LIKE 'OUT_OF_SPACE: job %'`
    if (!succeeded && paused!.n < uncountedOutOfSpace && (yield* ranOutOfSpace(runDir, written + staged))) {
      const disk = yield* DiskSpace
      yield* Effect.promise(() => rm(folders.output, { recursive: true, force: true }).catch(() => undefined))
      yield* removeStagedInputs(run, runDir, baseDir)
      yield* disk.report({
        location: run.location.name,
        folder: baseDir,
        neededBytes: written + staged,
        neededInodes: (run.stagedInputs ?? []).length + 32,
        what: `job ${status.jobId} of run ${run.runId} ran out of space`
      })
      const putBack = yield* transition({
        runId: run.runId,
        from: ["COLLECTING_RESULTS"],
        when: held,
        to: "PENDING",
        actor: "collect",
        reason: `OUT_OF_SPACE: job ${status.jobId} ran out of disk space in ${baseDir}; waits for room, the attempt does not count`,
        now,
        set: [...jobReleased(sql), sql`lease_until = NULL`, sql`lease_owner = NULL`, sql`next_attempt_at = NULL`]
      })
      return putBack ? ("paused" as const) : ("skipped" as const)
    }

    const inputProblems = run.stagedInputs === null ? [] : yield* modifiedInputs(runDir, run.stagedInputs)
    const collected = yield* collectOutputs(runDir, run.step, run.definition.final, !succeeded || inputProblems.length > 0).pipe(
      Effect.either
    )
    // What ends the collection commits whole, or not at all when the lease was lost meanwhile.
    const commit = <A extends string, R>(body: Effect.Effect<A | "skipped", SqlError.SqlError, R>) =>
      sql
        .withTransaction(
          Effect.flatMap(body, (outcome) =>
            outcome === "skipped" ? Effect.fail(new LeaseLost({ runId: run.runId })) : Effect.succeed(outcome)
          )
        )
        .pipe(
          Effect.tap(() => removeStagedInputs(run, runDir, baseDir)),
          Effect.catchTag("LeaseLost", () => Effect.succeed("skipped" as const))
        )
    const fail = (reason: string, files: ReadonlyArray<CollectedFile>) =>
      commit(
        Effect.gen(function* () {
          yield* writeProducts(run, runDir, files, baseDir)
          yield* sql`UPDATE executed_reduction_step SET ${sql.join(", ", false)(metricAssignments(sql, status))} WHERE id = ${run.runId}`
          return yield* failed(reason)
        })
      )
    if (collected._tag === "Left") {
      yield* Effect.logWarning(`run ${run.runId}: collection failed: ${collected.left.reason}`)
      // What failed to collect was the outputs (a link out of the folder): the job's standard
      // output and error still say what happened, and stay with the failed run.
      const logs = yield* collectOutputs(runDir, run.step, run.definition.final, true).pipe(
        Effect.orElseSucceed((): ReadonlyArray<CollectedFile> => [])
      )
      return yield* fail(`COLLECT_FAILED: ${collected.left.reason}`, logs)
    }
    if (inputProblems.length > 0) {
      yield* Effect.logWarning(`run ${run.runId}: ${inputModifiedReason(inputProblems)}`)
      return yield* fail(inputModifiedReason(inputProblems), collected.right)
    }
    if (!succeeded) return yield* fail(failureReason(status), collected.right)
    const outputRoot = relative(runDir, folders.output).split(sep).join("/")
    const missing = missingOutputs(
      collected.right.filter((f) => f.relativePath.startsWith(`${outputRoot}/`)),
      outputRoot,
      run.definition.outputs
    )
    if (missing !== null)
      return yield* fail(
        missing,
        collected.right.filter((f) => f.type === "LOG" && f.relativePath.startsWith("logs/"))
      )
    return yield* commit(
      Effect.gen(function* () {
        yield* writeProducts(run, runDir, collected.right, baseDir)
        const completed = yield* transition({
          runId: run.runId,
          from: ["COLLECTING_RESULTS"],
          when: held,
          to: "COMPLETED",
          actor: "collect",
          reason: `${collected.right.filter((f) => f.type !== "LOG").length} products collected (attempt ${run.attempt})`,
          now,
          // The attempt that counted succeeded: no failure describes the run any more (the
          // events keep every earlier attempt's).
          set: [...metricAssignments(sql, status), sql`failure_reason = NULL`, sql`finished_at = ${now}`, sql`lease_until = NULL`]
        })
        return completed ? ("completed" as const) : ("skipped" as const)
      })
    )
  })

interface ActiveRow {
  readonly id: string
  readonly status: string
  readonly backend_job_id: string
  readonly last_seen_at: Date | null
  readonly submitted_at: Date | null
}

/** One cycle: one poll for all active jobs, then the transitions it calls for. */
export const collectCycle = (
  config: ExecutionConfig
): Effect.Effect<CollectCycleResult, SqlError.SqlError, SqlClient.SqlClient | ExecutionBackend> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const backend = yield* ExecutionBackend
    const now = new Date(yield* Clock.currentTimeMillis)
    yield* releaseDeadLeases(now)
    const where = config.location === null ? sql`TRUE` : sql`l.name = ${config.location}`
    const active = yield* sql<ActiveRow>`
      SELECT r.id, r.status, r.backend_job_id, r.last_seen_at, r.submitted_at FROM executed_reduction_step r
      JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id JOIN location l ON l.id = p.location_id
      WHERE ${where} AND r.backend_job_id IS NOT NULL AND (r.status IN ${sql.in(jobStatuses)}
        OR (r.status = 'COLLECTING_RESULTS' AND (r.lease_until IS NULL OR r.lease_until <= ${now})))
      ORDER BY r.id`
    const result = { polled: active.length, completed: 0, failed: 0, retried: 0, lost: 0, outOfSpace: 0 }
    if (active.length === 0) return result
    const statuses = yield* backend.poll(active.map((r) => r.backend_job_id)).pipe(Effect.either)
    if (statuses._tag === "Left") {
      // A controller outage delays, it never fails runs.
      yield* Effect.logWarning(`collect: ${statuses.left.message}; trying again next cycle`)
      return result
    }
    const seen = active.filter((r) => statuses.right.has(r.backend_job_id)).map((r) => Number(r.id))
    if (seen.length > 0) yield* sql`UPDATE executed_reduction_step SET last_seen_at = ${now} WHERE id IN ${sql.in(seen)}`

    // `timeout` counts from submission, queueing included (README): past it, the job is cancelled
    // and the run fails with TIMEOUT whatever the backend says.
    const overdue: Array<ActiveRow> = []
    // Each active run's definition, read once per cycle: for timeouts, LOST and collection.
    const activeContexts = new Map(
      (yield* loadRunContexts(active.map((r) => Number(r.id)))).flatMap((c) =>
        c instanceof RunDefinitionUnreadable ? [] : [[c.runId, c] as const]
      )
    )
    for (const row of active) {
      // The attempt's own timeout: a retry policy may have grown the step's.
      const context = activeContexts.get(Number(row.id))
      const timeout = context === undefined ? null : (context.attemptLimits?.timeoutSeconds ?? context.definition.timeoutSeconds)
      if (
        timeout !== null &&
        row.submitted_at !== null &&
        row.status !== "COLLECTING_RESULTS" &&
        now.getTime() - new Date(row.submitted_at).getTime() > timeout * 1000 + 30_000
      ) {
        overdue.push(row)
      }
    }
    for (const row of overdue) {
      const context = activeContexts.get(Number(row.id))!
      yield* backend.cancel(row.backend_job_id).pipe(Effect.ignore)
      const outcome = yield* failRunAttempt(context, {
        from: ["SUBMITTED", "RUNNING"],
        reason: "TIMEOUT",
        backoff: config.retryBackoff,
        now,
        actor: "collect"
      })
      if (outcome === "failed") result.failed++
      else if (outcome === "retried") result.retried++
    }
    const overdueIds = new Set(overdue.map((r) => r.id))

    const ended: Array<{ row: ActiveRow; status: JobStatus }> = []
    for (const row of active) {
      if (overdueIds.has(row.id)) continue
      const runId = Number(row.id)
      const status = statuses.right.get(row.backend_job_id)
      if (status === undefined) {
        const since = row.last_seen_at ?? row.submitted_at ?? now
        if (now.getTime() - new Date(since).getTime() < Duration.toMillis(config.lostGrace)) continue
        const context = activeContexts.get(runId)
        if (context === undefined) continue
        const outcome = yield* failRunAttempt(context, {
          from: ["SUBMITTED", "RUNNING", "COLLECTING_RESULTS"],
          when: collectionClaimable(sql, now),
          reason: "LOST",
          backoff: config.retryBackoff,
          now,
          actor: "collect"
        })
        if (outcome !== "skipped") result.lost++
        continue
      }
      if (finishedStates.has(status.state)) ended.push({ row, status })
      else if (status.state === "RUNNING" && row.status === "SUBMITTED") {
        yield* transition({ runId, from: ["SUBMITTED"], to: "RUNNING", actor: "collect", reason: `job ${status.jobId} started`, now })
      } else if ((status.state === "PREEMPTED" || status.state === "REQUEUED" || status.state === "QUEUED") && row.status === "RUNNING") {
        yield* transition({
          runId,
          from: ["RUNNING"],
          to: "SUBMITTED",
          actor: "collect",
          reason: `job ${status.jobId} ${status.state.toLowerCase()}: queued again, not a failure`,
          now
        })
      }
    }
    for (const { row, status } of ended) {
      const run = activeContexts.get(Number(row.id))
      if (run === undefined) continue
      const outcome = yield* finishRun(run, status, config, now)
      if (outcome === "completed") result.completed++
      else if (outcome === "failed") result.failed++
      else if (outcome === "retried") result.retried++
      else if (outcome === "paused") result.outOfSpace++
    }
    return result
  })

export const collectSummaryLine = (r: CollectCycleResult): string =>
  `collect: ${r.polled} polled, ${r.completed} completed, ${r.failed} failed, ${r.retried} retried, ${r.lost} lost` +
  (r.outOfSpace === 0 ? "" : `, ${r.outOfSpace} out of disk space (waiting for room)`)
