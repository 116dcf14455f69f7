import { Command } from "@effect/cli"
import type { SqlClient } from "@effect/sql"
import { Console, Effect, type Layer } from "effect"
import type { NoDatabaseHere } from "../db/config.ts"
import {
  type Database,
  DatabaseInUse,
  type DatabaseDescription,
  DatabaseWithoutMigrationsCreating,
  describeDatabase,
  ExistingDatabaseWithoutMigrations
} from "../db/database.ts"
import type { DatabaseError } from "../db/errors.ts"
import { DatabaseQueryFailed, innermostMessage } from "../db/errors.ts"
import { installationId } from "../db/installation.ts"
import { migrate, type MigrationStatus, migrationStatus } from "../db/migrate.ts"
import { jsonOption } from "./check-command.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"

/*
 * `ccat db migrate` and `ccat db status`. Both open the database themselves, without the
 * migration on startup that every other command gets: `migrate` reports what it applies, and
 * `status` must work on a database that is behind or ahead of this ccat. `migrate` makes the
 * embedded database when there is none; `status` only reports that there is none.
 */

/** Ends the command with the error's one-line message and exit code 1. */
const exitOnDatabaseError = <A, R>(effect: Effect.Effect<A, DatabaseError | NoDatabaseHere, R>): Effect.Effect<A, CommandExit, R> =>
  Effect.catchAll(effect, (error) =>
    Console.error(`error: ${error.message}`).pipe(Effect.zipRight(new CommandExit({ code: ExitCode.failure })))
  )

/** Applies pending migrations on the database in use and says what it did. */
export const runDbMigrate: Effect.Effect<void, DatabaseError, SqlClient.SqlClient | DatabaseInUse> = Effect.gen(function* () {
  const database = yield* DatabaseInUse
  yield* Console.log(`database: ${describeDatabase(database)}`)
  const applied = yield* migrate
  if (applied.length === 0) {
    const status = yield* migrationStatus
    const latest = status.applied.at(-1)
    return yield* Console.log(latest === undefined ? "up to date" : `up to date (latest migration: ${latest.id} ${latest.name})`)
  }
  for (const m of applied) yield* Console.log(`applied migration ${m.id} ${m.name}`)
})

export const statusJson = (database: DatabaseDescription, status: MigrationStatus, installation: string | null) => ({
  installation,
  database:
    database._tag === "Server"
      ? { kind: "server", url: database.url }
      : {
          kind: "embedded",
          dataDir: database.dataDir,
          host: database.host,
          port: database.port,
          pid: database.pid,
          servedByThisProcess: database.owner
        },
  latestKnownMigration: status.latestKnownId,
  applied: status.applied.map((m) => ({ id: m.id, name: m.name, appliedAt: m.appliedAt.toISOString() })),
  pending: status.pending.map((m) => ({ id: m.id, name: m.name })),
  newerThanCcat: status.newerThanCcat
})

const statusText = (database: DatabaseDescription, status: MigrationStatus, installation: string | null): ReadonlyArray<string> => {
  const width = Math.max(0, ...status.applied.map((m) => `${m.id} ${m.name}`.length))
  const newest = status.unknown.at(-1)
  return [
    `database: ${describeDatabase(database)}`,
    // In every job's name and comment: what tells this database's jobs from another's on a shared cluster.
    `installation: ${installation ?? "none yet (made by migration 9)"}`,
    status.applied.length === 0 ? "applied migrations: none" : "applied migrations:",
    ...status.applied.map((m) => `  ${`${m.id} ${m.name}`.padEnd(width)}  ${m.appliedAt.toISOString()}`),
    status.pending.length === 0 ? "pending migrations: none" : "pending migrations:",
    ...status.pending.map((m) => `  ${m.id} ${m.name}`),
    newest !== undefined
      ? `schema: newer than this ccat (migration ${newest.id} ${newest.name} applied, this ccat knows up to ${status.latestKnownId}): upgrade ccat`
      : status.pending.length > 0
        ? "schema: behind; `ccat db migrate` (or any command that uses the database) applies the pending migrations"
        : "schema: up to date"
  ]
}

/** Prints the database in use and its migrations. */
export const runDbStatus = (options: { readonly json: boolean }): Effect.Effect<void, DatabaseError, SqlClient.SqlClient | DatabaseInUse> =>
  Effect.gen(function* () {
    const database = yield* DatabaseInUse
    const status = yield* migrationStatus
    const installation = yield* installationId.pipe(
      Effect.mapError((e) => new DatabaseQueryFailed({ action: "reading the installation id", detail: innermostMessage(e) }))
    )
    if (options.json) return yield* Console.log(JSON.stringify(statusJson(database, status, installation), null, 2))
    for (const line of statusText(database, status, installation)) yield* Console.log(line)
  })

/** The command handlers, on a given database (the environment's by default). */
export const dbMigrate = (
  database: Layer.Layer<Database, DatabaseError> = DatabaseWithoutMigrationsCreating
): Effect.Effect<void, CommandExit> => exitOnDatabaseError(Effect.provide(runDbMigrate, database))

export const dbStatus = (
  options: { readonly json: boolean },
  database: Layer.Layer<Database, DatabaseError | NoDatabaseHere> = ExistingDatabaseWithoutMigrations
): Effect.Effect<void, CommandExit> => exitOnDatabaseError(Effect.provide(runDbStatus(options), database))

export const dbMigrateCommand = Command.make("migrate", {}, () => dbMigrate()).pipe(
  Command.withDescription(
    "Apply the schema migrations this ccat knows to the database in use and list what was applied; without CCAT_DATABASE_URL and any .ccat/ found, make the embedded database in .ccat/ here. Every other command that uses the database migrates it on startup."
  )
)

export const dbStatusCommand = Command.make("status", { json: jsonOption }, ({ json }) => dbStatus({ json })).pipe(
  Command.withDescription(
    "Show the database in use (CCAT_DATABASE_URL, else the embedded one in CCAT_DATA_DIR or the nearest .ccat/ in this folder or above), its installation id (in the name and comment of every job it submits) and its applied and pending migrations. Exit 1 when there is none."
  )
)

/** `ccat db`, grouping the two. */
export const dbCommand = Command.make("db").pipe(
  Command.withDescription("The operations database: its migrations and status."),
  Command.withSubcommands([dbMigrateCommand, dbStatusCommand])
)
