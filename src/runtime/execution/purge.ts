import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Effect, Either } from "effect"
import { statfsSync } from "node:fs"
import { rm } from "node:fs/promises"
import { purgeLockExclusive } from "../gaps/purge-lock.ts"
import { confinedPath } from "./confined-path.ts"
import type { ExecutionConfig } from "./execution-config.ts"
import { inFlightStatuses } from "./run-status.ts"
import { baseDirFor } from "./submit-loop.ts"

/*
 * Purging intermediates under disk pressure (docs/design/runtime.md §5.3). When the file system of a
 * location's base folder is fuller than its `purge_above` (use as df reports it), intermediate
 * products are deleted, oldest first, until it is below again, but only those that every
 * downstream consumer has used in a COMPLETED run and that no pending or in-flight run still
 * needs. Purging marks the product's physical copy DELETED; the product's record, its lineage,
 * final products and raw data are never touched.
 *
 * Purging never breaks later work. A copy is marked under the purge lock in exclusive mode,
 * with the conditions above checked again under it; every trigger step evaluation holds that
 * lock shared (src/runtime/gaps/purge-lock.ts). So a run that is being created is either seen
 * here (and its inputs are kept) or sees the mark (and does not read the product: the trigger
 * holds its sub-group, WAITING_UPSTREAM, and has the upstream run rebuilt, INPUT_PURGED). The
 * files are removed after that transaction commits. In between, the copy is
 * DELETION_IN_PROGRESS: a purge that dies there is finished by the next cycle, so no file
 * outlives its DELETED mark.
 *
 * Only the product's own file is removed. What downstream runs staged from it are copies in
 * their attempt folders (stage-run.ts), which staging owns: removing the original frees its
 * space whatever became of them.
 *
 * Purging never deletes outside the location's folder: a copy whose recorded path would leave
 * it (`..`, absolute, a NUL byte: confined-path.ts) is not deleted, nor marked, but reported,
 * every cycle, until a person corrects it.
 */

export interface DiskUsage {
  /** Percent of the file system in use at `path`, as df reports it (Use%). */
  readonly percentUsed: (path: string) => number
}

/**
 * df's Use%: used / (used + available), used = blocks − free, rounded up to a whole percent.
 * The blocks reserved for root count neither as used nor as available (df's own formula: for
 * the programs that fill the disk, the reserve is not there).
 */
export const dfPercent = (s: { readonly blocks: number; readonly bfree: number; readonly bavail: number }): number => {
  const used = s.blocks - s.bfree
  const total = used + s.bavail
  return total <= 0 ? 0 : Math.ceil((100 * used) / total)
}

export const realDiskUsage: DiskUsage = {
  percentUsed: (path) => dfPercent(statfsSync(path))
}

interface Candidate {
  readonly copy_id: string
  readonly path: string
  readonly root_path: string
  readonly size_bytes: string
}

export interface PurgeResult {
  readonly locations: number
  readonly purged: number
  readonly bytes: number
  /** Copies not deleted because their path would leave the location's folder. */
  readonly refused: number
}

/**
 * Whether the product `p` (made by run `r`) may be purged: an intermediate that no unfinished
 * run reads, and that every step downstream of its step has used in a COMPLETED run.
 */
const purgeable = (sql: SqlClient.SqlClient) => sql`
  p.product_type = 'INTERMEDIATE'
  AND NOT EXISTS (
    SELECT 1 FROM run_input i JOIN executed_reduction_step u ON u.id = i.run_id
    WHERE i.data_product_id = p.id AND u.status IN ${sql.in(inFlightStatuses)})
  AND NOT EXISTS (
    SELECT 1 FROM reduction_step_upstream d JOIN reduction_step ds ON ds.id = d.step_id AND ds.retired_generation IS NULL
    WHERE d.upstream_step_id = r.step_id AND NOT EXISTS (
      SELECT 1 FROM run_input i JOIN executed_reduction_step u ON u.id = i.run_id
      WHERE i.data_product_id = p.id AND u.step_id = d.step_id AND u.status = 'COMPLETED'))`

const candidateColumns = (sql: SqlClient.SqlClient) => sql`c.id AS copy_id, c.path, l.root_path, p.size_bytes`

/** The copy's file, when its path stays in its location's folder; else null, and the refusal is logged. */
const fileOf = (c: Candidate, location: string) =>
  Either.match(confinedPath(c.root_path, c.path, `the path of physical copy ${c.copy_id}`), {
    onRight: (file) => Effect.succeed<string | null>(file),
    onLeft: (escape) =>
      Effect.logWarning(`purge: ${location}: not deleting: ${escape.message}; correct the copy's path in the database`).pipe(
        Effect.as<string | null>(null)
      )
  })

/** Remove a marked copy's file, then mark the copy DELETED. */
const removeFiles = (c: Candidate, file: string, now: Date) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* Effect.promise(() => rm(file, { force: true }))
    yield* sql`UPDATE physical_copy SET status = 'DELETED', updated_at = ${now} WHERE id = ${c.copy_id} AND status = 'DELETION_IN_PROGRESS'`
  })

/**
 * Mark one candidate's copy for deletion, if it may still be purged: under the purge lock, in
 * its own transaction, so that trigger step evaluations see either the mark or none, and this
 * sees every run they created.
 */
const mark = (c: Candidate, now: Date) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* purgeLockExclusive
        const marked = yield* sql`
          UPDATE physical_copy c SET status = 'DELETION_IN_PROGRESS', updated_at = ${now}
          FROM data_product p, executed_reduction_step r
          WHERE c.id = ${c.copy_id} AND c.status = 'PRESENT' AND p.id = c.data_product_id AND r.id = p.run_id
            AND ${purgeable(sql)}
          RETURNING c.id`
        return marked.length > 0
      })
    )
  })

/** One purge cycle over the locations that declare `purge_above`. */
export const purgeCycle = (
  config: ExecutionConfig,
  disk: DiskUsage = realDiskUsage
): Effect.Effect<PurgeResult, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const now = new Date(yield* Clock.currentTimeMillis)
    const locations = yield* sql<{
      name: string
      definition: {
        baseDir: string | null
        purgeAbovePercent: number | null
        name: string
        site: string | null
        containerRuntime: "apptainer" | "none"
        backend: { kind: string; options: Record<string, string | number> }
      }
    }>`
      SELECT name, definition FROM location WHERE retired_generation IS NULL ORDER BY name`
    const result = { locations: 0, purged: 0, bytes: 0, refused: 0 }
    for (const location of locations) {
      const threshold = location.definition.purgeAbovePercent
      if (threshold === null || (config.location !== null && config.location !== location.name)) continue
      const dataLocation = `processing:${location.name}`
      // A purge that died between marking and removing: finish it.
      const unfinished = yield* sql<Candidate>`
        SELECT ${candidateColumns(sql)}
        FROM physical_copy c
        JOIN data_location l ON l.id = c.data_location_id AND l.name = ${dataLocation}
        JOIN data_product p ON p.id = c.data_product_id
        WHERE c.status = 'DELETION_IN_PROGRESS'`
      for (const c of unfinished) {
        const file = yield* fileOf(c, dataLocation)
        if (file === null) result.refused++
        else yield* removeFiles(c, file, now)
      }
      const baseDir = baseDirFor(config, location.definition)
      let used: number
      try {
        used = disk.percentUsed(baseDir)
      } catch {
        continue // the base folder does not exist yet: nothing to purge
      }
      if (used <= threshold) continue
      result.locations++
      // Oldest first. The conditions are checked again when each copy is marked (`mark`): runs
      // created meanwhile count.
      const candidates = yield* sql<Candidate>`
        SELECT ${candidateColumns(sql)}
        FROM data_product p
        JOIN physical_copy c ON c.data_product_id = p.id AND c.status = 'PRESENT'
        JOIN data_location l ON l.id = c.data_location_id AND l.name = ${dataLocation}
        JOIN executed_reduction_step r ON r.id = p.run_id
        WHERE ${purgeable(sql)}
        ORDER BY p.created_at, p.id
        LIMIT 500`
      let purged = 0
      let bytes = 0
      for (const c of candidates) {
        if (disk.percentUsed(baseDir) <= threshold) break
        // Checked before the mark: a refused copy stays PRESENT, its product readable as before.
        const file = yield* fileOf(c, dataLocation)
        if (file === null) {
          result.refused++
          continue
        }
        if (!(yield* mark(c, now))) continue
        yield* removeFiles(c, file, now)
        purged++
        bytes += Number(c.size_bytes)
      }
      result.purged += purged
      result.bytes += bytes
      if (purged > 0) {
        yield* Effect.logInfo(
          `purge: ${location.name} was ${used}% full as df reports it (limit ${threshold}%): deleted ${purged} intermediate files, ${bytes} bytes`
        )
      }
    }
    return result
  })
