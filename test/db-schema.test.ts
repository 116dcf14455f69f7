import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { testBackends, testDatabase } from "./support/databases.ts"

// The schema as a user of the database meets it, on both the real server and the embedded one.
for (const backend of testBackends) {
  describe(`schema on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true })((it) => {
      it.effect("has every table of the observation and pipeline sides", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ tableName: string }>`SELECT table_name AS "tableName" FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`
          const names = rows.map((r) => r.tableName)
          for (const t of ["raw_data_package", "executed_obs_unit", "physical_copy", "pipeline", "reduction_step", "executed_reduction_step", "data_product", "run_event", "definitions_generation", "trigger_request"]) {
            expect(names).toContain(t)
          }
        })
      )

      it.effect("refuses an enum value that domain.md does not spell", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const result = yield* sql`INSERT INTO source (id, name, kind) VALUES (gen_random_uuid(), 'Jupiter', 'PLANET')`.pipe(Effect.either)
          expect(result._tag).toBe("Left")
        })
      )
    })
  })
}
