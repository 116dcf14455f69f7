import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { dbSeedCommand } from "../src/cli/db-seed-command.ts"
import { CommandExit, ExitCode } from "../src/cli/exit-code.ts"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrFilter, IrFilterValue } from "../src/compiler/ir.ts"
import { demoId } from "../src/db/seed/ids.ts"
import { observationTables, packageChecksum, seedDemo, seedMore, type SeedReport } from "../src/db/seed/index.ts"
import { scanName } from "../src/db/seed/schedule.ts"
import { testBackends, testDatabase, type TestBackend } from "./support/databases.ts"
import { packageContexts, type PackageContext } from "./support/package-contexts.ts"

// The demo dataset on both database backends: its shape, its files, idempotence, determinism,
// `--more`, and that every grouping of the example pipelines finds data in it.

// A fresh archive folder per seed; all removed when the file is done (they hold ~25 MB each).
const archives: Array<string> = []
const scratchArchive = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "ccat-seed-archive-"))
  archives.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of archives) rmSync(dir, { recursive: true, force: true })
})
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")
const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))

type Rows = ReadonlyArray<Record<string, unknown>>
type Snapshot = Readonly<Record<string, Rows>>

/**
 * Every observation row as plain JSON, in id order. Left out: the archive root (it differs per
 * test) and the id of the transaction that wrote a package (it differs per database).
 */
const snapshot = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const result: Record<string, Rows> = {}
  for (const table of observationTables) {
    const rows = yield* sql.unsafe<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY id`)
    result[table] = (JSON.parse(JSON.stringify(rows)) as Array<Record<string, unknown>>).map(
      ({ root_path: _, change_xid: _xid, created_xid: _created, ...rest }) => rest
    )
  }
  return result
})

/** Seeds a fresh database of `backend` with an archive of its own, then `--more`: both snapshots. */
const seedFresh = (backend: TestBackend) =>
  Effect.gen(function* () {
    yield* seedDemo({ archiveDir: scratchArchive() })
    const seeded = yield* snapshot
    yield* seedMore({ scans: 12 })
    return { label: backend, seeded, more: yield* snapshot }
  }).pipe(Effect.provide(Layer.merge(testDatabase(backend), NodeContext.layer)))

// ---------------------------------------------------------------------------------------------
// Groupings: the example pipelines' selections, evaluated in plain JS over the seeded rows.
// The real SQL translation belongs to the runtime; this only checks the data gives each one
// something sensible to select.

type Context = PackageContext

const exampleGroupings = () => {
  const sources = walk("pipelines")
    .filter((f) => f.endsWith(".ccat"))
    .map((path) => ({ path, text: readFileSync(path, "utf8") }))
  const ir = compileSources(sources).ir
  expect(ir).toBeDefined()
  return ir!.groupings
}

const literal = (v: IrFilterValue): unknown =>
  v.type === "date" ? Date.parse(`${v.value}T00:00:00Z`) : v.type === "timestamp" ? Date.parse(v.value) : v.value

const actual = (
  ctx: Context,
  f: { readonly table: string; readonly column: string; readonly jsonPath: ReadonlyArray<string> },
  like: unknown
): unknown => {
  let value: unknown = ctx[f.table]?.[f.column] ?? null
  for (const key of f.jsonPath)
    value = value !== null && typeof value === "object" ? ((value as Record<string, unknown>)[key] ?? null) : null
  // Timestamps arrive as ISO strings from row_to_json; compare them as instants.
  return typeof like === "number" && typeof value === "string" && /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : value
}

type Scalar = number | string | boolean

const compare = (operator: "==" | "!=" | "<" | "<=" | ">" | ">=", a: Scalar, b: Scalar): boolean =>
  operator === "=="
    ? a === b
    : operator === "!="
      ? a !== b
      : operator === "<"
        ? a < b
        : operator === "<="
          ? a <= b
          : operator === ">"
            ? a > b
            : a >= b

/** SQL's three-valued logic: `null` where a column or JSON key is missing. */
const evaluate = (f: IrFilter, ctx: Context): boolean | null => {
  switch (f.kind) {
    case "and": {
      const values = f.operands.map((o) => evaluate(o, ctx))
      return values.includes(false) ? false : values.includes(null) ? null : true
    }
    case "or": {
      const values = f.operands.map((o) => evaluate(o, ctx))
      return values.includes(true) ? true : values.includes(null) ? null : false
    }
    case "not": {
      const v = evaluate(f.operand, ctx)
      return v === null ? null : !v
    }
    case "compare": {
      const want = literal(f.value)
      const have = actual(ctx, f, want)
      return have === null ? null : compare(f.operator, have as Scalar, want as Scalar)
    }
    case "in": {
      const wants = f.values.map(literal)
      const have = actual(ctx, f, wants[0])
      if (have === null) return null
      return wants.includes(have) !== f.negated
    }
    case "like": {
      const have = actual(ctx, f, "")
      if (typeof have !== "string") return null
      const pattern = new RegExp(
        `^${f.pattern
          .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          .replace(/%/g, ".*")
          .replace(/_/g, ".")}$`,
        "s"
      )
      return pattern.test(have) !== f.negated
    }
  }
}

// ---------------------------------------------------------------------------------------------

const count = (table: string, report: SeedReport): number => report.counts.find((c) => c.table === table)?.rows ?? -1

const backendSuite = (backend: TestBackend) =>
  describe(`demo seed on ${backend}`, () => {
    const archiveDir = scratchArchive()
    const env = Layer.merge(testDatabase(backend), NodeContext.layer)
    layer(env, { excludeTestServices: true, timeout: 60_000 })((it) => {
      let seeded: Snapshot = {}

      it.effect("seeds a realistic observatory in one call", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const started = performance.now()
          // Two seeds at once: the advisory lock makes one wait, and it then finds the demo there.
          const reports = yield* Effect.all([seedDemo({ archiveDir }), seedDemo({ archiveDir })], { concurrency: 2 })
          expect(reports.map((r) => r.outcome).sort()).toEqual(["already-seeded", "seeded"])
          const report = reports.find((r) => r.outcome === "seeded")!
          console.log(
            `[${backend}] seed: ${Math.round(performance.now() - started)} ms, ${report.filesWritten} files, ${report.bytesWritten} bytes; ${report.counts.map((c) => `${c.table}=${c.rows}`).join(" ")}`
          )
          expect(report.archiveDir).toBe(archiveDir)
          expect(count("executed_obs_unit", report)).toBeGreaterThanOrEqual(200)
          expect(count("executed_obs_unit", report)).toBeLessThanOrEqual(400)
          expect(count("source", report)).toBeGreaterThanOrEqual(12)
          expect(count("source", report)).toBeLessThanOrEqual(16)
          expect(count("raw_data_file", report)).toBe(report.filesWritten)
          const perInstrument = yield* sql<{ readonly name: string; readonly scans: number }>`
            SELECT i.name, count(DISTINCT e.id)::int AS scans FROM executed_obs_unit e
            JOIN raw_data_package p ON p.executed_obs_unit_id = e.id
            JOIN instrument_module m ON m.id = p.instrument_module_id JOIN instrument i ON i.id = m.instrument_id
            GROUP BY i.name ORDER BY i.name`
          expect(perInstrument.map((r) => r.name)).toEqual(["CHAI", "Prime-Cam"])
          expect(perInstrument.find((r) => r.name === "CHAI")!.scans).toBeGreaterThanOrEqual(150)
          expect(perInstrument.find((r) => r.name === "Prime-Cam")!.scans).toBeGreaterThanOrEqual(40)
          const states = yield* sql<{
            readonly state: string
            readonly n: number
          }>`SELECT state, count(*)::int AS n FROM raw_data_package GROUP BY state`
          const byState = Object.fromEntries(states.map((s) => [s.state, s.n]))
          for (const state of ["WAITING", "TRANSFERRING", "FAILED"]) expect(byState[state]).toBeGreaterThan(0)
          expect(byState["ARCHIVED"]).toBeGreaterThan(0.85 * Object.values(byState).reduce((a, b) => a + b, 0))
          const days = yield* sql<{
            readonly day: string
          }>`SELECT DISTINCT to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM executed_obs_unit ORDER BY 1`
          expect(days.length).toBeGreaterThanOrEqual(5)
          expect(days.filter((d) => d.day.startsWith("2026-06")).length).toBeGreaterThanOrEqual(5)
          seeded = yield* snapshot
        })
      )

      it.effect("records every archived file as it is on disk", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const files = yield* sql<{
            readonly root: string
            readonly relativePath: string
            readonly name: string
            readonly size: string
            readonly checksum: string
            readonly packageId: string
          }>`
            SELECT l.root_path AS root, f.relative_path AS "relativePath", f.name, f.size_bytes AS size, f.checksum, f.raw_data_package_id AS "packageId"
            FROM raw_data_file f
            JOIN physical_copy c ON c.raw_data_file_id = f.id AND c.status = 'PRESENT'
            JOIN data_location l ON l.id = c.data_location_id`
          const [all] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM raw_data_file`
          // Every recorded file has its copy in the archive, and there are plenty of them.
          expect(files.length).toBe(all!.n)
          expect(files.length).toBeGreaterThan(500)
          for (const f of files) {
            const bytes = readFileSync(join(f.root, f.relativePath))
            expect(sha256(bytes), f.relativePath).toBe(f.checksum)
            expect(bytes.length).toBe(Number(f.size))
            expect(bytes.length).toBeLessThanOrEqual(50_000)
          }
          const packages = yield* sql<{
            readonly id: string
            readonly state: string
            readonly checksum: string | null
            readonly size: string
            readonly copies: number
          }>`
            SELECT p.id, p.state, p.checksum, p.size_bytes AS size,
                   (SELECT count(*)::int FROM physical_copy c WHERE c.raw_data_package_id = p.id AND c.status = 'PRESENT') AS copies
            FROM raw_data_package p`
          const filesOf = new Map<string, Array<(typeof files)[number]>>()
          for (const f of files) filesOf.set(f.packageId, [...(filesOf.get(f.packageId) ?? []), f])
          for (const p of packages) {
            const own = filesOf.get(p.id) ?? []
            if (p.state === "ARCHIVED") {
              expect(own.length).toBeGreaterThanOrEqual(1)
              expect(own.length).toBeLessThanOrEqual(2)
              expect(p.copies).toBe(1)
              expect(p.checksum).toBe(packageChecksum(own))
              expect(Number(p.size)).toBe(own.reduce((n, f) => n + Number(f.size), 0))
            } else {
              expect(own.length).toBe(0)
              expect(p.copies).toBe(0)
            }
          }
        })
      )

      it.effect("changes nothing when seeded again", () =>
        Effect.gen(function* () {
          const report = yield* seedDemo({ archiveDir: scratchArchive() })
          expect(report.outcome).toBe("already-seeded")
          // The location keeps the folder it was seeded with, whatever the second call was given.
          expect(report.archiveDir).toBe(archiveDir)
          expect(report.bytesWritten).toBe(0)
          expect(yield* snapshot).toEqual(seeded)
        })
      )

      it.effect("gives every grouping in pipelines/ a sensible, non-empty selection", () =>
        Effect.gen(function* () {
          const contexts = yield* packageContexts
          const archived = contexts.filter((c) => c["RawDataPackage"]?.["state"] === "ARCHIVED").length
          const selected: Record<string, number> = {}
          for (const g of exampleGroupings())
            selected[g.name] = contexts.filter((c) => g.selection === null || evaluate(g.selection, c) === true).length
          for (const [name, n] of Object.entries(selected)) {
            expect(n, name).toBeGreaterThan(0)
            // Each grouping narrows: none selects every package, and none selects a non-archived one.
            expect(n, name).toBeLessThan(archived)
          }
          expect(Object.keys(selected)).toEqual(
            expect.arrayContaining(["chai_archived", "chai_orion_lfa_commissioning", "ngc253_co43_june", "primecam_archived"])
          )
          // The narrower CHAI selections lie within the broad one and are not all of it.
          expect(selected["ngc253_co43_june"]).toBeLessThan(selected["chai_archived"]!)
          expect(selected["chai_orion_lfa_commissioning"]).toBeLessThan(selected["chai_archived"]!)
          console.log(`[${backend}] groupings: ${JSON.stringify(selected)}`)
        })
      )

      it.effect("refuses without --demo", () =>
        Effect.gen(function* () {
          const run = Command.run(dbSeedCommand, { name: "ccat db seed", version: "test" })
          const error = yield* Effect.flip(run(["node", "ccat"]))
          expect(error instanceof CommandExit ? error.code : error).toBe(ExitCode.usage)
        })
      )

      it.effect("leaves neither rows nor new files when its transaction fails", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const before = yield* snapshot
          const [last] = yield* sql<{
            readonly day: string
          }>`SELECT to_char(max(start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM executed_obs_unit`
          const nextDay = new Date(Date.parse(`${last!.day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
          // A scan row in the way of the new night's first scan (dated early, so the night stays
          // the same): `--more` fails on it after it has written the night's files.
          const blocker = demoId(scanName(nextDay, 1))
          const unit = before["obs_unit"]![0]!["id"]
          yield* sql`INSERT INTO executed_obs_unit (id, obs_unit_id, start_time) VALUES (${blocker}, ${unit}, '2026-01-01T00:00:00Z')`
          const result = yield* Effect.either(seedMore({ scans: 12 }))
          yield* sql`DELETE FROM executed_obs_unit WHERE id = ${blocker}`
          expect(result._tag).toBe("Left")
          expect(yield* snapshot).toEqual(before)
          const nightFolder = join(archiveDir, "chai", nextDay)
          expect(existsSync(nightFolder) ? walk(nightFolder) : []).toEqual([])
        })
      )

      it.effect("--more adds exactly one new night and leaves every existing row alone", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const before = yield* snapshot
          const [last] = yield* sql<{
            readonly day: string
          }>`SELECT to_char(max(start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM executed_obs_unit`
          const report = yield* seedMore({ scans: 12 })
          expect(report.outcome).toBe("added-night")
          const expectedDay = new Date(Date.parse(`${last!.day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
          expect(report.nights).toEqual([expectedDay])
          expect(report.scansAdded).toBe(12)
          const after = yield* snapshot
          for (const table of observationTables) {
            const keep = new Map(before[table]!.map((r) => [String(r["id"]), r]))
            const still = after[table]!.filter((r) => keep.has(String(r["id"])))
            expect(still, table).toEqual(before[table])
          }
          const newScans = after["executed_obs_unit"]!.filter((r) => !before["executed_obs_unit"]!.some((b) => b["id"] === r["id"]))
          expect(newScans.length).toBe(12)
          for (const s of newScans) expect(String(s["start_time"]).slice(0, 10)).toBe(expectedDay)
          const fresh = yield* sql<{
            readonly state: string
            readonly module: string
            readonly root: string
            readonly relativePath: string | null
            readonly checksum: string | null
          }>`
            SELECT p.state, m.name AS module, l.root_path AS root, f.relative_path AS "relativePath", f.checksum
            FROM raw_data_package p JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id
            JOIN instrument_module m ON m.id = p.instrument_module_id
            CROSS JOIN data_location l LEFT JOIN raw_data_file f ON f.raw_data_package_id = p.id
            WHERE to_char(e.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') = ${expectedDay}`
          expect(fresh.length).toBeGreaterThan(12)
          for (const f of fresh) {
            expect(f.state).toBe("ARCHIVED")
            expect(["LFA", "HFA"]).toContain(f.module)
            expect(sha256(readFileSync(join(f.root, f.relativePath!)))).toBe(f.checksum)
          }
        })
      )
    })
  })

for (const backend of testBackends) backendSuite(backend)

describe("determinism", () => {
  // Fresh databases of its own (a second of the same kind when only one is configured), so that
  // this test stands alone.
  it.effect(
    "gives identical rows, ids and checksums in every fresh database",
    () =>
      Effect.gen(function* () {
        const targets = testBackends.length === 1 ? [testBackends[0]!, testBackends[0]!] : testBackends
        const [first, ...rest] = yield* Effect.forEach(targets, seedFresh)
        expect(rest.length).toBeGreaterThanOrEqual(1)
        for (const other of rest) {
          expect(other.seeded, `${other.label} vs ${first!.label}`).toEqual(first!.seeded)
          expect(other.more, `${other.label} vs ${first!.label} after --more`).toEqual(first!.more)
        }
      }),
    240_000
  )
})

it("leaves no temporary files in an archive", () => {
  for (const dir of archives) expect(walk(dir).filter((f) => f.includes(".tmp-"))).toEqual([])
})
