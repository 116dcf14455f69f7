import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import type { Options } from "./options.ts"

// ---------------------------------------------------------------------------------------------
// The bench database: kept between runs, since seeding 10M products takes minutes. A table of
// its own says what size it was seeded with; a database of another size is dropped and made
// again, one the bench did not seed is never touched.
// ---------------------------------------------------------------------------------------------

export const seedTable = "ccat_bench_api_seed"
/** What bench/api/seed.ts writes, by version: a database seeded by another version is seeded again. */
export const SEED_VERSION = 2

export interface SeededSize {
  readonly runs: number
  readonly productsPerRun: number
  readonly seedSeconds: number
  readonly seededAt: Date
}

export class NotABenchDatabase extends Error {}

const client = (url: string, maxConnections: number) =>
  PgClient.layer({ url: Redacted.make(url), maxConnections, applicationName: "ccat-bench-api" })

/** `f` on a connection to the server's `postgres` database. */
const withAdmin = <A, E>(options: Options, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(client(options.adminUrl, 1)), Effect.scoped)

const databaseName = (options: Options): string => new URL(options.databaseUrl).pathname.slice(1)

/** What the database was seeded with (null: no finished seed), whether the bench seeded it at all, and whether it is empty. */
const seededSize = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [tables] = yield* sql<{ n: number; ours: boolean }>`
    SELECT count(*)::int AS n, bool_or(tablename = ${seedTable}) AS ours FROM pg_tables WHERE schemaname = 'public'`
  if (tables?.ours !== true) return { seed: null, ours: false, empty: (tables?.n ?? 0) === 0 }
  const [row] = yield* sql<{ runs: string; products_per_run: number; seed_seconds: number; seeded_at: Date }>`
    SELECT runs, products_per_run, seed_seconds, seeded_at FROM ${sql(seedTable)} t
    WHERE finished AND to_jsonb(t) ->> 'version' = ${String(SEED_VERSION)}`
  const seed: SeededSize | null =
    row === undefined
      ? null
      : { runs: Number(row.runs), productsPerRun: row.products_per_run, seedSeconds: row.seed_seconds, seededAt: row.seeded_at }
  return { seed, ours: true, empty: false }
})

/**
 * The database, ready to seed or seeded with the asked size: `reuse` when it already holds that
 * size, else a fresh database (created, or dropped and created again when it holds an earlier
 * seed of the bench's).
 */
export const prepareDatabase = (options: Options, log: (line: string) => void) =>
  Effect.gen(function* () {
    const name = databaseName(options)
    const exists = yield* withAdmin(options, (sql) =>
      Effect.map(sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`, (rows) => (rows[0]?.n ?? 0) > 0)
    )
    if (exists) {
      const found = yield* seededSize.pipe(Effect.provide(client(options.databaseUrl, 1)), Effect.scoped)
      if (found.seed !== null && found.seed.runs === options.runs && found.seed.productsPerRun === options.productsPerRun) {
        log(
          `reusing database ${name}: seeded ${found.seed.seededAt.toISOString()} with ${options.runs} runs x ${options.productsPerRun} products (seeding took ${found.seed.seedSeconds.toFixed(0)} s)`
        )
        return { name, reuse: true }
      }
      if (!found.ours && !found.empty)
        return yield* Effect.fail(
          new NotABenchDatabase(
            `bench/api: database ${name} has tables but was not seeded by bench/api (no ${seedTable} table); not touching it. Point CCAT_BENCH_DATABASE_URL at another database.`
          )
        )
      log(
        found.seed === null
          ? `database ${name} holds no finished seed of this version of the bench: dropping it and seeding again`
          : `database ${name} holds ${found.seed.runs} runs x ${found.seed.productsPerRun} products, not the asked size: dropping it`
      )
      yield* withAdmin(options, (sql) => sql.unsafe(`DROP DATABASE ${name} WITH (FORCE)`))
    }
    yield* withAdmin(options, (sql) => sql.unsafe(`CREATE DATABASE ${name}`))
    log(`created database ${name}`)
    return { name, reuse: false }
  })

/** The bench database's client for seeding and for the server. */
export const benchClient = (options: Options) => client(options.databaseUrl, 8)
