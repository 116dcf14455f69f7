import { describe, expect, it } from "vitest"
import { canonicalJson } from "../src/compiler/canonical-json.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { decodeIrWorkspace, encodeIrWorkspace, type IrStep, type IrWorkspace } from "../src/compiler/ir.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { definitionJson, pipelineDefinition } from "../src/definitions/entity-json.ts"
import { renderPlan } from "../src/definitions/render-plan.ts"
import type { StoredDefinitions } from "../src/definitions/stored.ts"

/*
 * `retries N on REASON, … { on REASON RESOURCE xF … }` from source to IR to plan: what the IR
 * holds, that the reasons and adjustments are in the step's hash but not its fingerprint (a
 * change is shown by `ccat plan` and reprocesses nothing), that the order they are written in
 * does not matter, and how the plan writes them.
 */

const workspace = (retries: string, resources = "resources { cpus 4  memory 16GiB  time 2h }") => `
location here { backend local }
software tool {
  image "docker://example/tool:{version}"
  versions "1.0.0"
  command "tool --mode {config.mode}"
}
grouping archived { where RawDataPackage.state == "ARCHIVED" }
pipeline p {
  data archived
  location here
  trigger manual
  step reduce {
    run tool ^1.0
    group_by executed_obs_unit
    config { mode = "a" }
    ${resources}
    ${retries}
  }
}
`

const compile = (text: string): IrWorkspace => {
  const result = compileSources([{ path: "w.ccat", text }])
  expect(result.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([])
  return result.ir!
}
const stepOf = (retries: string): IrStep => compile(workspace(retries)).pipelines[0]!.steps[0]!

let ids = 0
const row = (entity: { readonly name: string; readonly hash: string }, definition = definitionJson(entity)) => ({
  id: String(++ids),
  name: entity.name,
  hash: entity.hash,
  definition,
  retiredGeneration: null
})

/** The rows `ccat apply` would have written for this workspace. */
const storedFrom = (ir: IrWorkspace, generation: number): StoredDefinitions => ({
  generation,
  locations: ir.locations.map((l) => row(l)),
  software: ir.software.map((s) => ({ ...row(s), versions: s.versions.map((version) => ({ version, withdrawnGeneration: null })) })),
  groupings: ir.groupings.map((g) => row(g)),
  pipelines: ir.pipelines.map((p) => ({ ...row(p, pipelineDefinition(p)), steps: p.steps.map((s) => row(s, definitionJson(s))) }))
})

describe("retries in the IR", () => {
  it("keeps a plain count as it was: no reasons and no adjustments, not even as null", () => {
    // So steps written before reasons existed keep their IR and hashes (the goldens show it).
    const step = stepOf("retries 3")
    expect([step.retries, "retryOn" in step, "retryAdjust" in step]).toEqual([3, false, false])
    const json = JSON.parse(canonicalJson(compile(workspace("retries 3"))))
    const decoded = decodeIrWorkspace(json)
    expect(decoded._tag === "Right" && canonicalJson(encodeIrWorkspace(decoded.right))).toBe(canonicalJson(json))
  })

  it("lists reasons in the language's order and adjustments by reason, then resource", () => {
    const step = stepOf("retries 3 on OOM, LOST, TIMEOUT { on OOM memory x2  on TIMEOUT time x1.5  on OOM cpus x1.25 }")
    expect(step.retryOn).toEqual(["TIMEOUT", "OOM", "LOST"])
    expect(step.retryAdjust).toEqual([
      { reason: "TIMEOUT", resource: "time", factor: 1.5 },
      { reason: "OOM", resource: "cpus", factor: 1.25 },
      { reason: "OOM", resource: "memory", factor: 2 }
    ])
  })

  it("without `on`, every failure is retried and adjustments may name any reason", () => {
    const step = stepOf("retries 2 { on NO_OUTPUTS time x2 }")
    expect(["retryOn" in step, step.retryAdjust]).toEqual([false, [{ reason: "NO_OUTPUTS", resource: "time", factor: 2 }]])
  })

  it("puts reasons and adjustments in the step's hash, never its fingerprint; their order changes neither", () => {
    const plain = stepOf("retries 3")
    const on = stepOf("retries 3 on TIMEOUT, OOM")
    const adjusted = stepOf("retries 3 on TIMEOUT, OOM { on OOM memory x2 }")
    const reordered = stepOf("retries 3 on OOM, TIMEOUT {\n      on OOM memory x2\n    }")
    expect(new Set([plain.fingerprint, on.fingerprint, adjusted.fingerprint, reordered.fingerprint]).size).toBe(1)
    expect(new Set([plain.hash, on.hash, adjusted.hash]).size).toBe(3)
    expect(reordered.hash).toBe(adjusted.hash)
    expect(stepOf("retries 3 on TIMEOUT, OOM { on OOM memory x3 }").hash).not.toBe(adjusted.hash)
  })

  it("decodes with the IR schema, and refuses a reason or resource the language does not know", () => {
    const json = JSON.parse(canonicalJson(compile(workspace("retries 3 on TIMEOUT, OOM { on OOM memory x2 }"))))
    expect(decodeIrWorkspace(json)._tag).toBe("Right")
    const badReason = structuredClone(json)
    badReason.pipelines[0].steps[0].retryOn = ["OUT_OF_MEMORY"]
    expect(decodeIrWorkspace(badReason)._tag).toBe("Left")
    const badResource = structuredClone(json)
    badResource.pipelines[0].steps[0].retryAdjust = [{ reason: "OOM", resource: "gpus", factor: 2 }]
    expect(decodeIrWorkspace(badResource)._tag).toBe("Left")
  })
})

describe("retries in a plan", () => {
  it("shows reasons and adjustments as the language writes them, and reprocesses nothing", () => {
    const before = compile(workspace("retries 3"))
    const after = compile(workspace("retries 3 on TIMEOUT, OOM { on OOM memory x2  on TIMEOUT time x1.5 }"))
    const plan = planChanges(storedFrom(before, 1), after)
    expect(plan.changes).toHaveLength(1)
    expect(plan.changes[0]!.reprocess).toBe("none")
    expect(plan.changes[0]!.fields).toEqual([
      { type: "value", field: "retries.on", old: undefined, new: ["TIMEOUT", "OOM"] },
      { type: "value", field: "retries.adjust", old: undefined, new: "{ on TIMEOUT time x1.5  on OOM memory x2 }" }
    ])
    const text = renderPlan(plan)
    expect(text).toContain("~ step reduce  # no reprocessing (retries only)")
    expect(text).toContain("retries.on: (not set) → TIMEOUT, OOM")
    expect(text).toContain("retries.adjust: (not set) → { on TIMEOUT time x1.5  on OOM memory x2 }")

    const removed = renderPlan(planChanges(storedFrom(after, 2), before))
    expect(removed).toContain("retries.on: TIMEOUT, OOM → (not set)")
    // The same policy written in another order, or laid out differently, is no change.
    const same = compile(workspace("retries 3 on OOM, TIMEOUT {\n      on TIMEOUT time x1.5\n      on OOM memory x2\n    }"))
    expect(planChanges(storedFrom(after, 2), same).changes).toEqual([])
  })
})
