import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * The executed scans of a source that have archived CHAI packages: what the tests' groupings of
 * CHAI data select, in the gaps fixture and in the demo observatory alike.
 */

/** The scans of a source, sorted by id. */
export const scansOf = (source: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ scan: string }>`
      SELECT DISTINCT e.id::text AS scan FROM raw_data_package p
      JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id JOIN obs_unit ou ON ou.id = e.obs_unit_id
      JOIN source s ON s.id = ou.source_id JOIN instrument_module im ON im.id = p.instrument_module_id
      JOIN instrument i ON i.id = im.instrument_id
      WHERE i.name = 'CHAI' AND p.state = 'ARCHIVED' AND s.name = ${source} ORDER BY 1`
    return rows.map((r) => r.scan)
  })

/** The source's first or last scan by start time. */
export const scanByStart = (source: string, which: "first" | "last") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ scan: string }>`
      SELECT e.id::text AS scan FROM executed_obs_unit e
      JOIN obs_unit o ON o.id = e.obs_unit_id JOIN source s ON s.id = o.source_id
      JOIN raw_data_package p ON p.executed_obs_unit_id = e.id
      JOIN instrument_module m ON m.id = p.instrument_module_id JOIN instrument i ON i.id = m.instrument_id
      WHERE s.name = ${source} AND i.name = 'CHAI' AND p.state = 'ARCHIVED'
      ORDER BY e.start_time ${sql.literal(which === "first" ? "ASC" : "DESC")} LIMIT 1`
    return row!.scan
  })
