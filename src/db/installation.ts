import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"

/*
 * This ops-db's installation id (migration 9): made once with the database, never changed.
 * Jobs carry it in their name and comment, so that two databases that share a cluster (a
 * staging instance, a colleague's test) can never take each other's jobs for their own.
 */

/** The installation id; `null` only on a database migrated by a ccat older than migration 9. */
export const installationId: Effect.Effect<string | null, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [table] = yield* sql<{ present: boolean }>`SELECT to_regclass('installation') IS NOT NULL AS present`
  if (table?.present !== true) return null
  const [row] = yield* sql<{ id: string }>`SELECT id::text AS id FROM installation`
  return row?.id ?? null
})
