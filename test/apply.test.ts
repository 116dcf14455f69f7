import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { applyWorkspace, DEFINITIONS_LOCK, PlanStale } from "../src/definitions/apply.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { decodeSavedPlan, planJsonText } from "../src/definitions/plan-json.ts"
import { readStoredDefinitions } from "../src/definitions/stored.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"
import { definitionsSnapshot, runCli } from "./support/plan-cli.ts"

/*
 * `ccat apply` where it must not go wrong: a bad file, a plan overtaken by another apply, two
 * applies at the same moment, and retirement that keeps every row.
 */

const fixturesDir = join(repoRoot, "test", "fixtures", "plan")
const fixture = (name: string): string => join(fixturesDir, name)

const compileFixture = (name: string): IrWorkspace => {
  const result = compileSources(loadCcatFiles(fixture(name)))
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([])
  return result.ir!
}

const apply = (ir: IrWorkspace, expectedGeneration?: number) => applyWorkspace(ir, { createdBy: "apply-test", expectedGeneration })

const snapshot = definitionsSnapshot

const generations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`SELECT count(*)::int4 AS n FROM definitions_generation`
  return row!.n
})

const scratchCopy = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), "ccat-apply-"))
  cpSync(fixture(name), dir, { recursive: true })
  return dir
}

for (const backend of testBackends) {
  describe(`apply on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("a workspace with a compile error applies nothing", () =>
        Effect.gen(function* () {
          yield* apply(compileFixture("01-create"))
          const before = yield* snapshot
          const dir = scratchCopy("02-shared-changes")
          // One undefined software among otherwise valid changes.
          const file = join(dir, "pipelines.ccat")
          writeFileSync(file, readFileSync(file, "utf8").replace("run chai_baseline ^1.0", "run chai_baselin ^1.0"))
          const r = yield* runCli(["apply", dir, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toContain("error[E011]")
          expect(r.stderr).toContain("Nothing was applied.")
          expect(yield* snapshot).toEqual(before)

          const p = yield* runCli(["plan", dir, "--detailed-exitcode"])
          expect(p.code).toBe(1)
          expect(p.stderr).toContain("Nothing was planned.")
        })
      )

      it.effect("refuses a saved plan made before another apply as stale", () =>
        Effect.gen(function* () {
          const base = (yield* readStoredDefinitions).generation
          const saved = planJsonText(planChanges(yield* readStoredDefinitions, compileFixture("02-shared-changes")))
          const applied = yield* apply(compileFixture("03-pipeline-changes"))
          expect(applied._tag).toBe("Applied")
          const before = yield* snapshot

          const plan = Either.getOrThrow(decodeSavedPlan(saved, "plan.json"))
          expect(plan.baseGeneration).toBe(base)
          const stale = yield* apply(plan.ir, plan.baseGeneration).pipe(Effect.flip)
          expect(stale).toBeInstanceOf(PlanStale)
          expect(stale.message).toBe(
            `plan is stale: definitions changed since it was made (planned against generation ${base}, now ${base + 1}); run \`ccat plan\` again`
          )

          // The same through the CLI: one line, exit 1, nothing written.
          const file = join(mkdtempSync(join(tmpdir(), "ccat-plan-")), "plan.json")
          writeFileSync(file, saved)
          const r = yield* runCli(["apply", file, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(`error: ${stale.message}`)
          expect(yield* snapshot).toEqual(before)
        })
      )

      it.effect(
        "applies a fresh saved plan without the sources and without asking again (it was reviewed when made), and a no-op plan records nothing",
        () =>
          Effect.gen(function* () {
            const file = join(mkdtempSync(join(tmpdir(), "ccat-plan-")), "plan.json")
            const planned = yield* runCli(["plan", fixture("04-step-changes"), "--out", file, "--detailed-exitcode"])
            expect(planned.code).toBe(2)
            expect(planned.stdout).toContain("Plan: 0 to create, 4 to change, 0 to retire.")
            // Its first line names the database, the password left out.
            expect(planned.database).toMatch(/^postgres:\/\/[^:@/]+@127\.0\.0\.1:\d+\//)
            expect(planned.stdout).toContain(`ccat apply ${file}`)
            const before = yield* generations

            // No --yes, and no terminal to ask on: a saved plan is applied as Terraform applies one.
            const r = yield* runCli(["apply", file])
            expect(r.code).toBe(0)
            expect(r.stdout).toContain(`Apply complete! 0 created, 4 changed, 0 retired. The definitions are now generation ${before + 1}.`)

            const again = yield* runCli(["apply", fixture("04-step-changes"), "--yes"])
            expect(again.code).toBe(0)
            expect(again.stdout).toBe(`No changes. Nothing applied: the definitions match generation ${before + 1}.`)
            expect(yield* generations).toBe(before + 1)
            const quiet = yield* runCli(["plan", fixture("04-step-changes"), "--detailed-exitcode"])
            expect(quiet.code).toBe(0)
            expect(quiet.stdout.split("\n")[0]).toBe(`No changes. The definitions match generation ${before + 1}.`)
            // The trigger preview follows; a cron pipeline between ticks creates nothing.
            expect(quiet.stdout).toMatch(
              /chai_standing: not triggered: cron "0 3 \* \* \*" \(.*\), next tick .* UTC\n\n0 runs would be created\.$/
            )
          })
      )

      it.effect("without --yes and without a terminal, refuses and applies nothing", () =>
        Effect.gen(function* () {
          if (process.stdin.isTTY === true) return // run by hand in a terminal: the question would wait for an answer
          const before = yield* snapshot
          const r = yield* runCli(["apply", fixture("05-steps-added-removed")])
          expect(r.code).toBe(1)
          expect(r.stderr).toContain("--yes")
          expect(yield* snapshot).toEqual(before)
        })
      )

      it.effect("two applies of the same files at once: one generation, the other finds nothing to do", () =>
        Effect.gen(function* () {
          const ir = compileFixture("05-steps-added-removed")
          const before = yield* generations
          const results = yield* Effect.all([apply(ir), apply(ir)], { concurrency: 2 })
          expect(results.map((r) => r._tag).sort()).toEqual(["Applied", "NoChanges"])
          expect(yield* generations).toBe(before + 1)
          expect(planChanges(yield* readStoredDefinitions, ir).changes).toEqual([])
        })
      )

      it.effect("an apply waits for the definitions lock held by another transaction", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const events: Array<string> = []
          const holder = sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT pg_advisory_xact_lock(${DEFINITIONS_LOCK}::bigint)`
              events.push("locked")
              yield* Effect.sleep("400 millis")
              events.push("releasing")
            })
          )
          const applier = Effect.sleep("100 millis").pipe(
            Effect.zipRight(
              applyWorkspace(compileFixture("06-retire-pipeline"), {
                createdBy: "apply-test",
                onLockWait: Effect.sync(() => void events.push("waiting"))
              })
            ),
            Effect.tap(() => Effect.sync(() => void events.push("applied")))
          )
          yield* Effect.all([holder, applier], { concurrency: 2 })
          // PostgreSQL reports the wait; PGlite's socket already queues the whole transaction.
          expect(events.filter((e) => e !== "waiting")).toEqual(["locked", "releasing", "applied"])
          if (backend === "postgres") expect(events).toEqual(["locked", "waiting", "releasing", "applied"])
        })
      )

      it.effect("two reviewed plans at once: one applies, the other is stale, never a mix", () =>
        Effect.gen(function* () {
          // A state that both plans change.
          yield* apply(compileFixture("05-steps-added-removed"))
          const base = (yield* readStoredDefinitions).generation
          const retire = compileFixture("06-retire-pipeline")
          const rename = compileFixture("08-rename")
          const results = yield* Effect.all([apply(retire, base).pipe(Effect.either), apply(rename, base).pipe(Effect.either)], {
            concurrency: 2
          })
          const applied = results.filter(Either.isRight)
          const stale = results.filter(Either.isLeft)
          expect(applied.map((r) => r.right._tag)).toEqual(["Applied"])
          expect(stale).toHaveLength(1)
          expect(stale[0]!.left).toBeInstanceOf(PlanStale)
          expect(yield* generations).toBe(base + 1)
          // The database holds exactly the winner's definitions.
          const winner = results[0]._tag === "Right" ? retire : rename
          expect(planChanges(yield* readStoredDefinitions, winner).changes).toEqual([])
        })
      )

      it.effect("two different workspaces at once: both apply, one after the other, each whole", () =>
        Effect.gen(function* () {
          const before = yield* generations
          const a = compileFixture("07-reenable-pipeline")
          const b = compileFixture("08-rename")
          const [ra, rb] = yield* Effect.all([apply(a), apply(b)], { concurrency: 2 })
          const applied = [ra, rb].filter((r) => r._tag === "Applied")
          expect(applied.length).toBeGreaterThanOrEqual(1)
          expect(yield* generations).toBe(before + applied.length)
          // Whichever went second is what is stored, whole.
          const last = [ra, rb].reduce((x, y) => (y.generation > x.generation ? y : x))
          expect(planChanges(yield* readStoredDefinitions, last === ra ? a : b).changes).toEqual([])
        })
      )

      it.effect("retiring keeps every row: a retired generation is set, nothing is deleted", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* apply(compileFixture("05-steps-added-removed"))
          const count = (table: string) =>
            sql<{ n: number }>`SELECT count(*)::int4 AS n FROM ${sql(table)}`.pipe(Effect.map((r) => r[0]!.n))
          const tables = ["pipeline", "reduction_step", "reduction_step_upstream", "data_grouping", "reduction_software_version"]
          const before = yield* Effect.forEach(tables, count)

          const result = yield* apply(compileFixture("06-retire-pipeline"))
          expect(result._tag).toBe("Applied")
          expect(yield* Effect.forEach(tables, count)).toEqual(before)
          const retired = yield* sql<{ kind: string; name: string; retired: number | null }>`
            SELECT 'pipeline' AS kind, name, retired_generation::int4 AS retired FROM pipeline WHERE name = 'ngc253_adhoc'
            UNION ALL
            SELECT 'step', s.name, s.retired_generation::int4 FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = 'ngc253_adhoc'`
          expect(retired).toEqual([
            { kind: "pipeline", name: "ngc253_adhoc", retired: result.generation },
            { kind: "step", name: "map", retired: result.generation }
          ])
          const [active] = yield* sql<{ n: number }>`SELECT count(*)::int4 AS n FROM reduction_step WHERE retired_generation IS NULL`
          expect(active!.n).toBe(4)
        })
      )
    })
  })
}
