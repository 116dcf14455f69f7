import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { resolve } from "node:path"
import { removeArchiveFiles, writeArchiveFiles } from "./archive.ts"
import { renderChaiFiles } from "./chai-data.ts"
import { DatabaseNotEmpty, DemoNotSeeded, InvalidSeedOption } from "./errors.ts"
import { packageChecksum, sha256Hex } from "./ids.ts"
import { demoNights, moreNight, nextDate } from "./nights.ts"
import { renderPrimecamFiles } from "./primecam-data.ts"
import { catalogRows, copyRows, fileRows, ids, packageFolder, packageRow, scanRow, type Row, type WrittenFile } from "./rows.ts"
import { planNight, type NightSpec, type PlannedPackage } from "./schedule.ts"

/*
 * `ccat db seed --demo`: the synthetic observatory the demo and the later runtime tests work
 * on. One transaction per call, under an advisory lock so that two seeds of one database run
 * one after the other; the second finds the demo there and changes nothing.
 */

export interface SeedDemoOptions {
  /** The folder behind the `cologne_archive` data location (stored as an absolute path). */
  readonly archiveDir: string
}

export interface SeedMoreOptions {
  /** CHAI scans in the new night, 1 to 40 (more would not fit in one day). */
  readonly scans?: number
}

export interface TableCount {
  readonly table: string
  readonly rows: number
}

export interface SeedReport {
  readonly outcome: "seeded" | "already-seeded" | "added-night"
  readonly archiveDir: string
  /** UTC dates of the nights this call added. */
  readonly nights: ReadonlyArray<string>
  readonly scansAdded: number
  readonly filesWritten: number
  readonly bytesWritten: number
  /** Rows per observation table after the call. */
  readonly counts: ReadonlyArray<TableCount>
}

export const observationTables = [
  "observatory",
  "telescope",
  "instrument",
  "instrument_module",
  "observing_program",
  "source",
  "obs_unit",
  "executed_obs_unit",
  "raw_data_package",
  "raw_data_file",
  "data_location",
  "physical_copy"
] as const

export const defaultMoreScans = 12

// Any fixed number works; it only has to be the same in every ccat process that seeds.
const seedLockKey = 4_711_000_003

// Keeps each INSERT well below PostgreSQL's 65535 bind parameters.
const insertChunk = 500

const insertRows = (table: string, rows: ReadonlyArray<Row>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (let i = 0; i < rows.length; i += insertChunk) yield* sql`INSERT INTO ${sql(table)} ${sql.insert(rows.slice(i, i + insertChunk))}`
  })

const renderFiles = (p: PlannedPackage) =>
  p.model.kind === "chai" ? renderChaiFiles(p.context, p.model) : renderPrimecamFiles(p.context, p.model)

// Enough to keep the disk busy while the next package's data is generated.
const writeConcurrency = 8

/** Plans the nights, writes the archived packages' files and inserts every row of them. */
const writeNights = (nights: ReadonlyArray<NightSpec>, root: string, created: Array<string>) =>
  Effect.gen(function* () {
    const scans = nights.flatMap(planNight)
    const packages = scans.flatMap((scan) => scan.packages.map((p) => ({ scan, p })))
    const written = yield* Effect.forEach(
      packages,
      ({ scan, p }) =>
        Effect.gen(function* () {
          // Not in the archive (yet): no files here, so nothing to size or checksum.
          if (p.state !== "ARCHIVED") return []
          const folder = packageFolder(scan, p)
          const files = renderFiles(p)
          created.push(...(yield* writeArchiveFiles(root, folder, files)))
          return files.map(
            (f): WrittenFile => ({
              name: f.name,
              relativePath: `${folder}/${f.name}`,
              sizeBytes: f.bytes.length,
              checksum: sha256Hex(f.bytes)
            })
          )
        }),
      { concurrency: writeConcurrency }
    )
    yield* insertRows("executed_obs_unit", scans.map(scanRow))
    yield* insertRows(
      "raw_data_package",
      packages.map(({ scan, p }, i) => packageRow(scan, p, written[i]!, p.state === "ARCHIVED" ? packageChecksum(written[i]!) : null))
    )
    yield* insertRows(
      "raw_data_file",
      packages.flatMap(({ p }, i) => fileRows(p, written[i]!))
    )
    yield* insertRows(
      "physical_copy",
      packages.flatMap(({ scan, p }, i) => (p.state === "ARCHIVED" ? copyRows(scan, p, written[i]!) : []))
    )
    const files = written.flat()
    return { scans: scans.length, files: files.length, bytes: files.reduce((n, f) => n + f.sizeBytes, 0) }
  })

export const tableCounts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const counts: Array<TableCount> = []
  for (const table of observationTables) {
    const [row] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`
    counts.push({ table, rows: row?.n ?? 0 })
  }
  return counts
})

/** Whether the demo is there; fails when the database holds other observation data. */
const demoPresent = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const observatories = yield* sql<{ readonly id: string }>`SELECT id FROM observatory`
  if (observatories.some((r) => r.id === ids.observatory)) return true
  for (const table of ["observatory", "data_location", "raw_data_package"]) {
    const [row] = yield* sql<{ readonly found: boolean }>`SELECT EXISTS (SELECT 1 FROM ${sql(table)}) AS found`
    if (row?.found === true) return yield* new DatabaseNotEmpty({ table })
  }
  return false
})

/** The demo archive's folder, as recorded; the demo is incomplete without its location. */
const archiveRoot = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly rootPath: string }>`SELECT root_path AS "rootPath" FROM data_location WHERE id = ${ids.archive}`
  return row === undefined ? yield* new DemoNotSeeded() : row.rootPath
})

/**
 * Runs `body` in one transaction under the seed lock. `created` collects the absolute paths of
 * the archive files the call newly wrote (a plain array: it lives only for this call); if the
 * transaction fails, they are removed again, so a failed seed leaves neither rows nor new files.
 */
const inSeedTransaction = <A, E, R>(body: (created: Array<string>) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const created: Array<string> = []
    return yield* sql
      .withTransaction(
        Effect.zipRight(
          sql`SELECT pg_advisory_xact_lock(${seedLockKey})`,
          Effect.suspend(() => body(created))
        )
      )
      .pipe(Effect.onError(() => removeArchiveFiles(created)))
  })

/** Seeds the demo observatory into an empty database; a second call reports "already seeded". */
export const seedDemo = (options: SeedDemoOptions) =>
  inSeedTransaction((created) =>
    Effect.gen(function* () {
      if (yield* demoPresent) {
        return {
          outcome: "already-seeded",
          archiveDir: yield* archiveRoot,
          nights: [],
          scansAdded: 0,
          filesWritten: 0,
          bytesWritten: 0,
          counts: yield* tableCounts
        } satisfies SeedReport
      }
      const root = resolve(options.archiveDir)
      for (const [table, rows] of catalogRows(root)) yield* insertRows(table, rows)
      const written = yield* writeNights(demoNights, root, created)
      return {
        outcome: "seeded",
        archiveDir: root,
        nights: demoNights.map((n) => n.date),
        scansAdded: written.scans,
        filesWritten: written.files,
        bytesWritten: written.bytes,
        counts: yield* tableCounts
      } satisfies SeedReport
    })
  )

/**
 * Adds one night of CHAI scans on the UTC date after the last scan, all archived: a standing
 * pipeline then has exactly that night as its new gap. The same call on the same database
 * state adds the same rows.
 */
export const seedMore = (options: SeedMoreOptions = {}) =>
  Effect.gen(function* () {
    const scans = options.scans ?? defaultMoreScans
    if (!Number.isInteger(scans) || scans < 1 || scans > 40)
      return yield* new InvalidSeedOption({ reason: `--more adds 1 to 40 scans, not ${scans}` })
    return yield* inSeedTransaction((created) =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        if (!(yield* demoPresent)) return yield* new DemoNotSeeded()
        const root = yield* archiveRoot
        const [last] = yield* sql<{
          readonly day: string | null
        }>`SELECT to_char(max(start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM executed_obs_unit`
        const date = nextDate(last?.day ?? demoNights[demoNights.length - 1]!.date)
        // The files go where the location says, wherever the environment points today.
        const written = yield* writeNights([moreNight(date, scans)], root, created)
        return {
          outcome: "added-night",
          archiveDir: root,
          nights: [date],
          scansAdded: written.scans,
          filesWritten: written.files,
          bytesWritten: written.bytes,
          counts: yield* tableCounts
        } satisfies SeedReport
      })
    )
  })
