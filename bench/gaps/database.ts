import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { adminUrl, type Options } from "./options.ts"
import { log } from "./report.ts"

// ---------------------------------------------------------------------------------------------
// The database: a fresh one per size, created and dropped through an admin connection.
// ---------------------------------------------------------------------------------------------

export const withAdmin = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* f(sql)
  }).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1, applicationName: "ccat-bench-gaps" })),
    Effect.scoped,
    Effect.orDie
  )

const databaseUrl = (name: string): string => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Load auto_explain for the database's sessions (`--explain-ms`), or with `null` stop loading it. */
const configureExplain = (name: string, explainMs: number | null) =>
  withAdmin((sql) =>
    explainMs === null
      ? sql.unsafe(`ALTER DATABASE ${name} RESET ALL`)
      : Effect.all([
          sql.unsafe(`ALTER DATABASE ${name} SET session_preload_libraries = 'auto_explain'`),
          sql.unsafe(`ALTER DATABASE ${name} SET auto_explain.log_min_duration = '${Math.max(0, Math.round(explainMs))}ms'`),
          sql.unsafe(`ALTER DATABASE ${name} SET auto_explain.log_analyze = on`),
          sql.unsafe(`ALTER DATABASE ${name} SET auto_explain.log_buffers = on`)
        ])
  )

export const benchDatabase = (label: string, options: Options) =>
  options.resume !== null
    ? Effect.gen(function* () {
        const name = options.resume!
        yield* configureExplain(name, options.explainMs)
        log(label, `resuming database ${name} (kept: drop it with DROP DATABASE ${name} WITH (FORCE))`)
        return { name, url: databaseUrl(name) }
      })
    : Effect.acquireRelease(
        Effect.gen(function* () {
          const name = `ccat_bench_${randomBytes(6).toString("hex")}`
          yield* withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
          if (options.explainMs !== null) yield* configureExplain(name, options.explainMs)
          log(
            label,
            `created database ${name}${options.explainMs !== null ? ` (auto_explain above ${options.explainMs} ms, plans in the server log)` : ""}`
          )
          return { name, url: databaseUrl(name) }
        }),
        ({ name }) =>
          options.keep
            ? Effect.sync(() => log(label, `kept database ${name} (--keep): drop it with DROP DATABASE ${name} WITH (FORCE)`))
            : withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(
                Effect.tap(() => Effect.sync(() => log(label, `dropped database ${name}`)))
              )
      )
