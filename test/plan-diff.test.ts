import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { planChanges } from "../src/definitions/diff.ts"
import { definitionJson, pipelineDefinition } from "../src/definitions/entity-json.ts"
import { formatSize, formatValue } from "../src/definitions/format-value.ts"
import type { EntityChange } from "../src/definitions/plan.ts"
import { decodeSavedPlan, planJson, planJsonText } from "../src/definitions/plan-json.ts"
import { renderFilter } from "../src/definitions/render-filter.ts"
import { renderPlan } from "../src/definitions/render-plan.ts"
import { noStoredDefinitions, type StoredDefinitions } from "../src/definitions/stored.ts"

/*
 * The diff without a database: stored definitions are made from a compiled workspace as apply
 * would store them, so each case is "files A applied, files B planned".
 */

const compile = (text: string): IrWorkspace => {
  const result = compileSources([{ path: "w.ccat", text }])
  expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([])
  return result.ir!
}

let ids = 0
const row = (
  entity: { readonly name: string; readonly hash: string },
  definition = definitionJson(entity),
  retiredGeneration: number | null = null
) => ({
  id: String(++ids),
  name: entity.name,
  hash: entity.hash,
  definition,
  retiredGeneration
})

/** The rows `ccat apply` would have written for this workspace at this generation. */
const storedFrom = (ir: IrWorkspace, generation: number, retired: ReadonlySet<string> = new Set()): StoredDefinitions => ({
  generation,
  locations: ir.locations.map((l) => row(l)),
  software: ir.software.map((s) => ({ ...row(s), versions: s.versions.map((version) => ({ version, withdrawnGeneration: null })) })),
  groupings: ir.groupings.map((g) => row(g)),
  pipelines: ir.pipelines.map((p) => {
    const gone = retired.has(p.name) ? generation : null
    return { ...row(p, pipelineDefinition(p), gone), steps: p.steps.map((s) => row(s, definitionJson(s), gone)) }
  })
})

const workspace = (
  options: {
    step?: string
    config?: string
    resources?: string
    outputs?: string
    versions?: string
    range?: string
    policy?: string
    grouping?: string
    pipeline?: string
  } = {}
) => `
location here { backend local { max_parallel 2 } }
software tool {
  image "docker://example/tool:{version}"
  versions ${options.versions ?? `"1.0.0", "1.1.0"`}
  command "tool --mode {config.mode}"
}
grouping ${options.grouping ?? "archived"} { where RawDataPackage.state == "ARCHIVED" }
pipeline ${options.pipeline ?? "p"} {
  data ${options.grouping ?? "archived"}
  location here
  trigger continuous
  step ${options.step ?? "reduce"} {
    run tool ${options.range ?? "^1.0"}
    group_by executed_obs_unit
    config { ${options.config ?? `mode = "a"`} }
    ${options.resources ?? ""}
    ${options.outputs ?? ""}
    ${options.policy ?? ""}
  }
}
`

const brief = (c: EntityChange) => `${c.action} ${c.kind} ${c.pipeline === null ? "" : `${c.pipeline}.`}${c.name}`

describe("planChanges", () => {
  it("creates everything against an empty database, and finds nothing to do once applied", () => {
    const ir = compile(workspace())
    const plan = planChanges(noStoredDefinitions, ir)
    expect(plan.changes.map(brief)).toEqual([
      "create location here",
      "create software tool",
      "create grouping archived",
      "create pipeline p",
      "create step p.reduce"
    ])
    expect(plan.summary).toEqual({ create: 5, change: 0, retire: 0 })
    const again = planChanges(storedFrom(ir, 1), ir)
    expect(again.changes).toEqual([])
    expect(renderPlan(again)).toBe("No changes. The definitions match generation 1.")
  })

  it("moving a declaration (only spans change) is no change", () => {
    const a = compile(workspace())
    const b = compile("\n\n// moved\n" + workspace())
    expect(planChanges(storedFrom(a, 1), b).changes).toEqual([])
  })

  it("a config key added is one field from (not set), and reprocesses", () => {
    const plan = planChanges(storedFrom(compile(workspace()), 1), compile(workspace({ config: `mode = "a"  depth = 3` })))
    expect(plan.changes).toHaveLength(1)
    expect(plan.changes[0]!.reprocess).toBe("fingerprint")
    expect(plan.changes[0]!.fields).toEqual([{ type: "value", field: "config.depth", old: undefined, new: 3 }])
  })

  it("a compatible upgrade changes the version without reprocessing; under `exact` it reprocesses", () => {
    const before = compile(workspace())
    const upgrade = planChanges(storedFrom(before, 1), compile(workspace({ versions: `"1.0.0", "1.1.0", "1.2.0"` })))
    const step = upgrade.changes.find((c) => c.kind === "step")!
    expect(step.reprocess).toBe("none")
    expect(step.fields.map((f) => f.field)).toEqual(["version", "image"])
    expect(upgrade.changes.find((c) => c.kind === "software")!.fields).toEqual([
      { type: "set", field: "versions", added: ["1.2.0"], removed: [] }
    ])

    const exact = compile(workspace({ policy: "version_policy exact" }))
    const exactUpgrade = planChanges(
      storedFrom(exact, 1),
      compile(workspace({ policy: "version_policy exact", versions: `"1.0.0", "1.1.0", "1.2.0"` }))
    )
    expect(exactUpgrade.changes.find((c) => c.kind === "step")!.reprocess).toBe("fingerprint")
    expect(renderPlan(exactUpgrade)).toContain("~ step reduce  # will reprocess: fingerprint changes (version, image)")
    // With a config change as well, the config is the reason worth naming.
    const both = planChanges(storedFrom(before, 1), compile(workspace({ config: `mode = "b"`, versions: `"1.0.0", "1.1.0", "1.2.0"` })))
    expect(renderPlan(both)).toContain("~ step reduce  # will reprocess: fingerprint changes (config)")
  })

  it("resources are shown in the language's units and do not reprocess", () => {
    const plan = planChanges(
      storedFrom(compile(workspace()), 1),
      compile(workspace({ resources: "resources { memory 512MiB  time 90m }" }))
    )
    const text = renderPlan(plan)
    expect(text).toContain("~ step reduce  # no reprocessing (resources only)")
    expect(text).toContain("resources.memory: (not set) → 512MiB")
    expect(text).toContain("resources.time: (not set) → 90m")
  })

  it("an outputs block is a change of the step that does not reprocess, written as the block reads", () => {
    const before = compile(workspace())
    const declared = compile(workspace({ outputs: 'outputs { plots min 0  science "*.fits" }' }))
    const beforeStep = before.pipelines[0]!.steps[0]!
    const declaredStep = declared.pipelines[0]!.steps[0]!
    // Part of the step's hash (so the plan sees it), not of its fingerprint (so nothing reprocesses).
    expect(declaredStep.hash).not.toBe(beforeStep.hash)
    expect(declaredStep.fingerprint).toBe(beforeStep.fingerprint)

    const added = planChanges(storedFrom(before, 1), declared)
    expect(added.changes.map(brief)).toEqual(["change step p.reduce"])
    expect(added.changes[0]!.reprocess).toBe("none")
    expect(added.changes[0]!.fields).toEqual([
      { type: "value", field: "outputs", old: undefined, new: '{ science "*.fits" min 1  plots min 0 }' }
    ])
    const text = renderPlan(added)
    expect(text).toContain("~ step reduce  # no reprocessing (outputs only)")
    expect(text).toContain('outputs: (not set) → { science "*.fits" min 1  plots min 0 }')

    const changed = planChanges(storedFrom(declared, 2), compile(workspace({ outputs: 'outputs { science "*.fits" min 2  plots min 0 }' })))
    expect(renderPlan(changed)).toContain('outputs: { science "*.fits" min 1  plots min 0 } → { science "*.fits" min 2  plots min 0 }')
    const removed = planChanges(storedFrom(declared, 2), before)
    expect(renderPlan(removed)).toContain('outputs: { science "*.fits" min 1  plots min 0 } → (not set)')
    // The rules in another order, or laid out differently, are the same block.
    expect(
      planChanges(storedFrom(declared, 2), compile(workspace({ outputs: 'outputs {\n  science "*.fits" min 1\n  plots min 0\n}' }))).changes
    ).toEqual([])
  })

  it("a renamed entity whose content also changed is a plain retire and create", () => {
    const plan = planChanges(storedFrom(compile(workspace()), 1), compile(workspace({ step: "reduce2", config: `mode = "b"` })))
    const steps = plan.changes.filter((c) => c.kind === "step")
    expect(steps.map(brief)).toEqual(["create step p.reduce2", "retire step p.reduce"])
    expect(steps.every((c) => c.renamedFrom === null && c.renamedTo === null)).toBe(true)
  })

  it("a renamed pipeline is recognised with its steps: retire + create, linked", () => {
    const plan = planChanges(storedFrom(compile(workspace()), 1), compile(workspace({ pipeline: "q" })))
    expect(plan.changes.map(brief)).toEqual(["retire pipeline p", "retire step p.reduce", "create pipeline q", "create step q.reduce"])
    expect(plan.changes[0]!.renamedTo).toBe("q")
    expect(plan.changes[2]!.renamedFrom).toBe("p")
    expect(renderPlan(plan)).toContain("+ pipeline q  # renamed from p: a rename is retire + create (p keeps its history; q starts afresh)")
  })

  it("re-enables a retired pipeline and its steps, naming the generation that retired them", () => {
    const ir = compile(workspace())
    const plan = planChanges(storedFrom(ir, 3, new Set(["p"])), ir)
    expect(plan.changes.map((c) => [brief(c), c.retiredGeneration])).toEqual([
      ["reenable pipeline p", 3],
      ["reenable step p.reduce", 3]
    ])
    expect(plan.summary).toEqual({ create: 0, change: 2, retire: 0 })
    expect(renderPlan(plan)).toContain("~ pipeline p  # re-enable (retired in generation 3)")
  })

  it("a withdrawn version and a new one are fields of the software", () => {
    const plan = planChanges(storedFrom(compile(workspace()), 1), compile(workspace({ versions: `"1.1.0", "1.2.0"` })))
    const text = renderPlan(plan)
    expect(text).toContain("~ software tool\n    + version 1.2.0\n    - version 1.0.0 (withdraw)")
  })
})

describe("plan JSON", () => {
  it("round-trips through a saved plan with its IR", () => {
    const ir = compile(workspace())
    const plan = planChanges(storedFrom(compile(workspace({ config: `mode = "b"` })), 7), ir)
    const doc = planJson(plan)
    expect(doc).toMatchObject({ version: 1, baseGeneration: 7, irHash: ir.hash, summary: { create: 0, change: 1, retire: 0 } })
    expect(doc.changes[0]).toEqual({
      action: "change",
      kind: "step",
      name: "reduce",
      pipeline: "p",
      fields: [{ type: "value", field: "config.mode", old: "b", new: "a" }],
      retiredGeneration: null,
      renamedFrom: null,
      renamedTo: null,
      reprocess: "fingerprint"
    })
    const saved = Either.getOrThrow(decodeSavedPlan(planJsonText(plan), "p.json"))
    expect(saved.baseGeneration).toBe(7)
    expect(saved.ir.hash).toBe(ir.hash)
    expect(planChanges(storedFrom(compile(workspace({ config: `mode = "b"` })), 7), saved.ir).changes).toEqual(plan.changes)
  })

  it("refuses an edited or foreign document with one line", () => {
    const text = planJsonText(planChanges(noStoredDefinitions, compile(workspace())))
    const edited = JSON.parse(text)
    edited.irHash = "0".repeat(64)
    const result = decodeSavedPlan(JSON.stringify(edited), "p.json")
    expect(Either.isLeft(result) && result.left.message).toBe(
      "p.json: refused, nothing was applied: the plan is not as `ccat plan` wrote it. What does not match: its planHash (the document was changed after `ccat plan` wrote it); its irHash (not the hash of its IR). Make the plan again with `ccat plan --out` and review it."
    )
    const unsealed = JSON.parse(text)
    delete unsealed.planHash
    const old = decodeSavedPlan(JSON.stringify(unsealed), "old.json")
    expect(Either.isLeft(old) && old.left.message).toBe(
      "old.json: not a usable saved plan: it has no planHash (it was made by an older ccat, or edited); make the plan again with `ccat plan --out`"
    )
    const foreign = decodeSavedPlan(`{"hello": 1}`, "x.json")
    expect(Either.isLeft(foreign) && foreign.left.message).toBe("x.json: not a usable saved plan: it is not a `ccat plan --out` document")
  })
})

describe("values for people", () => {
  it("writes sizes with the largest exact unit", () => {
    expect(formatSize(16 * 1024 ** 3)).toBe("16GiB")
    expect(formatSize(1e9)).toBe("1GB")
    expect(formatSize(1500)).toBe("1500B")
    expect(formatValue("duration", 7200)).toBe("2h")
    expect(formatValue("percent", 85)).toBe("85%")
    expect(formatValue("literal", { a: [1, "x"], "b c": true })).toBe(`{ a = [1, "x"]  "b c" = true }`)
  })

  it("writes filters in the language, with parentheses only where precedence needs them", () => {
    const ir = compile(`
grouping g {
  where (Source.name == "A" or Source.name like "B%") and not RawDataPackage.state in ("FAILED", "WAITING")
}`)
    expect(renderFilter(definitionJson(ir.groupings[0]!)["where"]!)).toBe(
      `(Source.name == "A" or Source.name like "B%") and not RawDataPackage.state in ("FAILED", "WAITING")`
    )
  })
})
