import { NodeContext } from "@effect/platform-node"
import { SqlClient, type SqlError } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { Effect } from "effect"
import { DatabaseQueryFailed, innermostMessage, type MigrateError, MigrationFailed, SchemaNewerThanCcat } from "./errors.ts"
import { latestMigrationId, migrationLoader } from "./migrations/index.ts"

export interface MigrationRef {
  readonly id: number
  readonly name: string
}

export interface AppliedMigration extends MigrationRef {
  readonly appliedAt: Date
}

export interface MigrationStatus {
  /** The newest migration this ccat knows. */
  readonly latestKnownId: number
  readonly applied: ReadonlyArray<AppliedMigration>
  /** Known migrations that `migrate` would apply. */
  readonly pending: ReadonlyArray<MigrationRef>
  /** Applied migrations this ccat does not know: the database was migrated by a newer ccat. */
  readonly unknown: ReadonlyArray<AppliedMigration>
  readonly newerThanCcat: boolean
}

// The table PgMigrator keeps; created here with its exact definition (see below why).
const migrationsTable = "effect_sql_migrations"
// Any constant shared by every ccat: the bytes of "ccatmigr" as a bigint.
const migrationLockKey = "7161674985128945522"

const queryFailed = (action: string) => (error: SqlError.SqlError) => new DatabaseQueryFailed({ action, detail: innermostMessage(error) })

const knownMigrations: Effect.Effect<ReadonlyArray<MigrationRef>> = migrationLoader.pipe(
  Effect.map((resolved) => resolved.map(([id, name]) => ({ id, name }))),
  Effect.orDie
)

const appliedMigrations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [table] = yield* sql<{ present: boolean }>`SELECT to_regclass(${migrationsTable}::text) IS NOT NULL AS "present"`
  if (!table?.present) return []
  const rows = yield* sql<{ id: number; name: string; appliedAt: Date }>`
    SELECT migration_id AS "id", name AS "name", created_at AS "appliedAt" FROM ${sql(migrationsTable)} ORDER BY migration_id`
  return rows.map((r): AppliedMigration => ({ id: r.id, name: r.name, appliedAt: r.appliedAt }))
})

/** What is applied, what is pending, and whether the database is newer than this ccat. */
export const migrationStatus: Effect.Effect<MigrationStatus, DatabaseQueryFailed, SqlClient.SqlClient> = Effect.gen(function* () {
  const applied = yield* appliedMigrations.pipe(Effect.mapError(queryFailed("reading the applied migrations")))
  const known = yield* knownMigrations
  const latestApplied = applied.reduce((max, m) => Math.max(max, m.id), 0)
  const unknown = applied.filter((m) => m.id > latestMigrationId)
  return {
    latestKnownId: latestMigrationId,
    applied,
    pending: known.filter((m) => m.id > latestApplied),
    unknown,
    newerThanCcat: unknown.length > 0
  }
})

// PgMigrator turns a failing migration into a defect; bring it back as a typed, one-line error.
const migrationDefect = (defect: unknown): Effect.Effect<never, MigrationFailed> => {
  if (defect instanceof PgMigrator.MigrationError) {
    const named = /Migration "([^"]+)"/.exec(defect.message)
    return Effect.fail(new MigrationFailed({ migration: named?.[1] ?? "?", detail: innermostMessage(defect.cause ?? defect) }))
  }
  return Effect.die(defect)
}

/**
 * Brings the schema up to date and returns the migrations applied now (none when it was).
 *
 * Everything happens in one transaction under an advisory lock, so starters that race each other
 * queue up: PgMigrator alone is not safe on a fresh database (two processes both find no
 * migrations table and both create it). The lock also makes "newer than this ccat" a decision
 * taken on the state the migration would run on.
 */
export const migrate: Effect.Effect<ReadonlyArray<MigrationRef>, MigrateError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const run = Effect.gen(function* () {
    yield* sql`SELECT pg_advisory_xact_lock(${migrationLockKey}::bigint)`
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(migrationsTable)} (
      migration_id integer primary key,
      created_at timestamp with time zone not null default now(),
      name text not null
    )`
    const [newest] = yield* sql<{ id: number; name: string }>`
      SELECT migration_id AS "id", name AS "name" FROM ${sql(migrationsTable)}
      WHERE migration_id > ${latestMigrationId} ORDER BY migration_id DESC LIMIT 1`
    if (newest !== undefined) {
      return yield* new SchemaNewerThanCcat({ appliedId: newest.id, appliedName: newest.name, knownId: latestMigrationId })
    }
    return yield* PgMigrator.run({ loader: migrationLoader }).pipe(
      Effect.provide(NodeContext.layer),
      Effect.catchTag("MigrationError", (error) => Effect.fail(new MigrationFailed({ migration: "?", detail: error.message })))
    )
  })
  const applied = yield* sql.withTransaction(run).pipe(
    Effect.catchAllDefect(migrationDefect),
    Effect.catchTag("SqlError", (error) => Effect.fail(queryFailed("migrating the schema")(error)))
  )
  return applied.map(([id, name]) => ({ id, name }))
})
