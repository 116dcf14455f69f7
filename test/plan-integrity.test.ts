import { SqlClient } from "@effect/sql"
import { describe, expect, it as plainIt, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { applyWorkspace, IrAltered } from "../src/definitions/apply.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { planHashOf } from "../src/definitions/plan-json.ts"
import { readStoredDefinitions } from "../src/definitions/stored.ts"
import { verifyIr } from "../src/definitions/verify-ir.ts"
import { UnverifiedIr, writePlan } from "../src/definitions/write-definitions.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { definitionsSnapshot, runCli } from "./support/plan-cli.ts"
import { allValidSources, loadCcatFiles, loadWorkspace, repoRoot, validWorkspaceNames } from "./support/workspace.ts"

/*
 * "A saved plan is applied exactly as reviewed." A plan saved with `ccat plan --out` and then
 * edited (a config value in its IR, a fingerprint, the changes it lists) is refused with one
 * message naming what does not match, exit 1, and the database is left as it was; a plan as
 * `ccat plan` wrote it applies. The base is fixture 03, the reviewed plan fixture 04: four step
 * changes, one of them calibrate's config (`calibration_mode` "hot_cold" → "sky").
 */

const fixture = (name: string): string => join(repoRoot, "test", "fixtures", "plan", name)

const compileDir = (dir: string): IrWorkspace => {
  const result = compileSources(loadCcatFiles(dir))
  expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([])
  return result.ir!
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a saved plan as parsed JSON, edited in place as a forger would; its typed form is readonly
type Json = Record<string, any>
const stepOf = (doc: Json, pipeline: string, step: string): Json =>
  (doc["ir"]["pipelines"] as Array<Json>).find((p) => p["name"] === pipeline)!["steps"].find((s: Json) => s["name"] === step)

/** Writes an edited copy of a saved plan; `reseal` also computes its planHash again, as a careful forger would. */
const editPlan = (file: string, edit: (doc: Json) => void, options: { reseal?: boolean } = {}): string => {
  const doc = JSON.parse(readFileSync(file, "utf8")) as Json
  edit(doc)
  if (options.reseal === true) doc["planHash"] = planHashOf(doc)
  const out = file.replace(/\.json$/, `-edited-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(out, JSON.stringify(doc, null, 2))
  return out
}

const refusal = (file: string, ...mismatches: ReadonlyArray<string>): string =>
  `error: ${file}: refused, nothing was applied: the plan is not as \`ccat plan\` wrote it. What does not match: ${mismatches.join("; ")}. Make the plan again with \`ccat plan --out\` and review it.`

const planHashItem = "its planHash (the document was changed after `ccat plan` wrote it)"
const calibrateFingerprint = "the fingerprint of step chai_standing.calibrate (its software, command and config give another)"

/** Fixture 03 applied, then fixture 04 planned and saved: the plan a person reviewed. */
const reviewedPlan = Effect.gen(function* () {
  yield* applyWorkspace(compileDir(fixture("03-pipeline-changes")), { createdBy: "integrity-test" })
  const file = join(mkdtempSync(join(tmpdir(), "ccat-integrity-")), "plan.json")
  const planned = yield* runCli(["plan", fixture("04-step-changes"), "--out", file])
  expect(planned.code).toBe(0)
  expect(planned.stdout).toContain("Plan: 0 to create, 4 to change, 0 to retire.")
  return file
})

for (const backend of testBackends) {
  describe(`a saved plan is applied exactly as reviewed, on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("a config value edited in the plan's IR is refused, naming the step's fingerprint, and nothing is applied", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          const edited = editPlan(file, (doc) => {
            stepOf(doc, "chai_standing", "calibrate")["config"]["calibration_mode"] = "fast"
          })
          const before = yield* definitionsSnapshot
          const r = yield* runCli(["apply", edited, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(refusal(edited, planHashItem, calibrateFingerprint))
          expect(r.stdout).toBe("")
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("a config value edited with the planHash computed again is still refused by the step's fingerprint", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          const edited = editPlan(file, (doc) => void (stepOf(doc, "chai_standing", "calibrate")["config"]["calibration_mode"] = "fast"), {
            reseal: true
          })
          const before = yield* definitionsSnapshot
          const r = yield* runCli(["apply", edited, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(refusal(edited, calibrateFingerprint))
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("a fingerprint edited back to the stored one (so that nothing would reprocess) is refused", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          const storedFingerprint = compileDir(fixture("03-pipeline-changes"))
            .pipelines.find((p) => p.name === "chai_standing")!
            .steps.find((s) => s.name === "calibrate")!.fingerprint
          const edited = editPlan(file, (doc) => {
            const step = stepOf(doc, "chai_standing", "calibrate")
            expect(step["fingerprint"]).not.toBe(storedFingerprint)
            step["fingerprint"] = storedFingerprint
          })
          const before = yield* definitionsSnapshot
          const r = yield* runCli(["apply", edited, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(refusal(edited, planHashItem, calibrateFingerprint))
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("a change edited in the list a person reviewed is refused, naming the changes it lists", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          // The reviewer read "hot_cold" → "gentle"; the IR says "sky".
          const edited = editPlan(file, (doc) => {
            const change = (doc["changes"] as Array<Json>).find((c) => c["name"] === "calibrate")!
            change["fields"][0]["new"] = "gentle"
          })
          const before = yield* definitionsSnapshot
          const r = yield* runCli(["apply", edited, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(
            refusal(edited, planHashItem, "the changes it lists (listed otherwise than made: ~ step chai_standing.calibrate)")
          )
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("a change left out of the list, with its summary and planHash made to fit, is refused under the lock", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          const edited = editPlan(
            file,
            (doc) => {
              doc["changes"] = (doc["changes"] as Array<Json>).filter((c) => c["name"] !== "map")
              doc["summary"]["change"] = 3
            },
            { reseal: true }
          )
          const before = yield* definitionsSnapshot
          const r = yield* runCli(["apply", edited, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(refusal(edited, "the changes it lists (made but not listed: ~ step chai_standing.map)"))
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("a summary that does not count the changes is refused", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          const edited = editPlan(file, (doc) => void (doc["summary"]["change"] = 1), { reseal: true })
          const r = yield* runCli(["apply", edited, "--yes"])
          expect(r.code).toBe(1)
          expect(r.stderr).toBe(refusal(edited, "its summary (not the counts of the changes it lists)"))
        })
      )

      it.effect("an edited IR is never written, however it is applied", () =>
        Effect.gen(function* () {
          yield* applyWorkspace(compileDir(fixture("03-pipeline-changes")), { createdBy: "integrity-test" })
          const ir = compileDir(fixture("04-step-changes"))
          const p = ir.pipelines.find((x) => x.name === "chai_standing")!
          const calibrate = p.steps.find((s) => s.name === "calibrate")!
          const edited = {
            ...ir,
            pipelines: ir.pipelines.map((x) =>
              x === p ? { ...p, steps: p.steps.map((s) => (s === calibrate ? { ...s, config: { calibration_mode: "fast" } } : s)) } : x
            )
          } as IrWorkspace
          const before = yield* definitionsSnapshot

          const refused = yield* applyWorkspace(edited, { createdBy: "integrity-test" }).pipe(Effect.flip)
          expect(refused).toBeInstanceOf(IrAltered)
          expect(refused.message).toBe(
            `refused, nothing was applied: the IR is not what the compiler makes of its fields. What does not match: ${calibrateFingerprint}`
          )

          // The writer itself stops it: a caller that skipped the check has a defect, never a row.
          const sql = yield* SqlClient.SqlClient
          const written = yield* sql
            .withTransaction(
              Effect.gen(function* () {
                const stored = yield* readStoredDefinitions
                return yield* writePlan(planChanges(stored, edited), stored, "integrity-test")
              })
            )
            .pipe(Effect.exit)
          expect(Exit.isFailure(written) && written.cause._tag === "Die" && written.cause.defect instanceof UnverifiedIr).toBe(true)
          expect(yield* definitionsSnapshot).toEqual(before)
        })
      )

      it.effect("a saved plan as ccat plan wrote it applies, and stores the fingerprints its definitions produce", () =>
        Effect.gen(function* () {
          const file = yield* reviewedPlan
          const r = yield* runCli(["apply", file, "--yes"])
          expect(r.stderr).toBe("")
          expect(r.code).toBe(0)
          expect(r.stdout).toMatch(/Apply complete! 0 created, 4 changed, 0 retired\. The definitions are now generation \d+\.$/)
          const sql = yield* SqlClient.SqlClient
          const stored = yield* sql<{ name: string; fingerprint: string; config: unknown }>`
            SELECT s.name, s.fingerprint, s.definition->'config' AS config
            FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id
            WHERE p.name = 'chai_standing' AND s.retired_generation IS NULL ORDER BY s.name`
          const compiled = compileDir(fixture("04-step-changes")).pipelines.find((p) => p.name === "chai_standing")!.steps
          expect(stored).toEqual(
            [...compiled]
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((s) => ({ name: s.name, fingerprint: s.fingerprint, config: s.config }))
          )
          expect(stored.find((s) => s.name === "calibrate")!.config).toEqual({ calibration_mode: "sky" })
        })
      )
    })
  })
}

describe("verifyIr: an IR is checked against what the compiler makes of its fields", () => {
  plainIt("every valid workspace, the examples and the plan fixtures verify as compiled", () => {
    const workspaces = [
      ...validWorkspaceNames().map((name) => ({ name, sources: loadWorkspace(name) })),
      { name: "all valid fixtures", sources: allValidSources() },
      { name: "pipelines/", sources: loadCcatFiles(join(repoRoot, "pipelines")) },
      { name: "plan 04", sources: loadCcatFiles(fixture("04-step-changes")) }
    ]
    let verified = 0
    for (const { name, sources } of workspaces) {
      const ir = compileSources(sources).ir
      if (ir === undefined) continue // a workspace valid only together with others
      expect(verifyIr(ir), name).toEqual([])
      verified++
    }
    expect(verified).toBeGreaterThan(3)
  })

  const base = () => compileDir(fixture("04-step-changes"))
  const editStep = (ir: IrWorkspace, name: string, f: (s: IrWorkspace["pipelines"][number]["steps"][number]) => object): IrWorkspace => ({
    ...ir,
    pipelines: ir.pipelines.map((p) =>
      p.name !== "chai_standing" ? p : { ...p, steps: p.steps.map((s) => (s.name === name ? { ...s, ...f(s) } : s)) }
    )
  })

  plainIt("names each edit where it arises, not the hashes that follow from it", () => {
    const ir = base()
    expect(verifyIr(editStep(ir, "baseline", (s) => ({ resources: { ...s.resources, cpus: 64 } })))).toEqual([
      "the hash of step chai_standing.baseline (its fields give another)"
    ])
    expect(verifyIr(editStep(ir, "baseline", () => ({ command: "rm -rf /" })))).toEqual([
      "the command of step chai_standing.baseline (the rest of the IR gives another)"
    ])
    expect(
      verifyIr(
        editStep(ir, "calibrate", (s) => ({
          software: { ...s.software, version: "2.3.1", image: "docker://ghcr.io/ccatobs/chai-calibration:2.3.1" }
        }))
      )
    ).toEqual([
      "the version of step chai_standing.calibrate (not the newest that its range allows)",
      "the hash of step chai_standing.calibrate (its fields give another)"
    ])
    const grouping = ir.groupings.find((g) => g.name === "chai_archived")!
    const selection = { ...ir, groupings: ir.groupings.map((g) => (g === grouping ? { ...g, selection: null } : g)) } as IrWorkspace
    expect(verifyIr(selection)).toEqual(["the selection of grouping chai_archived (its from and where give another)"])
    expect(verifyIr({ ...ir, hash: "0".repeat(64) })).toEqual(["the IR's hash (its entities' hashes give another)"])
    expect(
      verifyIr(
        editStep(ir, "map", () => ({ software: { name: "nothing", range: "^1.0", version: "1.0.0", image: "x", fingerprintVersion: "1" } }))
      )
    ).toEqual(["step chai_standing.map runs software nothing, which the IR does not declare"])
  })
})
