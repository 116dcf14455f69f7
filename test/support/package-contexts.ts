import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** One package with the rows it joins to, keyed by the schema registry's table names (`null` where a join finds nothing). */
export type PackageContext = Readonly<Record<string, Readonly<Record<string, unknown>> | null>>

/**
 * Every raw data package with the observation rows above it, as plain JSON: what a test's own
 * in-memory evaluation of a selection reads, independent of the runtime's SQL translation.
 */
export const packageContexts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<PackageContext>`
    SELECT row_to_json(p) AS "RawDataPackage", row_to_json(e) AS "ExecutedObsUnit", row_to_json(u) AS "ObsUnit",
           row_to_json(s) AS "Source", row_to_json(g) AS "ObservingProgram", row_to_json(m) AS "InstrumentModule",
           row_to_json(i) AS "Instrument", row_to_json(t) AS "Telescope", row_to_json(o) AS "Observatory"
    FROM raw_data_package p
    JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id
    JOIN obs_unit u ON u.id = e.obs_unit_id
    JOIN source s ON s.id = u.source_id
    JOIN observing_program g ON g.id = u.observing_program_id
    JOIN instrument_module m ON m.id = p.instrument_module_id
    JOIN instrument i ON i.id = m.instrument_id
    JOIN telescope t ON t.id = i.telescope_id
    JOIN observatory o ON o.id = t.observatory_id`
})
