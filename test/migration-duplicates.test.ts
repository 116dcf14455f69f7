import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { migrate } from "../src/db/migrate.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { completeRun } from "./support/runs.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// Migration 12 makes lineage edges and product copies unique (the replicas issue): a database
// written before it, where runs collected twice left duplicates, migrates all the same, keeping
// one row of each; afterwards a duplicate cannot be written, on both databases.

const tempDir = scratchDirs("ccat-migration-duplicates")
const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "replicas.ccat"), "utf8")

/**
 * The database as migrations 1 to 11 left it: without migration 12's indexes, with the plain one
 * it dropped; and without the later migrations, which the migrator applies only above the newest
 * (14 also backfills the products' step from their runs).
 */
const backToMigration11 = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP TRIGGER data_product_step ON data_product`
  yield* sql`DROP FUNCTION ccat_product_step()`
  yield* sql`ALTER TABLE data_product DROP COLUMN step_id`
  // Dropping the column took the product indexes that hold it.
  for (const index of ["run_status_id", "run_step_id", "run_step_status_id", "run_sub_group_id", "run_reason_id", "run_created_at"])
    yield* sql`DROP INDEX ${sql(index)}`
  yield* sql`DROP INDEX data_product_type_id`
  yield* sql`CREATE INDEX run_status ON executed_reduction_step (status)`
  yield* sql`DELETE FROM effect_sql_migrations WHERE migration_id = 14`
  yield* sql`DROP TABLE api_token`
  yield* sql`DELETE FROM effect_sql_migrations WHERE migration_id = 13`
  yield* sql`DROP INDEX data_product_lineage_edge`
  yield* sql`DROP INDEX physical_copy_product_location`
  yield* sql`CREATE INDEX lineage_product ON data_product_lineage (product_id)`
  yield* sql`DELETE FROM effect_sql_migrations WHERE migration_id = 12`
})

/** The SQLSTATE a statement failed with (23505: a unique index refused it). */
const uniqueViolation = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  // An SqlError's cause is the driver's error, which carries the SQLSTATE as `code`.
  Effect.map(Effect.flip(effect), (e) => String((e as { cause?: { code?: string } }).cause?.code ?? e))

for (const backend of testBackends) {
  describe(`migration 12 on a database with duplicates, ${backend}`, () => {
    layer(Layer.mergeAll(testDatabase(backend), NodeContext.layer), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect(
        "a database whose runs were collected twice migrates, keeps one row of each lineage edge and product copy, and refuses duplicates afterwards",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
            const text = fixture.replace('like "PACKAGES"', 'like "chai_hfa_20260609%"')
            const compiled = compileSources([{ path: "replicas.ccat", text }])
            if (compiled.ir === undefined) throw new Error(compiled.diagnostics.map((d) => d.message).join("\n"))
            yield* applyWorkspace(compiled.ir, { createdBy: "test" })
            yield* evaluatePass({})
            const runs = yield* sql<{ id: string }>`SELECT id FROM executed_reduction_step ORDER BY id`
            expect(runs.length).toBeGreaterThanOrEqual(3)
            for (const run of runs) yield* completeRun(Number(run.id))
            yield* backToMigration11

            // What a run collected twice at once left: every edge to its raw packages three times,
            // and an edge to a parent product twice.
            const products = (yield* sql<{ id: string }>`SELECT id FROM data_product ORDER BY id`).map((p) => p.id)
            for (let i = 0; i < 3; i++) {
              yield* sql`
              INSERT INTO data_product_lineage (product_id, parent_product_id, raw_data_package_id)
              SELECT p.id, i.data_product_id, i.raw_data_package_id FROM data_product p JOIN run_input i ON i.run_id = p.run_id`
            }
            for (let i = 0; i < 2; i++)
              yield* sql`INSERT INTO data_product_lineage (product_id, parent_product_id) VALUES (${products[1]!}, ${products[0]!})`
            const [edges] = yield* sql<{ n: number; rows: number }>`
            SELECT count(*)::int AS n, (SELECT count(*)::int FROM data_product_lineage) AS rows
            FROM (SELECT DISTINCT product_id, parent_product_id, raw_data_package_id FROM data_product_lineage) d`
            expect(edges!.rows).toBe(3 * (edges!.n - 1) + 2)

            // Copies: a product with two PRESENT copies at one location, one whose twin a purge had
            // begun on, one with a purged (DELETED) copy and a present one.
            const [location] = yield* sql<{ id: string }>`SELECT id FROM data_location ORDER BY name LIMIT 1`
            const copy = (product: string, status: string) =>
              sql<{ id: string }>`
              INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
              VALUES (${location!.id}, ${product}, ${`runs/${product}.fits`}, ${status}) RETURNING id`.pipe(
                Effect.map((rows) => rows[0]!.id)
              )
            const twins = [yield* copy(products[0]!, "PRESENT"), yield* copy(products[0]!, "PRESENT")]
            const purging = [yield* copy(products[1]!, "PRESENT"), yield* copy(products[1]!, "DELETION_IN_PROGRESS")]
            const history = [yield* copy(products[2]!, "DELETED"), yield* copy(products[2]!, "PRESENT")]
            const [rawCopies] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM physical_copy WHERE data_product_id IS NULL`

            expect((yield* migrate).map((m) => m.id)).toEqual([12, 13, 14])
            // Migration 14 gave every product its run's step, which the product lists filter on.
            const [stepless] = yield* sql<{ n: number }>`
            SELECT count(*)::int AS n FROM data_product p JOIN executed_reduction_step r ON r.id = p.run_id
            WHERE p.step_id IS DISTINCT FROM r.step_id`
            expect(stepless!.n).toBe(0)

            const [after] = yield* sql<{ n: number; distinct_n: number }>`
            SELECT count(*)::int AS n, (SELECT count(*)::int FROM (SELECT DISTINCT product_id, parent_product_id, raw_data_package_id FROM data_product_lineage) d) AS distinct_n
            FROM data_product_lineage`
            expect(after).toEqual({ n: edges!.n, distinct_n: edges!.n })
            const kept = (yield* sql<{ id: string }>`SELECT id FROM physical_copy WHERE data_product_id IS NOT NULL ORDER BY id`).map(
              (c) => c.id
            )
            // The oldest of the twins; the copy the purge had begun on; the purged copy and the present one.
            expect(kept).toEqual([twins[0], purging[1], ...history])
            const [rawAfter] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM physical_copy WHERE data_product_id IS NULL`
            expect(rawAfter!.n).toBe(rawCopies!.n)

            // From now on a duplicate cannot be written: an edge to a raw package (parent NULL), an
            // edge to a parent product (package NULL), a second live copy.
            expect(
              yield* uniqueViolation(sql`
            INSERT INTO data_product_lineage (product_id, parent_product_id, raw_data_package_id)
            SELECT p.id, i.data_product_id, i.raw_data_package_id FROM data_product p JOIN run_input i ON i.run_id = p.run_id LIMIT 1`)
            ).toBe("23505")
            expect(
              yield* uniqueViolation(
                sql`INSERT INTO data_product_lineage (product_id, parent_product_id) VALUES (${products[1]!}, ${products[0]!})`
              )
            ).toBe("23505")
            expect(yield* uniqueViolation(copy(products[0]!, "PRESENT"))).toBe("23505")
          })
      )
    })
  })
}
