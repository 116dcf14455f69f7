import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { summarize, type Plan } from "../src/definitions/plan.ts"
import { PlanDoesNotMatchDefinitions } from "../src/definitions/plan-mismatch.ts"
import { readStoredDefinitions } from "../src/definitions/stored.ts"
import { writePlan } from "../src/definitions/write-definitions.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { definitionsSnapshot } from "./support/plan-cli.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

/*
 * The writer of definitions refuses a plan whose changes do not match its IR and the stored
 * rows (a plan made by hand, or by a bug) with one error that names what is missing, and writes
 * nothing: never a TypeError halfway through, never a step without its pipeline.
 */

const createFixture = join(repoRoot, "test", "fixtures", "plan", "01-create")

for (const backend of testBackends) {
  describe(`writing a plan that does not match its IR, on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("a step whose pipeline the plan neither finds stored nor creates is refused by name, and nothing is written", () =>
        Effect.gen(function* () {
          const compiled = compileSources(loadCcatFiles(createFixture))
          expect(compiled.ir).toBeDefined()
          const before = yield* definitionsSnapshot
          const stored = yield* readStoredDefinitions
          const full = planChanges(stored, compiled.ir!)
          // By hand: every change of the full plan but the creation of pipeline chai_standing, so its steps have no pipeline.
          const changes = full.changes.filter((c) => !(c.kind === "pipeline" && c.name === "chai_standing"))
          expect(changes.some((c) => c.kind === "step" && c.pipeline === "chai_standing")).toBe(true)
          const plan: Plan = { ...full, changes, summary: summarize(changes) }
          // Outside any transaction, so that no rollback can hide a row written before the refusal.
          const refused = yield* writePlan(plan, stored, "write-plan-test").pipe(Effect.flip)
          expect(refused).toBeInstanceOf(PlanDoesNotMatchDefinitions)
          expect(refused.message).toBe(
            "refused, nothing was written: the plan does not match its IR and the stored definitions. " +
              "To create step chai_standing.calibrate it needs pipeline chai_standing, which is neither stored nor created by the plan. " +
              "Make the plan again with `ccat plan`."
          )
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )
    })
  })
}
