import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import {
  Cause,
  Clock,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Either,
  ExecutionStrategy,
  Exit,
  Layer,
  Option,
  Predicate,
  Redacted,
  Scope,
  SynchronizedRef
} from "effect"
import { resolve } from "node:path"
import { DatabaseConfig, missingDatabase, type NoDatabaseHere } from "../db/config.ts"
import { configErrorText } from "../db/config-error-text.ts"
import { parseServerUrl } from "../db/database.ts"
import { innermostMessage } from "../db/errors.ts"
import { errorCode, processExists, readServerRecord, serverRecordUrl } from "../db/server-record.ts"

/*
 * The language server's one connection to the operations database, made lazily and shared: the
 * first question starts an attempt, every question meanwhile waits for that same attempt, and a
 * failed attempt (or a connection found broken) is not retried for `retryMs`. The attempt runs in
 * its own fiber, so a question that gives up waiting (its budget spent) does not cut it short.
 * The first failure after a success (or at start) is logged once.
 *
 * Which database: the one every command finds (src/db/config.ts): CCAT_DATABASE_URL, or else the
 * embedded database of CCAT_DATA_DIR or of the nearest .ccat/ at or above the server's working
 * folder (the editor's workspace folder), but only as a GUEST of an owner that is already running
 * (its server.json, with a live pid). The language server never makes a database, nor opens the
 * folder itself: it would hold it for as long as the editor is open. Nothing is ever written to
 * the data dir. (server.json is read here rather than through embedded-server.ts so that the
 * server does not load PGlite.)
 */

export interface LiveConnectionOptions {
  /** Where the database is; default: CCAT_DATABASE_URL / CCAT_DATA_DIR from the environment. */
  readonly config?: DatabaseConfig
  /** Instead of connecting by configuration: this client (tests). */
  readonly layer?: Layer.Layer<SqlClient.SqlClient, unknown>
  readonly log: (message: string) => void
  /** The budget of one question; the server also gets it as `statement_timeout`. */
  readonly timeoutMs: number
  /** Least time between two connection attempts after a failure. */
  readonly retryMs: number
}

export interface Connection {
  readonly sql: SqlClient.SqlClient
  /** Holds the pool; closing it closes the connections. */
  readonly scope: Scope.CloseableScope
}

export interface LiveConnection {
  /** The connection, waiting for an attempt under way; none while there is no database to ask. */
  readonly get: Effect.Effect<Option.Option<Connection>>
  /** `connection` failed in a way that makes it unusable: drop it, and wait before the next attempt. */
  readonly broken: (connection: Connection, cause: Cause.Cause<unknown>) => Effect.Effect<void>
}

/** Why there is no database to ask. */
export class NoDatabase extends Data.TaggedError("NoDatabase")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** The URL of the embedded database's running owner, read from server.json; never creates anything. */
export const embeddedOwnerUrl = (dataDir: string): Either.Either<string, NoDatabase> => {
  const record = readServerRecord(resolve(dataDir))
  if (Option.isNone(record))
    return Either.left(new NoDatabase({ reason: `no CCAT_DATABASE_URL and no running embedded database in ${resolve(dataDir)}` }))
  if (!processExists(record.value.pid))
    return Either.left(new NoDatabase({ reason: `the embedded database's owner (pid ${record.value.pid}) is gone` }))
  return Either.right(serverRecordUrl(record.value))
}

/**
 * Whether a query's failure means the connection is unusable (drop it, retry later) rather than
 * a refused statement: not a defect, and no SQLSTATE other than a connection exception (08xxx) or
 * an administrator's shutdown (57P0x).
 */
export const connectionProblem = (cause: Cause.Cause<unknown>): boolean =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => false,
    onSome: (error) => {
      if (!Predicate.isTagged(error, "SqlError")) return false
      const code = errorCode((error as { readonly cause?: unknown }).cause)
      if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return true
      return code.startsWith("08") || code.startsWith("57P0")
    }
  })

/** The environment's database, as a command that needs one finds it: none there is said as the commands say it. */
const environmentConfig: Effect.Effect<DatabaseConfig, NoDatabase | NoDatabaseHere> = DatabaseConfig.pipe(
  Effect.mapError((error) => new NoDatabase({ reason: `bad database configuration: ${configErrorText(error)}` })),
  Effect.tap((config) => Option.match(missingDatabase(config), { onNone: () => Effect.void, onSome: Effect.fail }))
)

/** The layer to connect with: resolved at each attempt, since an embedded owner may come and go. */
const target = (options: LiveConnectionOptions): Effect.Effect<Layer.Layer<SqlClient.SqlClient, unknown>, unknown> =>
  Effect.gen(function* () {
    if (options.layer !== undefined) return options.layer
    const config = options.config ?? (yield* environmentConfig)
    const url = yield* Option.match(config.url, {
      onSome: Effect.succeed,
      onNone: () => Effect.map(embeddedOwnerUrl(config.dataDir), Redacted.make)
    })
    const server = yield* parseServerUrl(url)
    const withTimeout = Option.isSome(config.url) ? withStatementTimeout(server.url, options.timeoutMs) : server.url
    return PgClient.layer({
      url: withTimeout,
      maxConnections: 2,
      idleTimeout: Duration.seconds(30),
      connectTimeout: Duration.millis(Math.max(options.timeoutMs, 1000) * 3),
      applicationName: "ccat-lsp"
    })
  })

/** The server stops a runaway statement by itself too (node-postgres sends it at startup), unless the URL says otherwise. */
const withStatementTimeout = (url: Redacted.Redacted<string>, timeoutMs: number): Redacted.Redacted<string> => {
  // parseServerUrl has accepted the URL, so it parses.
  const parsed = new URL(Redacted.value(url).trim())
  if (parsed.searchParams.has("statement_timeout")) return url
  parsed.searchParams.set("statement_timeout", String(timeoutMs))
  return Redacted.make(parsed.toString())
}

type State =
  | { readonly _tag: "NotConnected"; readonly retryAt: number; readonly reported: boolean }
  | { readonly _tag: "Connecting"; readonly attempt: Deferred.Deferred<Option.Option<Connection>>; readonly reported: boolean }
  | { readonly _tag: "Connected"; readonly connection: Connection }
  | { readonly _tag: "Closed" }

/** The connection, made within the current scope: closing it ends any attempt and closes the pool. */
export const makeLiveConnection = (options: LiveConnectionOptions): Effect.Effect<LiveConnection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const state = yield* SynchronizedRef.make<State>({ _tag: "NotConnected", retryAt: 0, reported: false })
    yield* Effect.addFinalizer(() => SynchronizedRef.set(state, { _tag: "Closed" }))

    const retryIn = `${Math.round(options.retryMs / 1000)} s`
    const report = (reported: boolean, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
      reported
        ? Effect.void
        : Effect.sync(() =>
            options.log(`ccat: live data off (${innermostMessage(Cause.squash(cause))}); trying again in ${retryIn} at the earliest`)
          )

    const closeInBackground = (connection: Connection): Effect.Effect<void> =>
      Effect.asVoid(Effect.forkIn(Scope.close(connection.scope, Exit.void), scope))

    const open: Effect.Effect<Connection, unknown> = Effect.gen(function* () {
      const layer = yield* target(options)
      const connectionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      return yield* Layer.buildWithScope(layer, connectionScope).pipe(
        Effect.map((context) => ({ sql: Context.get(context, SqlClient.SqlClient), scope: connectionScope })),
        Effect.onError(() => Scope.close(connectionScope, Exit.void))
      )
    })

    /** The attempt's outcome becomes the state, unless the connection was closed meanwhile. */
    const settle = (attempt: Deferred.Deferred<Option.Option<Connection>>, exit: Exit.Exit<Connection, unknown>): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        SynchronizedRef.modify(state, (current): readonly [Effect.Effect<void>, State] => {
          const ours = current._tag === "Connecting" && current.attempt === attempt
          if (Exit.isSuccess(exit)) {
            // Not ours: closed meanwhile (its scope already is, so this only makes sure).
            return ours ? [Effect.void, { _tag: "Connected", connection: exit.value }] : [Scope.close(exit.value.scope, Exit.void), current]
          }
          return ours
            ? [report(current.reported, exit.cause), { _tag: "NotConnected", retryAt: now + options.retryMs, reported: true }]
            : [Effect.void, current]
        })
      ).pipe(Effect.flatten, Effect.zipRight(Deferred.succeed(attempt, Exit.isSuccess(exit) ? Option.some(exit.value) : Option.none())))

    /**
     * Starts an attempt in a fiber of its own: a question that stops waiting for it does not end
     * it, and neither does closing, which would then wait for a connect that may take seconds
     * (`connectTimeout`). The attempt is bounded by that timeout; a pool that arrives after the
     * close is closed at once, since its scope already is.
     */
    const startAttempt: Effect.Effect<Deferred.Deferred<Option.Option<Connection>>> = Effect.gen(function* () {
      const attempt = yield* Deferred.make<Option.Option<Connection>>()
      yield* open.pipe(
        Effect.exit,
        Effect.flatMap((exit) => settle(attempt, exit)),
        // Waiters get none should the attempt die; after `settle` this does nothing.
        Effect.ensuring(Deferred.succeed(attempt, Option.none())),
        Effect.forkDaemon
      )
      return attempt
    })

    const get: Effect.Effect<Option.Option<Connection>> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      SynchronizedRef.modifyEffect(state, (current): Effect.Effect<readonly [Effect.Effect<Option.Option<Connection>>, State]> => {
        switch (current._tag) {
          case "Closed":
            return Effect.succeed([Effect.succeedNone, current])
          case "Connected":
            return Effect.succeed([Effect.succeedSome(current.connection), current])
          case "Connecting":
            return Effect.succeed([Deferred.await(current.attempt), current])
          case "NotConnected":
            if (now < current.retryAt) return Effect.succeed([Effect.succeedNone, current])
            return Effect.map(
              startAttempt,
              (attempt) => [Deferred.await(attempt), { _tag: "Connecting", attempt, reported: current.reported }] as const
            )
        }
      })
    ).pipe(Effect.flatten)

    const broken = (connection: Connection, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        SynchronizedRef.modify(state, (current): readonly [Effect.Effect<void>, State] => {
          const retryAt = now + options.retryMs
          if (current._tag === "Connected" && current.connection === connection) {
            return [Effect.zipRight(closeInBackground(connection), report(false, cause)), { _tag: "NotConnected", retryAt, reported: true }]
          }
          // Another question on the same connection found it broken first: wait from now.
          if (current._tag === "NotConnected") return [report(current.reported, cause), { _tag: "NotConnected", retryAt, reported: true }]
          return [Effect.void, current]
        })
      ).pipe(Effect.flatten)

    return { get, broken }
  })
