import { Effect, Either, Redacted } from "effect"
import { existsSync, mkdirSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { databaseJson, databaseLine, DatabaseInUse, type DatabaseDescription, parseServerUrl } from "../src/db/database.ts"
import { runProcess } from "./support/run-process.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// Which database a command uses is never a surprise: one that needs the ops-db and finds neither
// CCAT_DATABASE_URL nor a .ccat/ in its folder or above stops and says how to get one, having
// created nothing; only the creating commands make the embedded database.

const scratch = scratchDirs("ccat-which-db")

const ccat = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runProcess(process.execPath, [join(repoRoot, "bin", "ccat.js"), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", CCAT_DATABASE_URL: "", CCAT_DATA_DIR: "", ...env },
    timeoutMs: 120_000
  })

const howToGetOne = "Use a PostgreSQL server (export CCAT_DATABASE_URL=postgres://…) or create the embedded one"

describe("which database", () => {
  it("without CCAT_DATABASE_URL or a .ccat/ here or above, a command that needs the database exits 1 saying how to get one, and creates nothing", async () => {
    const folder = scratch("empty")
    const commands = [["status"], ["runs"], ["plan", join(repoRoot, "pipelines")], ["db", "status"]]
    const results = await Promise.all(commands.map((args) => ccat(folder, args)))
    for (const [i, r] of results.entries()) {
      expect({ command: commands[i], status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
        command: commands[i],
        status: 1,
        stdout: "",
        stderr: `error: no operations database here: CCAT_DATABASE_URL is not set and there is no .ccat/ in ${folder} or any folder above it. ${howToGetOne} here (ccat db migrate, or ccat demo for the demo data).\n`
      })
    }
    // A folder CCAT_DATA_DIR names is used as is: not searched for, not made.
    const named = join(folder, "data")
    const r = await ccat(folder, ["runs"], { CCAT_DATA_DIR: named })
    expect([r.status, r.stderr]).toEqual([
      1,
      `error: no operations database here: CCAT_DATABASE_URL is not set and CCAT_DATA_DIR (${named}) holds no embedded database. ${howToGetOne} there (ccat db migrate, or ccat demo for the demo data).\n`
    ])
    expect(readdirSync(folder)).toEqual([])
  })

  it("`ccat db migrate` makes .ccat/ in the working folder, and a command in a folder below uses it", async () => {
    const folder = scratch("project")
    const migrated = await ccat(folder, ["db", "migrate"])
    expect(migrated.stderr).toBe("")
    expect(migrated.status).toBe(0)
    expect(existsSync(join(folder, ".ccat", "pgdata"))).toBe(true)

    const below = join(folder, "pipelines", "chai")
    mkdirSync(below, { recursive: true })
    const status = await ccat(below, ["db", "status"])
    expect(status.status).toBe(0)
    expect(status.stdout.split("\n")[0]).toMatch(new RegExp(`^database: embedded at ${folder}/\\.ccat \\(served on `))
    expect(status.stdout).toContain("pending migrations: none")
    expect((await ccat(below, ["runs"])).status).toBe(0)
    expect(readdirSync(below)).toEqual([])
  })

  it("names the database in one line: the URL without its password, or the embedded folder", () => {
    const server = Either.getOrThrow(parseServerUrl(Redacted.make("postgres://ccat:s3cret@db.example:5433/ops?sslmode=require")))
    const embedded: DatabaseDescription = {
      _tag: "Embedded",
      dataDir: "/srv/obs/.ccat",
      host: "127.0.0.1",
      port: 5999,
      pid: 42,
      owner: false
    }
    const named = (database: DatabaseDescription) =>
      Effect.runSync(Effect.all([databaseLine, databaseJson]).pipe(Effect.provideService(DatabaseInUse, database)))
    expect(named(server.description)).toEqual([
      "Database: postgres://ccat@db.example:5433/ops?sslmode=require",
      { kind: "server", url: "postgres://ccat@db.example:5433/ops?sslmode=require" }
    ])
    expect(named(embedded)).toEqual(["Database: embedded at /srv/obs/.ccat", { kind: "embedded", dataDir: "/srv/obs/.ccat" }])
  })
})
