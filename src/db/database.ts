import type { SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Data, Duration, Effect, Either, Layer, Option, Redacted, Schedule } from "effect"
import { DatabaseConfig, type EnvironmentDatabaseConfig, missingDatabase, type NoDatabaseHere } from "./config.ts"
import { configErrorText } from "./config-error-text.ts"
import { embeddedServer, type EmbeddedServerOptions } from "./embedded-server.ts"
import {
  DatabaseAuthenticationFailed,
  DatabaseConfigInvalid,
  type DatabaseConnectError,
  type DatabaseError,
  DatabaseNotFound,
  DatabaseUnreachable,
  DatabaseUrlInvalid,
  EmbeddedOwnerNotAnswering,
  innermostMessage
} from "./errors.ts"
import { migrate } from "./migrate.ts"

/*
 * The operations database for the whole app. With CCAT_DATABASE_URL: that PostgreSQL server.
 * Without: the embedded PGlite database, served on a loopback port (embedded-server.ts). Either
 * way the app talks to it through the same PgClient.layer, so every query runs one code path.
 * No name transforms are configured (as in test/support/databases.ts): what a query's SQL says
 * is what comes back.
 */

/** Which database is in use, for people (`ccat db status`) and logs. */
export type DatabaseDescription =
  | {
      readonly _tag: "Server"
      /** The URL without its password. */
      readonly url: string
      readonly address: string
      readonly database: string
    }
  | {
      readonly _tag: "Embedded"
      readonly dataDir: string
      readonly host: string
      readonly port: number
      /** The process that serves the folder. */
      readonly pid: number
      /** Whether that process is this one. */
      readonly owner: boolean
    }

export class DatabaseInUse extends Context.Tag("ccat/DatabaseInUse")<DatabaseInUse, DatabaseDescription>() {}

/** The services a database layer provides. */
export type Database = SqlClient.SqlClient | PgClient.PgClient | DatabaseInUse

export const describeDatabase = (database: DatabaseDescription): string =>
  database._tag === "Server"
    ? database.url
    : `embedded at ${database.dataDir} (served on ${database.host}:${database.port} by pid ${database.pid})`

/** The database in a few words: the URL without its password, or the embedded database's folder. */
export const databaseName = (database: DatabaseDescription): string =>
  database._tag === "Server" ? database.url : `embedded at ${database.dataDir}`

/** The first line of `ccat status` and `ccat plan`: which database they read. */
export const databaseLine: Effect.Effect<string, never, DatabaseInUse> = Effect.map(
  DatabaseInUse,
  (database) => `Database: ${databaseName(database)}`
)

/** The `database` member of a command's JSON output (the same shape as in `ccat db status --json`, less the address). */
export type DatabaseJson = { readonly kind: "server"; readonly url: string } | { readonly kind: "embedded"; readonly dataDir: string }

export const databaseJsonOf = (database: DatabaseDescription): DatabaseJson =>
  database._tag === "Server" ? { kind: "server", url: database.url } : { kind: "embedded", dataDir: database.dataDir }

export const databaseJson: Effect.Effect<DatabaseJson, never, DatabaseInUse> = Effect.map(DatabaseInUse, databaseJsonOf)

export interface ServerTarget {
  readonly url: Redacted.Redacted<string>
  readonly description: Extract<DatabaseDescription, { _tag: "Server" }>
  readonly user: string
}

const decode = (text: string): string => decodeURIComponent(text)

/**
 * Checks the URL before node-postgres sees it: that library takes almost any string (it reads
 * "not a url" as a host named "base", and a mysql:// URL as a PostgreSQL one), and its own
 * failures would then be misleading.
 */
export const parseServerUrl = (url: Redacted.Redacted<string>): Either.Either<ServerTarget, DatabaseUrlInvalid> => {
  const raw = Redacted.value(url).trim()
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    return Either.left(new DatabaseUrlInvalid({ reason: "not a URL" }))
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return Either.left(new DatabaseUrlInvalid({ reason: `scheme "${parsed.protocol}" instead of postgres:` }))
  }
  let user: string
  let database: string
  let socketHost: string | null
  try {
    user = decode(parsed.username) || (process.env["USER"] ?? "postgres")
    database = decode(parsed.pathname.replace(/^\//, "")) || user
    socketHost = parsed.searchParams.get("host")
    decode(parsed.password)
  } catch {
    return Either.left(new DatabaseUrlInvalid({ reason: "bad %-encoding" }))
  }
  if (database.includes("/")) return Either.left(new DatabaseUrlInvalid({ reason: `database name "${database}" contains "/"` }))
  const host = parsed.hostname || socketHost || "localhost"
  const address = `${host}:${parsed.port || "5432"}`
  const shown = new URL(parsed.toString())
  shown.password = ""
  shown.searchParams.delete("password")
  return Either.right({
    url: Redacted.make(raw),
    user,
    description: { _tag: "Server", url: shown.toString(), address, database }
  })
}

/** What node-postgres reports when it cannot connect, as one of our errors. */
export const connectError =
  (target: ServerTarget) =>
  (error: SqlError.SqlError): DatabaseConnectError => {
    const { address, database } = target.description
    const cause: unknown = error.cause
    const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
    switch (code) {
      case "ECONNREFUSED":
        return new DatabaseUnreachable({ address, reason: "connection refused" })
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return new DatabaseUnreachable({ address, reason: "host not found" })
      case "ETIMEDOUT":
        return new DatabaseUnreachable({ address, reason: "timed out" })
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        return new DatabaseUnreachable({ address, reason: "no route to host" })
      case "3D000":
        return new DatabaseNotFound({ address, database })
      case "28P01":
      case "28000":
        return new DatabaseAuthenticationFailed({ address, user: target.user, detail: innermostMessage(error) })
    }
    // PgClient's own timeout on its first query has no code.
    if (error.message.includes("timed out")) return new DatabaseUnreachable({ address, reason: "timed out" })
    return new DatabaseUnreachable({ address, reason: innermostMessage(error) })
  }

const serverConnection = (url: Redacted.Redacted<string>): Layer.Layer<Database, DatabaseConnectError> =>
  Either.match(parseServerUrl(url), {
    onLeft: (error) => Layer.fail(error),
    onRight: (target) =>
      Layer.merge(
        PgClient.layer({ url: target.url, applicationName: "ccat" }).pipe(Layer.mapError(connectError(target))),
        Layer.succeed(DatabaseInUse, target.description)
      )
  })

// A guest found the owner's address but could not connect: the owner may just have left, in
// which case trying again makes this process the owner.
class GuestCouldNotConnect extends Data.TaggedError("GuestCouldNotConnect")<{
  readonly dir: string
  readonly pid: number
  readonly address: string
}> {}

// One connection per process. PGlite runs one statement at a time anyway, and its socket server
// interleaves the protocol messages of concurrent connections outside a transaction (a Parse of
// one connection between the Parse and Bind of another: "bind message supplies 11 parameters,
// but prepared statement requires 1"), which `ccat serve`'s concurrent loops hit at once.
const embeddedPoolSize = 1

const embeddedConnection = (dataDir: string, options?: EmbeddedServerOptions): Layer.Layer<Database, DatabaseConnectError> =>
  Layer.unwrapScoped(
    Effect.map(embeddedServer(dataDir, options), (server) =>
      Layer.merge(
        PgClient.layer({
          url: Redacted.make(server.url),
          maxConnections: embeddedPoolSize,
          idleTimeout: Duration.seconds(5),
          // Connections queue behind whatever transaction another process runs on the one engine.
          connectTimeout: Duration.seconds(30),
          applicationName: "ccat"
        }).pipe(
          Layer.mapError(() => new GuestCouldNotConnect({ dir: dataDir, pid: server.pid, address: `${server.host}:${server.port}` }))
        ),
        Layer.succeed(DatabaseInUse, {
          _tag: "Embedded",
          dataDir,
          host: server.host,
          port: server.port,
          pid: server.pid,
          owner: server.owner
        })
      )
    )
  ).pipe(
    Layer.retry(
      Schedule.recurs(2).pipe(
        Schedule.whileInput((error: DatabaseConnectError | GuestCouldNotConnect) => error._tag === "GuestCouldNotConnect")
      )
    ),
    Layer.catchAll((error) =>
      Layer.fail(
        error._tag === "GuestCouldNotConnect"
          ? new EmbeddedOwnerNotAnswering({ dir: error.dir, pid: error.pid, address: error.address })
          : error
      )
    )
  )

/** A connection for an explicit configuration, without migrating (tests; `ccat db …`). */
export const connectionLayer = (config: DatabaseConfig, embedded?: EmbeddedServerOptions): Layer.Layer<Database, DatabaseConnectError> =>
  Option.match(config.url, {
    onSome: serverConnection,
    onNone: () => embeddedConnection(config.dataDir, embedded)
  })

/** The database for an explicit configuration, migrated on startup. */
export const databaseLayer = (config: DatabaseConfig, embedded?: EmbeddedServerOptions): Layer.Layer<Database, DatabaseError> =>
  Layer.provideMerge(Layer.effectDiscard(migrate), connectionLayer(config, embedded))

const environmentConfig: Effect.Effect<EnvironmentDatabaseConfig, DatabaseConfigInvalid> = Effect.mapError(
  DatabaseConfig,
  (error) => new DatabaseConfigInvalid({ detail: configErrorText(error) })
)

/**
 * Only the commands that create a database (`db migrate`, `db seed`, `demo`) may make an embedded
 * one; every other command needs one that exists, and stops, having touched nothing, without.
 */
const existingConfig: Effect.Effect<EnvironmentDatabaseConfig, DatabaseConfigInvalid | NoDatabaseHere> = Effect.tap(
  environmentConfig,
  (config) => Option.match(missingDatabase(config), { onNone: () => Effect.void, onSome: Effect.fail })
)

/**
 * The app's database as configured by CCAT_DATABASE_URL, else the embedded one of CCAT_DATA_DIR
 * or of the nearest `.ccat/` at or above the working folder, which must exist; migrated on startup.
 */
export const DatabaseLive: Layer.Layer<Database, DatabaseError | NoDatabaseHere> = Layer.unwrapEffect(
  Effect.map(existingConfig, (config) => databaseLayer(config))
)

/** The same, making the embedded database (`.ccat/` in the working folder) when there is none: `ccat db seed`, `ccat demo`. */
export const DatabaseLiveCreating: Layer.Layer<Database, DatabaseError> = Layer.unwrapEffect(
  Effect.map(environmentConfig, (config) => databaseLayer(config))
)

/** The database, which must exist, not migrated: `ccat db status` reports the schema as it is. */
export const ExistingDatabaseWithoutMigrations: Layer.Layer<Database, DatabaseConnectError | NoDatabaseHere> = Layer.unwrapEffect(
  Effect.map(existingConfig, (config) => connectionLayer(config))
)

/** The database not migrated, made when there is none: `ccat db migrate` reports what it applies. */
export const DatabaseWithoutMigrationsCreating: Layer.Layer<Database, DatabaseConnectError> = Layer.unwrapEffect(
  Effect.map(environmentConfig, (config) => connectionLayer(config))
)
