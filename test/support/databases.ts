import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Effect, Either, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { DatabaseInUse, parseServerUrl } from "../../src/db/database.ts"
import { migrationLoader } from "../../src/db/migrations/index.ts"
import { seedDemo } from "../../src/db/seed/index.ts"

/*
 * The databases every database test runs against: the real PostgreSQL server (a fresh database
 * per layer, dropped afterwards) and the embedded PGlite (in memory, behind its socket server).
 * Both are reached through the same @effect/sql-pg client, as in production.
 * CCAT_TEST_DATABASES=postgres or =pglite narrows the set; CCAT_TEST_POSTGRES_URL points at the
 * server (default postgres://postgres@127.0.0.1:5432/postgres).
 */

export type TestBackend = "postgres" | "pglite"

const isTestBackend = (s: string): s is TestBackend => s === "postgres" || s === "pglite"

/**
 * The databases named by CCAT_TEST_DATABASES. A name that is not one of them is an error, not a
 * silent filter: a typo (`postgress`) would otherwise run no database test at all and pass.
 */
export const parseTestBackends = (raw: string): ReadonlyArray<TestBackend> => {
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
  const unknown = names.filter((s) => !isTestBackend(s))
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `CCAT_TEST_DATABASES=${JSON.stringify(raw)}: name one or both of postgres, pglite (comma-separated)${unknown.length > 0 ? `; unknown: ${unknown.join(", ")}` : ""}`
    )
  }
  return [...new Set(names.filter(isTestBackend))]
}

export const testBackends: ReadonlyArray<TestBackend> = parseTestBackends(process.env["CCAT_TEST_DATABASES"] ?? "postgres,pglite")

/** The real server's admin database: where test databases are created and dropped. */
export const adminUrl = process.env["CCAT_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** A fresh, empty database on the real server; dropped when the scope closes. */
const freshPostgres = Effect.acquireRelease(
  Effect.gen(function* () {
    const name = `ccat_test_${randomBytes(6).toString("hex")}`
    yield* withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return { name, url: url.toString() }
  }),
  ({ name }) => withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.orDie)
)

/** Run `f` on one connection to the admin database (create, drop or look up databases). */
export const withAdmin = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* f(sql)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1 })), Effect.scoped, Effect.orDie)

/** PGlite in memory, served on a loopback port like the embedded default. */
const freshPglite = Effect.acquireRelease(
  Effect.promise(async () => {
    const db = await PGlite.create()
    const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 8 })
    await server.start()
    const [host, port] = server.getServerConn().split(":")
    return { db, server, url: `postgres://postgres@${host}:${port}/postgres` }
  }),
  ({ db, server }) =>
    Effect.promise(async () => {
      await server.stop()
      await db.close()
    })
)

/**
 * An SqlClient on a fresh, migrated database of the given kind. `pglitePool` 1 is how ccat
 * itself talks to the embedded database (src/db/database.ts): concurrent connections to
 * PGlite's socket server can interleave protocol messages, so suites that run ccat's loops
 * concurrently use it; suites that need two sessions at once (lock tests) keep the default.
 */
export const testDatabase = (
  backend: TestBackend,
  options: { readonly pglitePool?: number } = {}
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient | DatabaseInUse> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const { url } = backend === "postgres" ? yield* freshPostgres : yield* freshPglite
      const client = PgClient.layer({ url: Redacted.make(url), maxConnections: backend === "pglite" ? (options.pglitePool ?? 4) : 8 })
      const migrated = Layer.effectDiscard(PgMigrator.run({ loader: migrationLoader })).pipe(Layer.provide(NodeContext.layer))
      // What `ccat status` and `ccat plan` name in their first line: the test's server (PGlite's socket too).
      const described = Layer.succeed(DatabaseInUse, Either.getOrThrow(parseServerUrl(Redacted.make(url))).description)
      return Layer.merge(Layer.provideMerge(migrated, client), described)
    })
  ).pipe(Layer.orDie)

/**
 * A fresh database of the given kind with the demo observatory seeded into it, its archive in a
 * folder `archiveDir` gives (the caller's scratch folder, removed with it).
 */
export const seededTestDatabase = (
  backend: TestBackend,
  archiveDir: string
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient | DatabaseInUse> =>
  Layer.provideMerge(
    Layer.effectDiscard(seedDemo({ archiveDir }).pipe(Effect.provide(NodeContext.layer), Effect.orDie)),
    testDatabase(backend)
  )
