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
          const rows = yield* sql<{
            tableName: string
          }>`SELECT table_name AS "tableName" FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`
          const names = rows.map((r) => r.tableName)
          for (const t of [
            "raw_data_package",
            "executed_obs_unit",
            "physical_copy",
            "pipeline",
            "reduction_step",
            "executed_reduction_step",
            "data_product",
            "run_event",
            "definitions_generation",
            "trigger_request"
          ]) {
            expect(names).toContain(t)
          }
        })
      )

      it.effect("refuses an enum value the schema does not spell (docs/design/domain.md §2), by its CHECK constraint", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const error = yield* Effect.flip(sql`INSERT INTO source (id, name, kind) VALUES (gen_random_uuid(), 'Jupiter', 'PLANET')`)
          // 23514 check_violation on the kind's constraint: not any error (a typo in the test's SQL would be 42xxx).
          const cause = error.cause as { readonly code?: string; readonly constraint?: string }
          expect(cause.code).toBe("23514")
          expect(cause.constraint).toMatch(/kind/)
          const [{ n }] = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM source WHERE name = 'Jupiter'`) as [{ n: number }]
          expect(n).toBe(0)
        })
      )
    })
  })
}
