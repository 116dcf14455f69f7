import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Cause, Context, Duration, Effect, Either, Exit, Layer, Option, Redacted, Scope } from "effect"
import { resolve } from "node:path"
import type { IrGrouping, IrWorkspace } from "../compiler/ir.ts"
import { findColumn, findTable } from "../compiler/schema-registry.ts"
import { DatabaseConfig } from "../db/config.ts"
import { errorCode, processExists, readServerRecord, serverRecordUrl } from "../db/server-record.ts"
import { selectionQuery } from "../runtime/selection/index.ts"

/*
 * Live data for the language server: how many raw data packages (and sub-groups) a grouping
 * selects right now, and the values of a registry string column (source names after
 * `Source.name ==`), read from the operations database when one is reachable.
 *
 * - Which database: CCAT_DATABASE_URL, or else the embedded database of CCAT_DATA_DIR, but only
 *   as a GUEST of an owner that is already running (its server.json, with a live pid). The
 *   language server never opens the folder itself: it would hold it for as long as the editor
 *   is open. Nothing is ever written to the data dir. (server.json is read here rather than
 *   through embedded-server.ts so that the server does not load PGlite.)
 * - Lazy: nothing connects until the first question. A small pool (2 connections); a failed
 *   connection is retried at most every 30 s, and in between every question answers
 *   `undefined` at once.
 * - Read-only: single SELECT statements only. Bounded: every call resolves within `timeoutMs`
 *   (1 s), connecting included; a slow query is interrupted (the client cancels it on the
 *   server) and the real server also gets `statement_timeout`.
 * - Quiet: any failure is `undefined`; the first failure after a success (or at start) is
 *   logged once, never thrown.
 * - Cached: grouping counts per (grouping hash, group_by) for 15 s, column values for 60 s; an
 *   answer older than that is still returned by `cachedColumnValues` while a fresh one loads.
 */

export interface GroupingCounts {
  /** Distinct raw data packages the grouping selects. */
  readonly packages: number
  /** Distinct dimension tuples for the given `group_by`; undefined without one. */
  readonly subGroups: number | undefined
}

export interface LiveData {
  groupingCounts(grouping: IrGrouping, groupBy?: ReadonlyArray<string>): Promise<GroupingCounts | undefined>
  /** Distinct values of a registry string column, sorted, at most 200; undefined for other columns. */
  columnValues(table: string, column: string): Promise<ReadonlyArray<string> | undefined>
  /** Closes the pool. Every later call answers undefined. */
  dispose(): Promise<void>
}

export interface LiveDataOptions {
  /** Where the database is; default: CCAT_DATABASE_URL / CCAT_DATA_DIR from the environment. */
  readonly config?: DatabaseConfig
  /** Instead of connecting by configuration: this client (tests). */
  readonly layer?: Layer.Layer<SqlClient.SqlClient, unknown>
  readonly log?: (message: string) => void
  /** Budget of one call, connecting included (default 1000 ms). */
  readonly timeoutMs?: number
  /** Least time between two connection attempts after a failure (default 30 s). */
  readonly retryMs?: number
  readonly groupingTtlMs?: number
  readonly valuesTtlMs?: number
}

export const maxColumnValues = 200

/** Why there is no database to ask (logged once). */
class NoDatabase extends Error {}

interface Connection {
  readonly sql: SqlClient.SqlClient
  readonly scope: Scope.CloseableScope
  readonly description: string
}

interface CacheEntry<A> {
  readonly at: number
  readonly value: Promise<A | undefined>
}

/** The URL of the embedded database's running owner, read from server.json; never creates anything. */
export const embeddedOwnerUrl = (dataDir: string): string => {
  const record = readServerRecord(resolve(dataDir))
  if (Option.isNone(record)) throw new NoDatabase(`no CCAT_DATABASE_URL and no running embedded database in ${resolve(dataDir)}`)
  if (!processExists(record.value.pid)) throw new NoDatabase(`the embedded database's owner (pid ${record.value.pid}) is gone`)
  return serverRecordUrl(record.value)
}

/** The description of a URL without its password, for the log. */
const shown = (url: URL): string => {
  const copy = new URL(url.toString())
  copy.password = ""
  copy.searchParams.delete("password")
  return copy.toString()
}

const describeCause = (cause: unknown): string => {
  if (cause instanceof NoDatabase) return cause.message
  if (Cause.isCause(cause)) return describeCause(Cause.squash(cause))
  let message = cause instanceof Error ? cause.message : String(cause)
  let inner: unknown = cause instanceof Error ? cause.cause : undefined
  for (let depth = 0; inner instanceof Error && depth < 5; depth++) {
    message = inner.message || message
    inner = inner.cause
  }
  return message
}

/**
 * Whether a query's failure means the connection is unusable (drop it, retry later) rather than
 * a slow or refused statement: not a timeout, not a defect, and no SQLSTATE other than a
 * connection exception (08xxx) or an administrator's shutdown (57P0x).
 */
const connectionProblem = (cause: Cause.Cause<unknown>): boolean => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return false
  const error = failure.value
  if (error instanceof Cause.TimeoutException) return false
  if (typeof error !== "object" || error === null || (error as { _tag?: unknown })._tag !== "SqlError") return false
  const code = errorCode((error as { cause?: unknown }).cause)
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return true
  return code.startsWith("08") || code.startsWith("57P0")
}

export const makeLiveData = (options: LiveDataOptions = {}): LiveData => {
  const timeoutMs = options.timeoutMs ?? 1000
  const retryMs = options.retryMs ?? 30_000
  const groupingTtlMs = options.groupingTtlMs ?? 15_000
  const valuesTtlMs = options.valuesTtlMs ?? 60_000
  const log = options.log ?? (() => undefined)

  let connection: Connection | undefined
  let connecting: Promise<Connection | undefined> | undefined
  let failedAt: number | undefined
  let logged = false
  let disposed = false
  const cache = new Map<string, CacheEntry<unknown>>()

  const failed = (cause: unknown): void => {
    failedAt = Date.now()
    if (!logged) {
      logged = true
      log(`ccat: live data off (${describeCause(cause)}); trying again in ${Math.round(retryMs / 1000)} s at the earliest`)
    }
  }

  const closeInBackground = (scope: Scope.CloseableScope): void => {
    void Effect.runPromise(Scope.close(scope, Exit.void)).catch(() => undefined)
  }

  /** The layer to connect with: resolved at each attempt, since an embedded owner may come and go. */
  const target = (): { layer: Layer.Layer<SqlClient.SqlClient, unknown>; description: string } => {
    if (options.layer !== undefined) return { layer: options.layer, description: "the given client" }
    const config =
      options.config ??
      Either.getOrThrowWith(Effect.runSync(Effect.either(DatabaseConfig)), (error) => new NoDatabase(`bad database configuration: ${String(error)}`))
    const fromEnv = Option.map(config.url, Redacted.value)
    const raw = Option.isSome(fromEnv) ? fromEnv.value.trim() : embeddedOwnerUrl(config.dataDir)
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new NoDatabase("CCAT_DATABASE_URL is not a URL")
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new NoDatabase(`CCAT_DATABASE_URL has the scheme ${url.protocol}`)
    // The server stops a runaway statement by itself too (node-postgres sends it at startup).
    if (Option.isSome(fromEnv) && !url.searchParams.has("statement_timeout")) url.searchParams.set("statement_timeout", String(timeoutMs))
    const layer = PgClient.layer({
      url: Redacted.make(url.toString()),
      maxConnections: 2,
      idleTimeout: Duration.seconds(30),
      connectTimeout: Duration.millis(Math.max(timeoutMs, 1000) * 3),
      applicationName: "ccat-lsp"
    })
    return { layer, description: shown(url) }
  }

  const open = async (): Promise<Connection> => {
    const { layer, description } = target()
    const scope = await Effect.runPromise(Scope.make())
    const exit = await Effect.runPromiseExit(
      Layer.buildWithScope(layer, scope).pipe(Effect.map((context) => Context.get(context, SqlClient.SqlClient)))
    )
    if (Exit.isFailure(exit)) {
      closeInBackground(scope)
      throw Cause.squash(exit.cause)
    }
    if (disposed) {
      closeInBackground(scope)
      throw new NoDatabase("disposed")
    }
    return { sql: exit.value, scope, description }
  }

  const connect = (): Promise<Connection | undefined> => {
    if (disposed) return Promise.resolve(undefined)
    if (connection !== undefined) return Promise.resolve(connection)
    if (connecting !== undefined) return connecting
    if (failedAt !== undefined && Date.now() - failedAt < retryMs) return Promise.resolve(undefined)
    connecting = open()
      .then(
        (opened) => {
          connection = opened
          failedAt = undefined
          logged = false
          return opened
        },
        (cause: unknown) => {
          failed(cause)
          return undefined
        }
      )
      .finally(() => {
        connecting = undefined
      })
    return connecting
  }

  /** The connection is broken (not merely slow): drop it, and wait before the next attempt. */
  const broken = (conn: Connection, cause: unknown): void => {
    if (connection === conn) {
      connection = undefined
      closeInBackground(conn.scope)
    }
    failed(cause)
  }

  /** Runs a query within the budget; undefined on any failure or when the budget is spent. */
  const query = async <A>(make: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>, deadline: number): Promise<A | undefined> => {
    const conn = await connect()
    const left = deadline - Date.now()
    if (conn === undefined || left <= 0) return undefined
    const exit = await Effect.runPromiseExit(
      Effect.suspend(() => make(conn.sql)).pipe(
        // Answer at the deadline; the query is interrupted (and cancelled) in the background.
        Effect.disconnect,
        Effect.timeout(Duration.millis(left))
      )
    )
    if (Exit.isSuccess(exit)) return exit.value
    if (connectionProblem(exit.cause)) broken(conn, exit.cause)
    return undefined
  }

  /** The budget of a whole call, connecting included. */
  const bounded = <A>(work: () => Promise<A | undefined>): Promise<A | undefined> =>
     new Promise<A | undefined>((resolvePromise) => {
      const timer = setTimeout(() => resolvePromise(undefined), timeoutMs)
      timer.unref?.()
      work().then(
        (value) => {
          clearTimeout(timer)
          resolvePromise(value)
        },
        () => {
          clearTimeout(timer)
          resolvePromise(undefined)
        }
      )
    })

  /** A cached answer (failures are not cached), fetched once at a time. */
  const cached = <A>(key: string, ttlMs: number, fetch: () => Promise<A | undefined>): Promise<A | undefined> => {
    if (disposed) return Promise.resolve(undefined)
    const now = Date.now()
    const hit = cache.get(key) as CacheEntry<A> | undefined
    if (hit !== undefined && now - hit.at < ttlMs) return hit.value
    const entry: CacheEntry<A> = { at: now, value: bounded(fetch) }
    cache.set(key, entry as CacheEntry<unknown>)
    void entry.value.then((value) => {
      if (value === undefined && cache.get(key) === entry) cache.delete(key)
    })
    return entry.value
  }

  const groupingCounts = (grouping: IrGrouping, groupBy?: ReadonlyArray<string>): Promise<GroupingCounts | undefined> => {
    const dims = groupBy?.filter((d) => d !== "all")
    const key = `grouping:${grouping.hash}:${groupBy === undefined ? "-" : groupBy.join(",")}`
    return cached(key, groupingTtlMs, () =>
      query(
        (sql) =>
          Effect.gen(function* () {
            const selection = selectionQuery(sql, grouping.selection, { groupBy: dims ?? [] })
            const subGroups =
              dims === undefined
                ? sql`NULL::bigint`
                : dims.length === 0
                  ? // `all`: one sub-group when anything is selected.
                    sql`(SELECT LEAST(count(*), 1) FROM s)`
                  : sql`(SELECT count(*) FROM (SELECT DISTINCT ${sql.join(", ", false)(dims.map((d) => sql`${sql(d)}`))} FROM s) AS t)`
            const rows = yield* sql<{ readonly packages: string | number; readonly sub_groups: string | number | null }>`
              WITH s AS (${selection})
              SELECT (SELECT count(DISTINCT id) FROM s) AS packages, ${subGroups} AS sub_groups`
            const row = rows[0]
            if (row === undefined) return undefined
            return { packages: Number(row.packages), subGroups: row.sub_groups === null ? undefined : Number(row.sub_groups) }
          }),
        Date.now() + timeoutMs
      )
    )
  }

  const columnValues = (tableName: string, columnName: string): Promise<ReadonlyArray<string> | undefined> => {
    const table = findTable(tableName)
    const column = table === undefined ? undefined : findColumn(table, columnName)
    if (table === undefined || column === undefined || column.type !== "string") return Promise.resolve(undefined)
    return cached(`values:${table.name}.${column.name}`, valuesTtlMs, () =>
      query(
        (sql) =>
          Effect.map(
            sql<{ readonly value: string }>`
              SELECT DISTINCT ${sql(column.name)} AS value FROM ${sql(table.sqlTable)}
              WHERE ${sql(column.name)} IS NOT NULL ORDER BY 1 LIMIT ${maxColumnValues}`,
            (rows) => rows.map((r) => String(r.value)).sort()
          ),
        Date.now() + timeoutMs
      )
    )
  }

  const dispose = async (): Promise<void> => {
    disposed = true
    cache.clear()
    // A connection still being made closes itself when it arrives (see `open`).
    const conn = connection
    connection = undefined
    if (conn !== undefined) await Effect.runPromise(Scope.close(conn.scope, Exit.void)).catch(() => undefined)
  }

  return { groupingCounts, columnValues, dispose }
}

/** The `group_by` a grouping's live count splits by: that of the first step of the first pipeline reading it. */
export const groupingGroupBy = (ir: IrWorkspace, grouping: string): { readonly pipeline: string; readonly step: string; readonly groupBy: ReadonlyArray<string> } | undefined => {
  const pipeline = ir.pipelines.find((p) => p.data === grouping && p.steps.length > 0)
  const step = pipeline?.steps[0]
  return pipeline === undefined || step === undefined ? undefined : { pipeline: pipeline.name, step: step.name, groupBy: step.groupBy }
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/**
 * The hover line for a grouping, e.g. "Matches now: 812 raw data packages in 97 sub-groups
 * (`group_by executed_obs_unit` of step `chai_standing.calibrate`)"; undefined when the
 * workspace has no IR, the grouping is unknown, or the database does not answer in time.
 */
export const groupingHoverLine = async (live: LiveData, ir: IrWorkspace | undefined | null, name: string): Promise<string | undefined> => {
  const grouping = ir?.groupings.find((g) => g.name === name)
  if (ir === undefined || ir === null || grouping === undefined) return undefined
  const first = groupingGroupBy(ir, name)
  const counts = await live.groupingCounts(grouping, first?.groupBy)
  if (counts === undefined) return undefined
  const packages = plural(counts.packages, "raw data package", "raw data packages")
  if (first === undefined || counts.subGroups === undefined) return `**Matches now:** ${packages}`
  return `**Matches now:** ${packages} in ${plural(counts.subGroups, "sub-group", "sub-groups")} (\`group_by ${first.groupBy.join(", ") || "all"}\` of step \`${first.pipeline}.${first.step}\`)`
}

/** Whether completion may ask the database for a column's values (a registry string column). */
export const hasLiveValues = (tableName: string, columnName: string): boolean => {
  const table = findTable(tableName)
  return table !== undefined && findColumn(table, columnName)?.type === "string"
}

/** Live data as configured by the environment (CCAT_DATABASE_URL / CCAT_DATA_DIR). */
export const liveDataFromEnvironment = (log: (message: string) => void): LiveData => makeLiveData({ log })
