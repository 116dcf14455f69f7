import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { ExecutionConfig } from "./execution-config.ts"

/*
 * A location's cap on jobs at once holds across replicas (the replicas issue: two serves on one
 * database ran 4 programs under `max_parallel 2`, each counting only its own). The jobs are
 * counted in the database, and the count and the claim that fills the free slots happen under
 * one transaction-scoped advisory lock per location, so two claims at one location follow each
 * other and the second sees the first's runs.
 *
 * What holds a slot: a run claimed for staging whose lease is live (it is being staged and
 * submitted, or waits to be submitted again), and a run whose job the backend has: for the local
 * backend SUBMITTED and RUNNING (`max_parallel`: processes at once; its slot frees when the job is
 * collected, which is after the program ended), for Slurm SUBMITTED (`max_queued`: jobs waiting
 * in the queue, as the Slurm backend counts them).
 */

/** "slot": the lock's first key; the second is the location's id. */
const slotsLockKey = 0x736c6f74

export interface SlotCap {
  /** How many runs of the location may hold a slot at once. */
  readonly limit: number
  /** The statuses of runs whose job holds a slot. */
  readonly jobStatuses: ReadonlyArray<"SUBMITTED" | "RUNNING">
}

/**
 * The cap of a location served by a backend of `kind`, from its backend block's options
 * (`max_parallel`, `max_queued`) as the backend itself is configured (src/cli/backend-layer.ts):
 * CCAT_MAX_PARALLEL first for the local backend, 2 without either. Null: no cap.
 */
export const slotCap = (kind: string, config: ExecutionConfig, options: Readonly<Record<string, unknown>>): SlotCap | null => {
  if (kind === "local") {
    const declared = typeof options["max_parallel"] === "number" ? options["max_parallel"] : null
    return { limit: config.maxParallel ?? declared ?? 2, jobStatuses: ["SUBMITTED", "RUNNING"] }
  }
  if (kind === "slurm" && typeof options["max_queued"] === "number") return { limit: options["max_queued"], jobStatuses: ["SUBMITTED"] }
  return null
}

/**
 * The free slots of a location, counted under its lock: call inside the transaction that claims
 * them (the lock is held until it commits).
 */
export const freeSlots = (locationId: number, cap: SlotCap, now: Date): Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`SELECT pg_advisory_xact_lock(${slotsLockKey}, ${locationId}::int)`
    const [row] = yield* sql<{ n: number }>`
      SELECT count(*)::int AS n FROM executed_reduction_step r
      JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id
      WHERE p.location_id = ${locationId}
        AND (r.status IN ${sql.in(cap.jobStatuses)} OR (r.status = 'STAGING_DATA' AND r.lease_until > ${now}))`
    return Math.max(0, cap.limit - (row?.n ?? 0))
  })
