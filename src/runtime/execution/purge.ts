import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Effect } from "effect"
import { statfsSync } from "node:fs"
import { rm } from "node:fs/promises"
import { join } from "node:path"
import type { ExecutionConfig } from "./execution-config.ts"
import { stagedProductPath } from "./stage-run.ts"
import { baseDirFor } from "./submit-loop.ts"

/*
 * Purging intermediates under disk pressure (runtime.md §5). When the file system of a
 * location's base folder is fuller than its `purge_above`, intermediate products are deleted,
 * oldest first, until it is below again, but only those that every downstream consumer has
 * used in a COMPLETED run and that no pending or in-flight run still needs. Purging marks the
 * product's physical copy DELETED; the product's record, its lineage, final products and raw
 * data are never touched.
 */

export interface DiskUsage {
  /** Percent of the file system in use at `path`. */
  readonly percentUsed: (path: string) => number
}

export const realDiskUsage: DiskUsage = {
  percentUsed: (path) => {
    const s = statfsSync(path)
    return s.blocks === 0 ? 0 : (100 * (s.blocks - s.bavail)) / s.blocks
  }
}

interface Candidate {
  readonly copy_id: string
  readonly product_id: string
  readonly path: string
  readonly root_path: string
  readonly size_bytes: string
  readonly relative_path: string
  readonly step: string
  readonly sub_group_key: string
  /** Run folders of the runs that read it: their staged hard links go too, or no space is freed. */
  readonly consumers: ReadonlyArray<string> | null
}

export interface PurgeResult {
  readonly locations: number
  readonly purged: number
  readonly bytes: number
}

/** One purge cycle over the locations that declare `purge_above`. */
export const purgeCycle = (config: ExecutionConfig, disk: DiskUsage = realDiskUsage): Effect.Effect<PurgeResult, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const now = new Date(yield* Clock.currentTimeMillis)
    const locations = yield* sql<{ name: string; definition: { baseDir: string | null; purgeAbovePercent: number | null; name: string; site: string | null; containerRuntime: "apptainer" | "none"; backend: { kind: string; options: Record<string, string | number> } } }>`
      SELECT name, definition FROM location WHERE retired_generation IS NULL ORDER BY name`
    const result = { locations: 0, purged: 0, bytes: 0 }
    for (const location of locations) {
      const threshold = location.definition.purgeAbovePercent
      if (threshold === null || (config.location !== null && config.location !== location.name)) continue
      const baseDir = baseDirFor(config, location.definition)
      let used: number
      try {
        used = disk.percentUsed(baseDir)
      } catch {
        continue // the base folder does not exist yet: nothing to purge
      }
      if (used <= threshold) continue
      result.locations++
      // Oldest first; a product is purgeable when no run that read it, or still has to, is unfinished,
      // and every step downstream of its step has a COMPLETED run that used it.
      const candidates = yield* sql<Candidate>`
        SELECT c.id AS copy_id, p.id AS product_id, c.path, l.root_path, p.size_bytes, p.relative_path, s.name AS step, r.sub_group_key,
          (SELECT array_agg(DISTINCT u.run_dir) FROM run_input i JOIN executed_reduction_step u ON u.id = i.run_id
            WHERE i.data_product_id = p.id AND u.run_dir IS NOT NULL) AS consumers
        FROM data_product p
        JOIN physical_copy c ON c.data_product_id = p.id AND c.status = 'PRESENT'
        JOIN data_location l ON l.id = c.data_location_id AND l.name = ${`processing:${location.name}`}
        JOIN executed_reduction_step r ON r.id = p.run_id
        JOIN reduction_step s ON s.id = r.step_id
        WHERE p.product_type = 'INTERMEDIATE'
          AND NOT EXISTS (
            SELECT 1 FROM run_input i JOIN executed_reduction_step u ON u.id = i.run_id
            WHERE i.data_product_id = p.id AND u.status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS'))
          AND NOT EXISTS (
            SELECT 1 FROM reduction_step_upstream d JOIN reduction_step ds ON ds.id = d.step_id AND ds.retired_generation IS NULL
            WHERE d.upstream_step_id = r.step_id AND NOT EXISTS (
              SELECT 1 FROM run_input i JOIN executed_reduction_step u ON u.id = i.run_id
              WHERE i.data_product_id = p.id AND u.step_id = d.step_id AND u.status = 'COMPLETED'))
        ORDER BY p.created_at, p.id
        LIMIT 500`
      for (const c of candidates) {
        if (disk.percentUsed(baseDir) <= threshold) break
        yield* Effect.promise(async () => {
          await rm(join(c.root_path, c.path), { force: true })
          for (const runDir of c.consumers ?? []) await rm(stagedProductPath(join(runDir, "workspace"), c.step, c.sub_group_key, c.relative_path), { force: true })
        })
        yield* sql`UPDATE physical_copy SET status = 'DELETED', updated_at = ${now} WHERE id = ${c.copy_id}`
        result.purged++
        result.bytes += Number(c.size_bytes)
      }
      if (result.purged > 0) {
        yield* Effect.logInfo(`purge: ${location.name} was ${used.toFixed(1)}% full (limit ${threshold}%): deleted ${result.purged} intermediate files, ${result.bytes} bytes`)
      }
    }
    return result
  })
