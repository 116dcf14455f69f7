import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Redacted } from "effect"
import { dbMigrate, dbStatus, statusJson } from "../src/cli/db-command.ts"
import { connectionLayer, databaseLayer } from "../src/db/database.ts"
import { migrate, migrationStatus } from "../src/db/migrate.ts"
import { latestMigrationId, migrations } from "../src/db/migrations/index.ts"
import { testBackends, testDatabase } from "./support/databases.ts"

// Migrating as ccat does it, on the real server and on PGlite: idempotent, safe when processes
// race each other on a fresh database, all-or-nothing when a migration fails.

const knownIds = Object.keys(migrations)
  .map((key) => Number(key.split("_")[0]))
  .sort((a, b) => a - b)

/** Back to an empty database (the harness hands each suite a migrated one). */
const resetSchema = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP SCHEMA public CASCADE`
  yield* sql`CREATE SCHEMA public`
})

const databaseUrl = Effect.map(PgClient.PgClient, (pg) => Redacted.value(pg.config.url ?? Redacted.make("")))

const appliedRows = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ id: number }>`SELECT migration_id AS id FROM effect_sql_migrations ORDER BY 1`
  return rows.map((r) => r.id)
})

/** Console.log lines of an effect, and its exit. */
const captureLog = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const base = yield* Effect.console
    const lines: Array<string> = []
    const exit = yield* effect.pipe(
      Effect.withConsole({
        ...base,
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
      }),
      Effect.exit
    )
    return { exit, text: lines.join("\n") }
  })

for (const backend of testBackends) {
  describe(`migrations on ${backend}`, () => {
    // PGlite starts (initdb) in seconds, beyond vitest's 10 s hook timeout on a busy machine.
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("applies every migration once on a fresh database, then nothing", () =>
        Effect.gen(function* () {
          yield* resetSchema
          const before = yield* migrationStatus
          expect(before).toMatchObject({ applied: [], newerThanCcat: false, latestKnownId: latestMigrationId })
          expect(before.pending.map((m) => m.id)).toEqual(knownIds)

          expect((yield* migrate).map((m) => m.id)).toEqual(knownIds)
          expect(yield* migrate).toEqual([])
          expect(yield* appliedRows).toEqual(knownIds)

          const after = yield* migrationStatus
          expect(after.applied.map((m) => [m.id, m.name])).toEqual(
            Object.keys(migrations).map((k) => [Number(k.split("_")[0]), k.replace(/^\d+_/, "")])
          )
          expect(after.applied.every((m) => m.appliedAt instanceof Date)).toBe(true)
          expect(after).toMatchObject({ pending: [], unknown: [], newerThanCcat: false })
        })
      )

      it.effect("two processes migrating a fresh database at once both succeed and apply each migration once", () =>
        Effect.gen(function* () {
          yield* resetSchema
          const url = Redacted.make(yield* databaseUrl)
          // Each with its own pool, as two processes would have.
          const inOwnPool = migrate.pipe(Effect.provide(PgClient.layer({ url, maxConnections: 2 })))
          const [a, b] = yield* Effect.all([inOwnPool, inOwnPool], { concurrency: 2 })
          expect([...a, ...b].map((m) => m.id).sort((x, y) => x - y)).toEqual(knownIds)
          expect(yield* appliedRows).toEqual(knownIds)
        })
      )

      it.effect("two ccat processes starting at once on a fresh database both start (migrating on startup)", () =>
        Effect.gen(function* () {
          yield* resetSchema
          const config = { url: Option.some(Redacted.make(yield* databaseUrl)), dataDir: "/nonexistent" }
          const start = Effect.scoped(Layer.build(databaseLayer(config)))
          yield* Effect.all([start, start], { concurrency: 2 })
          expect(yield* appliedRows).toEqual(knownIds)
        })
      )

      it.effect("a failing migration changes nothing and says which one failed", () =>
        Effect.gen(function* () {
          yield* resetSchema
          const sql = yield* SqlClient.SqlClient
          yield* sql`CREATE TABLE observatory (id integer)`
          const error = yield* Effect.flip(migrate)
          expect(error._tag).toBe("MigrationFailed")
          expect(error.message).toMatch(/^migration 1_observation failed \(relation "observatory" already exists\); nothing was changed/)
          expect(error.message).not.toContain("\n")
          expect((yield* migrationStatus).applied).toEqual([])
          yield* sql`DROP TABLE observatory`
        })
      )

      it.effect("`ccat db migrate` lists what it applied, then says up to date; `ccat db status` shows the schema", () =>
        Effect.gen(function* () {
          yield* resetSchema
          const config = { url: Option.some(Redacted.make(yield* databaseUrl)), dataDir: "/nonexistent" }
          const database = connectionLayer(config)
          const shownUrl = (yield* databaseUrl).replace(/:[^:@/]*@/, "@")

          const pending = yield* captureLog(dbStatus({ json: false }, database))
          expect(Exit.isSuccess(pending.exit)).toBe(true)
          expect(pending.text).toContain(`database: ${shownUrl}`)
          expect(pending.text).toContain("applied migrations: none")
          expect(pending.text).toContain("schema: behind")

          const first = yield* captureLog(dbMigrate(database))
          expect(Exit.isSuccess(first.exit)).toBe(true)
          expect(first.text).toBe(
            [`database: ${shownUrl}`, ...Object.keys(migrations).map((k) => `applied migration ${k.replace("_", " ")}`)].join("\n")
          )

          const second = yield* captureLog(dbMigrate(database))
          const latest = Object.keys(migrations).at(-1)!.replace("_", " ")
          expect(second.text).toBe(`database: ${shownUrl}\nup to date (latest migration: ${latest})`)

          const status = yield* captureLog(dbStatus({ json: true }, database))
          const json = JSON.parse(status.text) as ReturnType<typeof statusJson>
          expect(json).toMatchObject({
            database: { kind: "server", url: shownUrl },
            latestKnownMigration: latestMigrationId,
            pending: [],
            newerThanCcat: false
          })
          expect(json.applied.map((m) => m.id)).toEqual(knownIds)
          expect(json.applied.every((m) => !Number.isNaN(Date.parse(m.appliedAt)))).toBe(true)
          // The installation id, made once by migration 9: the same on every look, and in the text.
          expect(pending.text).toContain("installation: none yet (made by migration 9)")
          expect(json.installation).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
          const text = yield* captureLog(dbStatus({ json: false }, database))
          expect(text.text.split("\n").slice(0, 2)).toEqual([`database: ${shownUrl}`, `installation: ${json.installation}`])
        })
      )
    })
  })
}
