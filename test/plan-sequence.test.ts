import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { renderPlan } from "../src/definitions/render-plan.ts"
import { readStoredDefinitions } from "../src/definitions/stored.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { goldenDir, loadCcatFiles, repoRoot } from "./support/workspace.ts"

/*
 * `ccat plan` as an operator meets it, over the life of a workspace: each fixture under
 * test/fixtures/plan/ is the next version of the same files. At every step the plan against the
 * database is compared with its reviewed golden (test/golden/plan/<step>.txt; UPDATE_GOLDEN=1
 * rewrites them), then applied; planning the same files again must then find nothing to do.
 */

interface Step {
  readonly name: string
  /** The fixture folder; a step may apply the files of an earlier one again. */
  readonly fixture: string
  readonly covers: string
}

const sequence: ReadonlyArray<Step> = [
  { name: "01-create", fixture: "01-create", covers: "everything is created" },
  {
    name: "02-shared-changes",
    fixture: "02-shared-changes",
    covers: "a location backend option, software versions and command, grouping rules"
  },
  { name: "03-pipeline-changes", fixture: "03-pipeline-changes", covers: "pipeline trigger, priority and enabled" },
  {
    name: "04-step-changes",
    fixture: "04-step-changes",
    covers: "step config (reprocess), resources and cooldown (no reprocess), after and group_by"
  },
  { name: "05-steps-added-removed", fixture: "05-steps-added-removed", covers: "a step added and a step removed" },
  { name: "06-retire-pipeline", fixture: "06-retire-pipeline", covers: "a pipeline retired with its steps" },
  { name: "07-reenable-pipeline", fixture: "07-reenable-pipeline", covers: "the retired pipeline re-enabled, with a field change" },
  { name: "08-rename", fixture: "08-rename", covers: "a step and a grouping renamed: retire + create" },
  { name: "09-same-files-again", fixture: "08-rename", covers: "applying the same files twice" }
]

const fixturesDir = join(repoRoot, "test", "fixtures", "plan")
const planGoldenDir = join(goldenDir, "plan")
const updating = process.env["UPDATE_GOLDEN"] === "1"

const compileFixture = (fixture: string): IrWorkspace => {
  const sources = loadCcatFiles(join(fixturesDir, fixture))
  expect(sources.length).toBeGreaterThan(0)
  const result = compileSources(sources)
  expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([])
  return result.ir!
}

const matchGolden = (name: string, text: string): void => {
  const file = join(planGoldenDir, `${name}.txt`)
  if (updating || !existsSync(file)) {
    if (!updating) throw new Error(`missing golden ${file}: run with UPDATE_GOLDEN=1 and review it`)
    mkdirSync(planGoldenDir, { recursive: true })
    writeFileSync(file, text)
  }
  expect(text).toBe(readFileSync(file, "utf8"))
}

for (const backend of testBackends) {
  describe(`plan sequence on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      let generation = 0
      for (const step of sequence) {
        it.effect(`${step.name}: ${step.covers}`, () =>
          Effect.gen(function* () {
            const ir = compileFixture(step.fixture)
            const plan = planChanges(yield* readStoredDefinitions, ir)
            expect(plan.baseGeneration).toBe(generation)
            matchGolden(step.name, renderPlan(plan) + "\n")

            const result = yield* applyWorkspace(ir, { createdBy: "plan-test", expectedGeneration: plan.baseGeneration })
            expect(result.plan.changes).toEqual(plan.changes)
            if (plan.changes.length === 0) {
              expect(result._tag).toBe("NoChanges")
            } else {
              expect(result._tag).toBe("Applied")
              generation = result.generation
            }
            // What was written reads back as exactly these files.
            const again = planChanges(yield* readStoredDefinitions, ir)
            expect(again.changes).toEqual([])
            expect(again.baseGeneration).toBe(generation)

            const sql = yield* SqlClient.SqlClient
            const [row] = yield* sql<{ n: number }>`SELECT count(*)::int4 AS n FROM definitions_generation`
            expect(row!.n).toBe(generation)
          })
        )
      }
    })
  })
}
