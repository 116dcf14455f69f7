import type { SqlClient } from "@effect/sql"
import { Cache, Context, Duration, Effect, Equal, Exit, Hash, Layer, ManagedRuntime, Option, type Scope } from "effect"
import type { IrGrouping, IrWorkspace } from "../compiler/ir.ts"
import { findColumn, findTable, type TableDefinition } from "../compiler/schema-registry.ts"
import { selectionQuery } from "../runtime/selection/index.ts"
import { connectionProblem, makeLiveConnection, type LiveConnectionOptions } from "./live-connection.ts"

export { embeddedOwnerUrl } from "./live-connection.ts"

/*
 * Live data for the language server: how many raw data packages (and sub-groups) a grouping
 * selects right now, and the values of a registry string column (source names after
 * `Source.name ==`), read from the operations database when one is reachable (which one, and how
 * the connection is made and retried: live-connection.ts).
 *
 * - Lazy: nothing connects until the first question. A small pool (2 connections); a failed
 *   connection is retried at most every 30 s, and in between every question answers
 *   `undefined` at once.
 * - Read-only: single SELECT statements only. Bounded: every call resolves within `timeoutMs`
 *   (1 s), connecting included; a slow query is interrupted (the client cancels it on the
 *   server) and the real server also gets `statement_timeout`.
 * - Quiet: any failure is `undefined`; the first failure after a success (or at start) is
 *   logged once, never thrown.
 * - Cached: grouping counts per (grouping hash, group_by) for 15 s, column values for 60 s;
 *   a question asked while the same one is being answered waits for that answer. Failures are
 *   not cached.
 *
 * The language server's handlers are promises; the work is Effects run at this edge by a
 * ManagedRuntime whose scope holds the connection and the caches.
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

export interface LiveDataOptions extends Partial<LiveConnectionOptions> {
  /** Budget of one call, connecting included (default 1000 ms). */
  readonly timeoutMs?: number
  /** Least time between two connection attempts after a failure (default 30 s). */
  readonly retryMs?: number
  readonly groupingTtlMs?: number
  readonly valuesTtlMs?: number
}

export const maxColumnValues = 200

/** Far more distinct questions than an editing session asks; only a bound against leaks. */
const cacheCapacity = 10_000

/** A cache key that carries what its lookup needs; two are the same question when their `key` is. */
class Question<A> implements Equal.Equal {
  constructor(
    readonly key: string,
    readonly subject: A
  ) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Question && that.key === this.key
  }
  [Hash.symbol](): number {
    return Hash.string(this.key)
  }
}

interface GroupingSubject {
  readonly grouping: IrGrouping
  readonly groupBy: ReadonlyArray<string> | undefined
}

interface ColumnSubject {
  readonly table: TableDefinition
  readonly column: string
}

/** The answers, as Effects: none when the database does not answer in time. */
interface LiveQueries {
  readonly groupingCounts: (grouping: IrGrouping, groupBy?: ReadonlyArray<string>) => Effect.Effect<Option.Option<GroupingCounts>>
  readonly columnValues: (table: string, column: string) => Effect.Effect<Option.Option<ReadonlyArray<string>>>
}

class LiveQueriesService extends Context.Tag("ccat/lsp/LiveQueries")<LiveQueriesService, LiveQueries>() {}

const countGrouping =
  ({ grouping, groupBy }: GroupingSubject) =>
  (sql: SqlClient.SqlClient): Effect.Effect<Option.Option<GroupingCounts>, unknown> =>
    Effect.gen(function* () {
      const dims = groupBy?.filter((d) => d !== "all")
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
      return Option.map(Option.fromNullable(rows[0]), (row) => ({
        packages: Number(row.packages),
        subGroups: row.sub_groups === null ? undefined : Number(row.sub_groups)
      }))
    })

const listColumnValues =
  ({ table, column }: ColumnSubject) =>
  (sql: SqlClient.SqlClient): Effect.Effect<Option.Option<ReadonlyArray<string>>, unknown> =>
    Effect.map(
      sql<{ readonly value: string }>`
        SELECT DISTINCT ${sql(column)} AS value FROM ${sql(table.sqlTable)}
        WHERE ${sql(column)} IS NOT NULL ORDER BY 1 LIMIT ${maxColumnValues}`,
      (rows) => Option.some(rows.map((r) => String(r.value)).sort())
    )

const makeLiveQueries = (options: LiveDataOptions): Effect.Effect<LiveQueries, never, Scope.Scope> =>
  Effect.gen(function* () {
    const timeoutMs = options.timeoutMs ?? 1000
    const connection = yield* makeLiveConnection({
      ...options,
      log: options.log ?? (() => undefined),
      timeoutMs,
      retryMs: options.retryMs ?? 30_000
    })

    /** One question within the budget, connecting included; none on any failure or when the budget is spent. */
    const ask = <A>(query: (sql: SqlClient.SqlClient) => Effect.Effect<Option.Option<A>, unknown>): Effect.Effect<Option.Option<A>> =>
      connection.get.pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeedNone,
            onSome: (conn) =>
              Effect.suspend(() => query(conn.sql)).pipe(
                Effect.tapErrorCause((cause) => (connectionProblem(cause) ? connection.broken(conn, cause) : Effect.void))
              )
          })
        ),
        // Answer at the deadline; an unfinished query is interrupted (and cancelled) in the background.
        Effect.disconnect,
        Effect.timeout(Duration.millis(timeoutMs)),
        Effect.catchAllCause(() => Effect.succeedNone)
      )

    /** Answers are kept for `ttlMs`; no answer is not kept, so the next question asks again. */
    const answersFor =
      (ttlMs: number) =>
      (exit: Exit.Exit<Option.Option<unknown>>): Duration.Duration =>
        Exit.isSuccess(exit) && Option.isSome(exit.value) ? Duration.millis(ttlMs) : Duration.zero

    const groupings = yield* Cache.makeWith({
      capacity: cacheCapacity,
      lookup: (question: Question<GroupingSubject>) => ask(countGrouping(question.subject)),
      timeToLive: answersFor(options.groupingTtlMs ?? 15_000)
    })
    const values = yield* Cache.makeWith({
      capacity: cacheCapacity,
      lookup: (question: Question<ColumnSubject>) => ask(listColumnValues(question.subject)),
      timeToLive: answersFor(options.valuesTtlMs ?? 60_000)
    })

    return {
      groupingCounts: (grouping, groupBy) =>
        groupings.get(new Question(`${grouping.hash}:${groupBy === undefined ? "-" : groupBy.join(",")}`, { grouping, groupBy })),
      columnValues: (tableName, columnName) => {
        const table = findTable(tableName)
        const column = table === undefined ? undefined : findColumn(table, columnName)
        if (table === undefined || column === undefined || column.type !== "string") return Effect.succeedNone
        return values.get(new Question(`${table.name}.${column.name}`, { table, column: column.name }))
      }
    }
  })

export const makeLiveData = (options: LiveDataOptions = {}): LiveData => {
  const runtime = ManagedRuntime.make(Layer.scoped(LiveQueriesService, makeLiveQueries(options)))
  // After `dispose` the runtime refuses to run anything: that too is "no answer".
  const answer = <A>(question: (queries: LiveQueries) => Effect.Effect<Option.Option<A>>): Promise<A | undefined> =>
    runtime
      .runPromiseExit(Effect.flatMap(LiveQueriesService, question))
      .then((exit) => (Exit.isSuccess(exit) ? Option.getOrUndefined(exit.value) : undefined))
  return {
    groupingCounts: (grouping, groupBy) => answer((queries) => queries.groupingCounts(grouping, groupBy)),
    columnValues: (table, column) => answer((queries) => queries.columnValues(table, column)),
    dispose: () => runtime.dispose()
  }
}

/** The `group_by` a grouping's live count splits by: that of the first step of the first pipeline reading it. */
export const groupingGroupBy = (
  ir: IrWorkspace,
  grouping: string
): { readonly pipeline: string; readonly step: string; readonly groupBy: ReadonlyArray<string> } | undefined => {
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
