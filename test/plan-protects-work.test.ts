import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { colorPlanStyle, renderPlan } from "../src/definitions/render-plan.ts"
import { readStoredDefinitions } from "../src/definitions/stored.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { definitionsSnapshot, runCli } from "./support/plan-cli.ts"
import { scratchDirs } from "./support/scratch.ts"

/*
 * A plan that would stop running work says so, and `ccat apply` refuses it without
 * `--allow-retire` (as Terraform's prevent_destroy). The workspace has a `core` folder that
 * compiles on its own and an `extra` folder of pipelines beside it: planning `core` alone
 * retires every pipeline of `extra`, and the plan warns that they come from outside the folder.
 */

const scratch = scratchDirs("ccat-protect")

const infrastructure = `
location box { backend local }
software tool {
  image "docker://example.org/tool:{version}"
  versions "1.0.0"
  command "tool"
}
grouping chai { where Instrument.name == "CHAI" }
`

const pipeline = (name: string, extra = "") => `
pipeline ${name} {
  data chai
  location box
  trigger manual
${extra}
  step reduce {
    run tool ^1.0
    group_by executed_obs_unit
  }
}
`

/** `core`: infrastructure and one pipeline; `extra`: one pipeline per file. */
const makeWorkspace = (): string => {
  const root = scratch("workspace")
  mkdirSync(join(root, "core"))
  mkdirSync(join(root, "extra"))
  writeFileSync(join(root, "core", "infrastructure.ccat"), infrastructure)
  writeFileSync(join(root, "core", "main.ccat"), pipeline("main_pl"))
  // Busy: a run in flight. Busy: a product from today. Not busy: a product from 8 days ago.
  // Not busy: disabled, even with a run in flight.
  writeFileSync(join(root, "extra", "busy.ccat"), pipeline("busy_pl"))
  writeFileSync(join(root, "extra", "fresh.ccat"), pipeline("fresh_pl"))
  writeFileSync(join(root, "extra", "old.ccat"), pipeline("old_pl"))
  writeFileSync(join(root, "extra", "parked.ccat"), pipeline("parked_pl", "  enabled false"))
  return root
}

let runs = 0

/** A run of the pipeline's step in `status`, with a product `ageDays` old when given. */
const addRun = (pipelineName: string, status: string, productAgeDays?: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    runs += 1
    const [run] = yield* sql<{ id: number }>`
      INSERT INTO executed_reduction_step (step_id, sub_group_key, input_identity, fingerprint, status, reason, software_version, image, config)
      SELECT s.id, ${`scan-${runs}`}, 'identity', s.fingerprint, ${status}, 'NEW_DATA', '1.0.0', 'docker://example.org/tool:1.0.0', '{}'::jsonb
      FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = ${pipelineName}
      RETURNING id::int4 AS id`
    if (productAgeDays !== undefined) {
      yield* sql`
        INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum, created_at)
        VALUES (${run!.id}, 'SCIENCE', 'out.fits', 1, 'abc', now() - make_interval(days => ${productAgeDays}))`
    }
  })

const generation = Effect.map(readStoredDefinitions, (s) => s.generation)

const retiredPipelines = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ name: string }>`SELECT name FROM pipeline WHERE retired_generation IS NOT NULL ORDER BY name`
  return rows.map((r) => r.name)
})

for (const backend of testBackends) {
  describe(`plans that protect running work, on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      const root = makeWorkspace()
      const core = join(root, "core")
      const extra = join(root, "extra")
      const savedPlan = join(root, "plan.json")

      it.effect("planning a folder that retires a busy pipeline warns, above the count, in text and JSON", () =>
        Effect.gen(function* () {
          expect((yield* runCli(["apply", root, "--yes"])).code).toBe(0)
          yield* addRun("busy_pl", "PENDING")
          yield* addRun("fresh_pl", "COMPLETED", 0)
          yield* addRun("old_pl", "COMPLETED", 8)
          yield* addRun("parked_pl", "RUNNING")

          const text = yield* runCli(["plan", core, "--out", savedPlan])
          expect(text.code).toBe(0)
          const busyLine = "Warning: this plan retires pipeline busy_pl, which has 1 run in flight. Applying it needs --allow-retire."
          const freshLine =
            "Warning: this plan retires pipeline fresh_pl, which has 1 product from the last 7 days. Applying it needs --allow-retire."
          const outsideLine =
            `Warning: you planned ${core}, but the applied definitions also come from files outside it (` +
            ["busy", "fresh", "old", "parked"].map((f) => join(extra, `${f}.ccat`)).join(", ") +
            `): this plan would retire pipelines busy_pl, fresh_pl, old_pl, parked_pl. Plan the whole workspace (ccat plan ${root}) to keep them.`
          const lines = text.stdout.split("\n")
          // Each pipeline retires with its step.
          const count = lines.indexOf("Plan: 0 to create, 0 to change, 8 to retire.")
          expect(lines.slice(count - 4, count)).toEqual([outsideLine, busyLine, freshLine, ""])
          // Only old products, or a disabled pipeline: not busy.
          expect(text.stdout).not.toContain("retires pipeline old_pl")
          expect(text.stdout).not.toContain("retires pipeline parked_pl")

          const json = JSON.parse((yield* runCli(["plan", core, "--json"])).stdout) as Record<string, unknown>
          expect(json["retiresBusy"]).toEqual([
            { pipeline: "busy_pl", inFlight: 1, productsLastWeek: 0 },
            { pipeline: "fresh_pl", inFlight: 0, productsLastWeek: 1 }
          ])
          expect(json["retiresDeclaredOutside"]).toEqual(
            ["busy", "fresh", "old", "parked"].map((f) => ({ pipeline: `${f}_pl`, file: join(extra, `${f}.ccat`) }))
          )

          // The whole workspace retires nothing: no warning.
          const whole = yield* runCli(["plan", root])
          expect(whole.stdout).not.toContain("Warning:")

          // On a terminal the warnings are red, like the retirements they are about.
          const plan = planChanges(
            yield* readStoredDefinitions,
            compileSources([{ path: "main.ccat", text: infrastructure + pipeline("main_pl") }]).ir!
          )
          const red = renderPlan(plan, colorPlanStyle, { busy: [{ pipeline: "busy_pl", inFlight: 1, productsLastWeek: 0 }], outside: null })
          expect(red).toContain(`\u001b[31m${busyLine}\u001b[0m`)
        })
      )

      it.effect("apply refuses a plan retiring a busy pipeline without --allow-retire, and changes nothing", () =>
        Effect.gen(function* () {
          const before = yield* definitionsSnapshot
          const refusal =
            "error: refused, nothing was applied: this plan retires pipeline busy_pl, which has 1 run in flight; this plan retires pipeline fresh_pl, which has 1 product from the last 7 days. To retire them anyway, apply with --allow-retire (runs in flight still finish; nothing is deleted)"

          const folder = yield* runCli(["apply", core, "--yes"])
          expect(folder.code).toBe(1)
          expect(folder.stderr).toBe(refusal)
          // The saved plan is intact (its hashes hold): it is refused for the work it would stop.
          const saved = yield* runCli(["apply", savedPlan])
          expect(saved.code).toBe(1)
          expect(saved.stderr).toBe(refusal)
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("apply judges the work as it is then: a saved plan idle when made is refused once a run starts", () =>
        Effect.gen(function* () {
          // old_pl (old products only) and parked_pl (disabled) leave the files: not busy.
          rmSync(join(extra, "old.ccat"))
          rmSync(join(extra, "parked.ccat"))
          const idlePlan = join(root, "idle.json")
          const planned = yield* runCli(["plan", root, "--out", idlePlan, "--json"])
          expect((JSON.parse(planned.stdout) as Record<string, unknown>)["retiresBusy"]).toEqual([])

          yield* addRun("old_pl", "PENDING")
          const refused = yield* runCli(["apply", idlePlan])
          expect(refused.code).toBe(1)
          expect(refused.stderr).toBe(
            "error: refused, nothing was applied: this plan retires pipeline old_pl, which has 1 run in flight. To retire it anyway, apply with --allow-retire (runs in flight still finish; nothing is deleted)"
          )
          expect(yield* retiredPipelines).toEqual([])

          const sql = yield* SqlClient.SqlClient
          yield* sql`UPDATE executed_reduction_step SET status = 'CANCELLED' WHERE status = 'PENDING' AND step_id IN (
            SELECT s.id FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = 'old_pl')`
          expect((yield* runCli(["apply", idlePlan])).code).toBe(0)
          expect(yield* retiredPipelines).toEqual(["old_pl", "parked_pl"])
        })
      )

      it.effect("with --allow-retire a busy pipeline is retired", () =>
        Effect.gen(function* () {
          const plan = join(root, "plan-2.json")
          expect((yield* runCli(["plan", core, "--out", plan])).code).toBe(0)
          const before = yield* generation
          expect((yield* runCli(["apply", plan])).code).toBe(1)
          expect(yield* generation).toBe(before)
          const allowed = yield* runCli(["apply", plan, "--allow-retire"])
          expect(allowed.code).toBe(0)
          expect(allowed.stdout).toContain(
            `Apply complete! 0 created, 0 changed, 4 retired. The definitions are now generation ${before + 1}.`
          )
          expect(yield* retiredPipelines).toEqual(["busy_pl", "fresh_pl", "old_pl", "parked_pl"])
        })
      )
    })
  })
}
