import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"

/*
 * Purging (src/runtime/execution/purge.ts) and run creation never race. Purge marks a product's
 * copy for deletion (DELETION_IN_PROGRESS, then DELETED once the file is gone) under this
 * advisory lock in exclusive mode, re-checking under it that no pending or in-flight run reads
 * the product; every evaluation of a trigger step (the transaction that builds the inputs and
 * inserts the runs, evaluate-step.ts) holds it in shared mode. So a run is never created reading
 * a product already marked (the step sees the mark, waits, and has the product made again:
 * INPUT_PURGED), and purge never marks a product that a run created by a step evaluation still
 * in progress reads (it waits for that transaction and then sees the run). Step evaluations do
 * not hold each other up; files are removed after the purge's transaction commits.
 * Transaction-scoped: released at commit or rollback. A product counts as purged when a copy of
 * it is no longer PRESENT and none is (a product recorded without copies was never purged).
 */

/** "purg": the lock's first key; the second is 0. */
const purgeLockKey = 0x70757267

/** Taken by every trigger step evaluation, until its transaction ends. */
export const purgeLockShared: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`SELECT pg_advisory_xact_lock_shared(${purgeLockKey}, 0)`.pipe(Effect.asVoid)
)

/** Taken by purge around marking copies DELETED, until its transaction ends. */
export const purgeLockExclusive: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`SELECT pg_advisory_xact_lock(${purgeLockKey}, 0)`.pipe(Effect.asVoid)
)

/**
 * How many of a run's input products have had their files purged (a copy no longer PRESENT,
 * none PRESENT): for whoever puts an existing run back to PENDING (`ccat retry`), under
 * purgeLockShared in the same transaction, so that staging never meets a purged input.
 */
export const purgedInputsOf = (runId: number): Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`
      SELECT count(*)::int AS n FROM run_input i
      WHERE i.run_id = ${runId} AND i.data_product_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM physical_copy g WHERE g.data_product_id = i.data_product_id AND g.status <> 'PRESENT')
        AND NOT EXISTS (SELECT 1 FROM physical_copy c WHERE c.data_product_id = i.data_product_id AND c.status = 'PRESENT')`.pipe(
      Effect.map(([row]) => row?.n ?? 0)
    )
  )
