import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Exit, Layer, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { dbMigrate, dbStatus } from "../src/cli/db-command.ts"
import { CommandExit } from "../src/cli/exit-code.ts"
import { connectionLayer, databaseLayer, parseServerUrl } from "../src/db/database.ts"
import { embeddedFiles, embeddedServer } from "../src/db/embedded-server.ts"
import { migrate, migrationStatus } from "../src/db/migrate.ts"
import { latestMigrationId } from "../src/db/migrations/index.ts"
import { testBackends, testDatabase } from "./support/databases.ts"

// Every way ccat can fail to use its database ends in one tagged error with one line saying
// what to do; the commands print that line and exit 1.

const adminUrl = process.env["CCAT_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** A loopback port nobody listens on. */
const unusedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 1)))
  })
})

/** The error that building a connection to `url` fails with. */
const connectFailure = (url: string) =>
  Effect.scoped(Layer.build(connectionLayer({ url: Option.some(Redacted.make(url)), dataDir: "/nonexistent" }))).pipe(Effect.flip)

const expectOneLine = (message: string) => {
  expect(message).not.toContain("\n")
  expect(message).not.toMatch(/\bat .*\.(ts|js):\d+/)
}

/** Console output of an effect (log and error lines), and its exit. */
const capture = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const base = yield* Effect.console
    const out: Array<string> = []
    const err: Array<string> = []
    const exit = yield* effect.pipe(
      Effect.withConsole({
        ...base,
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(args.map(String).join(" "))),
        error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void err.push(args.map(String).join(" ")))
      }),
      Effect.exit
    )
    return { exit, out, err }
  })

const expectCommandExit1 = (exit: Exit.Exit<unknown, unknown>) => expect(exit).toEqual(Exit.fail(new CommandExit({ code: 1 })))

describe("connecting", () => {
  for (const [url, reason] of [
    ["not a url", "not a URL"],
    ["mysql://ccat@127.0.0.1/ccat", 'scheme "mysql:" instead of postgres:'],
    ["postgres://ccat@127.0.0.1:port/ccat", "not a URL"],
    ["postgres://%zz@127.0.0.1/ccat", "bad %-encoding"]
  ] as const) {
    it.live(`refuses a malformed URL: ${url}`, () =>
      Effect.gen(function* () {
        const error = yield* connectFailure(url)
        expect(error._tag).toBe("DatabaseUrlInvalid")
        expect(error.message).toBe(
          `CCAT_DATABASE_URL is not a valid PostgreSQL URL (${reason}): expected postgres://user[:password]@host[:port]/database, or unset CCAT_DATABASE_URL to use the embedded database`
        )
      })
    )
  }

  it("shows a URL without its password", () => {
    const target = Either.getOrThrow(
      parseServerUrl(Redacted.make("postgres://ccat:s3cret@db.example.org:6543/ops?password=s3cret&sslmode=require"))
    )
    expect(target.description).toEqual({
      _tag: "Server",
      url: "postgres://ccat@db.example.org:6543/ops?sslmode=require",
      address: "db.example.org:6543",
      database: "ops"
    })
  })

  it.live("a port where nothing listens: connection refused, with host:port and what to do", () =>
    Effect.gen(function* () {
      const port = yield* unusedPort
      const error = yield* connectFailure(`postgres://ccat:secret@127.0.0.1:${port}/ccat`)
      expect(error._tag).toBe("DatabaseUnreachable")
      expect(error.message).toBe(
        `cannot reach PostgreSQL at 127.0.0.1:${port} (connection refused): check that the server is running and CCAT_DATABASE_URL names it, or unset CCAT_DATABASE_URL to use the embedded database`
      )
      expect(error.message).not.toContain("secret")
    })
  )

  describe.skipIf(!testBackends.includes("postgres"))("on the real server", () => {
    it.live("a database that does not exist", () =>
      Effect.gen(function* () {
        const url = new URL(adminUrl)
        url.pathname = "/ccat_no_such_database"
        const error = yield* connectFailure(url.toString())
        expect(error._tag).toBe("DatabaseNotFound")
        expect(error.message).toBe(
          `database "ccat_no_such_database" does not exist on ${url.hostname}:${url.port || "5432"}: create it (createdb ccat_no_such_database) or correct the name in CCAT_DATABASE_URL`
        )
      })
    )

    it.live("a user the server refuses", () =>
      Effect.gen(function* () {
        const url = new URL(adminUrl)
        url.username = "ccat_no_such_role"
        url.password = "secret"
        const error = yield* connectFailure(url.toString())
        expect(error._tag).toBe("DatabaseAuthenticationFailed")
        expect(error.message).toMatch(
          /^PostgreSQL at [^ ]+ refused user "ccat_no_such_role" \(.+\): check the user and password in CCAT_DATABASE_URL$/
        )
        expect(error.message).not.toContain("secret")
      })
    )
  })

  it.live("`ccat db status` and `ccat db migrate` print the one line and exit 1 (configuration from the environment)", () =>
    Effect.gen(function* () {
      const port = yield* unusedPort
      const environment = ConfigProvider.fromMap(new Map([["CCAT_DATABASE_URL", `postgres://ccat@127.0.0.1:${port}/ccat`]]))
      for (const command of [dbStatus({ json: false }), dbStatus({ json: true }), dbMigrate()]) {
        const { exit, out, err } = yield* capture(Effect.withConfigProvider(command, environment))
        expectCommandExit1(exit)
        expect(out).toEqual([])
        expect(err).toEqual([
          `error: cannot reach PostgreSQL at 127.0.0.1:${port} (connection refused): check that the server is running and CCAT_DATABASE_URL names it, or unset CCAT_DATABASE_URL to use the embedded database`
        ])
      }
    })
  )

  it.live("as a person meets it: `ccat db status` prints one line on stderr and exits 1", () =>
    Effect.gen(function* () {
      const port = yield* unusedPort
      const run = spawnSync(process.execPath, [join(process.cwd(), "bin/ccat.js"), "db", "status"], {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", CCAT_DATABASE_URL: `postgres://ccat:secret@127.0.0.1:${port}/ccat` },
        timeout: 50_000
      })
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
        status: 1,
        stdout: "",
        stderr: `error: cannot reach PostgreSQL at 127.0.0.1:${port} (connection refused): check that the server is running and CCAT_DATABASE_URL names it, or unset CCAT_DATABASE_URL to use the embedded database\n`
      })
    })
  )
})

describe("the embedded database's folder", () => {
  it.scopedLive("that cannot be created", () =>
    Effect.gen(function* () {
      const scratch = mkdtempSync(join(tmpdir(), "ccat-errors-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(scratch, { recursive: true, force: true })))
      writeFileSync(join(scratch, "file"), "")
      const dataDir = join(scratch, "file", "ccat")
      const error = yield* Effect.flip(embeddedServer(dataDir))
      expect(error._tag).toBe("EmbeddedDataDirNotWritable")
      expect(error.message).toMatch(
        new RegExp(
          `^cannot use the embedded database folder ${dataDir} \\(ENOTDIR.*\\): make it writable or set CCAT_DATA_DIR to another folder$`
        )
      )
      expectOneLine(error.message)
    })
  )

  it.scopedLive("owned by a live process whose port answers but does not speak PostgreSQL", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "ccat-errors-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const impostor = createServer((socket) => socket.destroy())
      const port = yield* Effect.async<number>((resume) => {
        impostor.listen(0, "127.0.0.1", () => {
          const address = impostor.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 1))
        })
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => impostor.close()))
      const owner = process.ppid
      const files = embeddedFiles(dataDir)
      writeFileSync(files.lock, `${owner}\n`)
      writeFileSync(files.serverJson, JSON.stringify({ host: "127.0.0.1", port, pid: owner, startedAt: new Date().toISOString() }))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(connectionLayer({ url: Option.none(), dataDir }))))
      expect(error._tag).toBe("EmbeddedOwnerNotAnswering")
      expect(error.message).toContain(`belongs to process ${owner}, which does not answer on 127.0.0.1:${port}:`)
      expectOneLine(error.message)
    })
  )

  it.scopedLive("owned by a live process that does not answer", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "ccat-errors-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const files = embeddedFiles(dataDir)
      // The parent process (vitest's) is alive and is not a ccat owner.
      const owner = process.ppid
      const port = yield* unusedPort
      writeFileSync(files.lock, `${owner}\n`)
      writeFileSync(files.serverJson, JSON.stringify({ host: "127.0.0.1", port, pid: owner, startedAt: new Date().toISOString() }))
      const silent = yield* Effect.flip(embeddedServer(dataDir, { answerTimeout: "300 millis" }))
      expect(silent._tag).toBe("EmbeddedOwnerNotAnswering")
      expect(silent.message).toBe(
        `the embedded database in ${dataDir} belongs to process ${owner}, which does not answer on 127.0.0.1:${port}: if that is a hung ccat, stop it (kill ${owner}); if it is not ccat, delete ${dataDir}/pgdata.lock and ${dataDir}/server.json; then retry`
      )

      // Locked, but the owner never got as far as serving.
      rmSync(files.serverJson)
      const starting = yield* Effect.flip(embeddedServer(dataDir, { startupTimeout: "300 millis" }))
      expect(starting.message).toBe(
        `the embedded database in ${dataDir} belongs to process ${owner}, which has not started serving it: if that is a hung ccat, stop it (kill ${owner}); if it is not ccat, delete ${dataDir}/pgdata.lock and ${dataDir}/server.json; then retry`
      )
    })
  )
})

for (const backend of testBackends) {
  describe(`a schema newer than this ccat on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      const expected = `the database has migration 999 (from_the_future) applied but this ccat knows only up to migration ${latestMigrationId}: upgrade ccat`

      const withFutureMigration = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (999, 'from_the_future')`
          return yield* effect.pipe(Effect.ensuring(Effect.orDie(sql`DELETE FROM effect_sql_migrations WHERE migration_id = 999`)))
        })

      const ownDatabase = Effect.map(PgClient.PgClient, (pg) => ({ url: Option.fromNullable(pg.config.url), dataDir: "/nonexistent" }))

      it.effect("migrating refuses, naming the migration and the fix", () =>
        withFutureMigration(
          Effect.gen(function* () {
            const error = yield* Effect.flip(migrate)
            expect(error._tag).toBe("SchemaNewerThanCcat")
            expect(error.message).toBe(expected)
          })
        )
      )

      it.effect("starting up refuses too, and the status says so", () =>
        withFutureMigration(
          Effect.gen(function* () {
            const config = yield* ownDatabase
            const error = yield* Effect.flip(Effect.scoped(Layer.build(databaseLayer(config))))
            expect(error.message).toBe(expected)
            const status = yield* migrationStatus
            expect(status).toMatchObject({ newerThanCcat: true, pending: [], unknown: [{ id: 999, name: "from_the_future" }] })
          })
        )
      )

      it.effect("`ccat db migrate` prints the one line and exits 1; `ccat db status` reports it", () =>
        withFutureMigration(
          Effect.gen(function* () {
            const database = connectionLayer(yield* ownDatabase)
            const migrated = yield* capture(dbMigrate(database))
            expectCommandExit1(migrated.exit)
            expect(migrated.err).toEqual([`error: ${expected}`])

            const status = yield* capture(dbStatus({ json: false }, database))
            expect(Exit.isSuccess(status.exit)).toBe(true)
            expect(status.out.at(-1)).toBe(
              `schema: newer than this ccat (migration 999 from_the_future applied, this ccat knows up to ${latestMigrationId}): upgrade ccat`
            )
          })
        )
      )
    })
  })
}
