import { PGlite } from "@electric-sql/pglite"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { build } from "esbuild"
import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { connectionLayer, DatabaseInUse, type DatabaseDescription } from "../src/db/database.ts"
import { embeddedFiles, embeddedServer, readServerRecord } from "../src/db/embedded-server.ts"

/*
 * The embedded database as several ccat processes meet it: the first one serves the folder,
 * the others (real child processes here) connect to it, a dead owner's files are taken over,
 * and two processes starting at once agree on one owner.
 */

const root = fileURLToPath(new URL("..", import.meta.url))
const scratch = mkdtempSync(join(tmpdir(), "ccat-embedded-"))
// PGlite's first start runs initdb (seconds); every test starts from a copy of one initialised folder.
const template = join(scratch, "template")
let counter = 0
// The child script is bundled, as the CLI is: through tsx, loading Effect's hundreds of modules
// takes seconds per process. It lives under node_modules so that PGlite, kept outside the bundle
// (it finds its .wasm and .data files beside its own module), resolves.
const childBundle = join(root, "node_modules", ".cache", "ccat-tests", `embedded-child-${process.pid}.mjs`)

beforeAll(async () => {
  mkdirSync(template)
  const initialise = async () => {
    const db = await PGlite.create(join(template, "pgdata"))
    await db.close()
  }
  await Promise.all([initialise(), bundleChild()])
  // Generous: initdb is CPU-bound, and CI machines run several test files at once.
}, 180_000)

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true })
  rmSync(childBundle, { force: true })
})

const freshDataDir = (): string => {
  const dir = join(scratch, `data-${++counter}`)
  cpSync(template, dir, { recursive: true })
  return dir
}

const embedded = (dataDir: string) => connectionLayer({ url: Option.none(), dataDir })

/** A pid that certainly belonged to a process that has exited. */
const deadPid = (): number => {
  const pid = spawnSync("true").pid
  if (pid === undefined) throw new Error("could not start `true`")
  return pid
}

/** A loopback port nobody listens on. */
const unusedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

// What a child ccat process does: open the database the app's way (migrating on startup), add
// its pid to a table, report where it is and what it sees, then hold on until told to finish.
const childScript = `
import { Effect } from "effect"
import { SqlClient } from "@effect/sql"
import { DatabaseLive, DatabaseInUse } from "./src/db/database.ts"
const program = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseInUse
  yield* sql\`CREATE TABLE IF NOT EXISTS probe (who integer NOT NULL)\`
  yield* sql\`INSERT INTO probe (who) VALUES (\${process.pid})\`
  const rows = yield* sql\`SELECT who FROM probe ORDER BY who\`
  console.log(JSON.stringify({ pid: process.pid, database, seen: rows.map((r) => r.who) }))
  yield* Effect.promise(() => new Promise((resolve) => process.stdin.once("end", resolve).resume()))
})
await Effect.runPromise(Effect.provide(program, DatabaseLive))
`

const bundleChild = () =>
  build({
    stdin: { contents: childScript, resolveDir: root, sourcefile: "embedded-child.ts", loader: "ts" },
    outfile: childBundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    external: ["@electric-sql/pglite", "@electric-sql/pglite-socket"],
    // Some dependencies still call require(); give the ES module bundle one (as scripts/build.mjs does).
    banner: {
      js: "import { createRequire as __childCreateRequire } from 'node:module'; const require = __childCreateRequire(import.meta.url);"
    }
  })

interface ChildReport {
  readonly pid: number
  readonly database: DatabaseDescription
  readonly seen: ReadonlyArray<number>
}

/** Starts a child ccat process on dataDir; `report` is its first line, `finish` lets it end. */
const startChild = (dataDir: string) => {
  const child = spawn(process.execPath, [childBundle], {
    cwd: root,
    env: { ...process.env, CCAT_DATA_DIR: dataDir, CCAT_DATABASE_URL: "" },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const killer = setTimeout(() => child.kill("SIGKILL"), 50_000)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => (clearTimeout(killer), resolve(code))))
  const report = new Promise<ChildReport>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const newline = stdout.indexOf("\n")
      if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)) as ChildReport)
    })
    void exited.then((code) => reject(new Error(`child exited (${code}) before reporting: ${stderr}`)))
  })
  const finish = async () => {
    child.stdin.end()
    const code = await exited
    return { code, stderr }
  }
  return { report, finish }
}

const probeRows = (dataDir: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ who: number }>`SELECT who FROM probe ORDER BY who`
    return rows.map((r) => r.who)
  }).pipe(Effect.provide(embedded(dataDir)))

describe("embedded database", () => {
  it.live("the first process owns and serves the folder; another process connects through server.json and sees the same data", () =>
    Effect.gen(function* () {
      const dataDir = freshDataDir()
      const files = embeddedFiles(dataDir)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(embedded(dataDir))
          const database = Context.get(context, DatabaseInUse)
          expect(database).toMatchObject({ _tag: "Embedded", dataDir, host: "127.0.0.1", pid: process.pid, owner: true })
          expect(readFileSync(files.lock, "utf8").trim()).toBe(String(process.pid))
          const record = Option.getOrThrow(readServerRecord(dataDir))
          expect(record).toMatchObject({ host: "127.0.0.1", pid: process.pid })
          expect(database._tag === "Embedded" && database.port).toBe(record.port)

          const sql = Context.get(context, SqlClient.SqlClient)
          yield* sql`CREATE TABLE probe (who integer NOT NULL)`
          yield* sql`INSERT INTO probe (who) VALUES (${process.pid})`

          const child = startChild(dataDir)
          const report = yield* Effect.promise(() => child.report)
          expect(report.database).toEqual({
            _tag: "Embedded",
            dataDir,
            host: "127.0.0.1",
            port: record.port,
            pid: process.pid,
            owner: false
          })
          expect(report.seen).toEqual([process.pid, report.pid].sort((a, b) => a - b))
          expect((yield* Effect.promise(child.finish)).code).toBe(0)
          // The guest left; the owner still serves, and sees the guest's row.
          expect(yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM probe`).toEqual([{ n: 2 }])
        })
      )
      // The owner is gone, and its address and lock with it; the data stays.
      expect(existsSync(files.serverJson)).toBe(false)
      expect(existsSync(files.lock)).toBe(false)
      expect(existsSync(files.pgdata)).toBe(true)
    })
  )

  it.scopedLive("a second acquisition in the same process is a guest of the first", () =>
    Effect.gen(function* () {
      const dataDir = freshDataDir()
      const first = yield* embeddedServer(dataDir)
      const second = yield* embeddedServer(dataDir)
      expect(first.owner).toBe(true)
      expect(second).toEqual({ ...first, owner: false })
    })
  )

  it.scopedLive("a stale server.json and lock of a dead owner are taken over", () =>
    Effect.gen(function* () {
      const dataDir = freshDataDir()
      const files = embeddedFiles(dataDir)
      // What the dead owner wrote before it died stays readable.
      yield* Effect.scoped(
        Effect.flatMap(Layer.build(embedded(dataDir)), (context) => {
          const sql = Context.get(context, SqlClient.SqlClient)
          return Effect.zipRight(sql`CREATE TABLE probe (who integer NOT NULL)`, sql`INSERT INTO probe (who) VALUES (42)`)
        })
      )
      const dead = deadPid()
      const port = yield* Effect.promise(unusedPort)
      writeFileSync(files.lock, `${dead}\n`)
      writeFileSync(files.serverJson, JSON.stringify({ host: "127.0.0.1", port, pid: dead, startedAt: new Date(0).toISOString() }))

      const server = yield* embeddedServer(dataDir)
      expect(server).toMatchObject({ owner: true, pid: process.pid })
      expect(server.port).not.toBe(port)
      expect(Option.getOrThrow(readServerRecord(dataDir))).toMatchObject({ pid: process.pid, port: server.port })
      expect(readFileSync(files.lock, "utf8").trim()).toBe(String(process.pid))
      expect(existsSync(files.takeover)).toBe(false)
      expect(yield* probeRows(dataDir)).toEqual([42])
    })
  )

  for (const stale of [false, true]) {
    it.live(`two processes starting at once${stale ? " on a dead owner's folder" : ""}: exactly one owns it, both work`, () =>
      Effect.gen(function* () {
        const dataDir = freshDataDir()
        if (stale) {
          const dead = deadPid()
          writeFileSync(embeddedFiles(dataDir).lock, `${dead}\n`)
          writeFileSync(
            embeddedFiles(dataDir).serverJson,
            JSON.stringify({ host: "127.0.0.1", port: 1, pid: dead, startedAt: new Date(0).toISOString() })
          )
        }
        const children = [startChild(dataDir), startChild(dataDir)]
        const reports = yield* Effect.promise(() => Promise.all(children.map((c) => c.report)))
        const owners = reports.filter((r) => r.database._tag === "Embedded" && r.database.owner)
        expect(owners).toHaveLength(1)
        const owner = owners[0]!
        for (const r of reports) {
          expect(r.database).toMatchObject({ _tag: "Embedded", pid: owner.pid })
          expect(r.seen).toContain(r.pid)
        }
        // This process joins as a third guest while the owner still serves: both rows are there.
        expect(yield* probeRows(dataDir)).toEqual(reports.map((r) => r.pid).sort((a, b) => a - b))

        // Both finish; the owner last, so that the guest never loses its server.
        const guest = reports.findIndex((r) => r !== owner)
        const results = [yield* Effect.promise(children[guest]!.finish), yield* Effect.promise(children[1 - guest]!.finish)]
        expect(
          results.map((r) => r.code),
          results.map((r) => r.stderr).join("\n")
        ).toEqual([0, 0])
        expect(existsSync(embeddedFiles(dataDir).lock)).toBe(false)
      })
    )
  }

  it.scopedLive("a pool of 4 runs concurrent queries and transactions against the embedded server", () =>
    Effect.gen(function* () {
      const server = yield* embeddedServer(freshDataDir())
      const context = yield* Layer.build(PgClient.layer({ url: Redacted.make(server.url), maxConnections: 4 }))
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* sql`CREATE TABLE ledger (n integer NOT NULL, part integer NOT NULL)`

      const echoes = yield* Effect.forEach(
        Array.from({ length: 64 }, (_, i) => i),
        (i) => sql<{ n: number; s: string }>`SELECT ${i}::int AS n, ${`v${i}`}::text AS s`,
        { concurrency: 16 }
      )
      expect(echoes.map((rows) => rows[0])).toEqual(Array.from({ length: 64 }, (_, i) => ({ n: i, s: `v${i}` })))

      // Sixteen transactions of three inserts at once; the odd ones fail after their inserts.
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 16 }, (_, i) => i),
        (i) =>
          sql
            .withTransaction(
              Effect.gen(function* () {
                for (const part of [1, 2, 3]) {
                  yield* sql`INSERT INTO ledger (n, part) VALUES (${i}, ${part})`
                  yield* Effect.yieldNow()
                }
                if (i % 2 === 1) return yield* Effect.fail("rolled back" as const)
              })
            )
            .pipe(Effect.either),
        { concurrency: "unbounded" }
      )
      expect(outcomes.filter((o) => o._tag === "Left")).toHaveLength(8)
      const rows = yield* sql<{ n: number; parts: number }>`SELECT n, count(*)::int AS parts FROM ledger GROUP BY n ORDER BY n`
      expect(rows).toEqual([0, 2, 4, 6, 8, 10, 12, 14].map((n) => ({ n, parts: 3 })))
    })
  )
})
