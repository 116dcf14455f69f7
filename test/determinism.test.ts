import { describe, expect, it } from "vitest"
import { canonicalJson } from "../src/compiler/canonical-json.ts"
import { compileSources, type CachedParse, type SourceInput } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import {
  collectHashes,
  loadCcatFiles,
  loadWorkspace,
  permutations,
  repoRoot,
  Rng,
  stripSpans,
  validWorkspaceNames
} from "./support/workspace.ts"

/*
 * The IR depends on what the sources say, never on how they are arranged: file order,
 * declaration order and file names change spans at most. Fingerprints change exactly when a
 * step's outputs would: software identity under the version policy, command, config.
 */

/** The IR as its canonical JSON reads back. */
type IrJsonDocument = typeof IrWorkspace.Encoded
type IrStepJson = IrJsonDocument["pipelines"][number]["steps"][number]

const compileOk = (inputs: ReadonlyArray<SourceInput>): IrJsonDocument => {
  const result = compileSources(inputs)
  const errors = result.diagnostics.map((d) => `${d.code} ${d.span.file}:${d.span.startLine}:${d.span.startColumn} ${d.message}`)
  expect(errors).toEqual([])
  return JSON.parse(canonicalJson(result.ir)) as IrJsonDocument
}

const irText = (inputs: ReadonlyArray<SourceInput>): string => canonicalJson(compileSources(inputs).ir, 2)

describe("file order does not matter", () => {
  for (const name of validWorkspaceNames()) {
    it(`${name}: every permutation of the files gives byte-identical IR`, () => {
      const inputs = loadWorkspace(name)
      expect(inputs.length).toBeGreaterThanOrEqual(2)
      const reference = irText(inputs)
      expect(compileSources(inputs).ir).toBeDefined()
      const orders = inputs.length <= 5 ? permutations(inputs) : Array.from({ length: 60 }, (_, i) => new Rng(i + 1).shuffle(inputs))
      for (const order of orders) expect(irText(order)).toBe(reference)
    })
  }

  it("two workspaces compiled together, in 50 random file orders, give byte-identical IR", () => {
    // Two workspaces whose names do not clash: seven files from two folders.
    const inputs = [...loadWorkspace("spec-example"), ...loadWorkspace("comments-and-layout")]
    const reference = irText(inputs)
    expect(compileSources(inputs).ir).toBeDefined()
    const rng = new Rng(20260601)
    for (let i = 0; i < 50; i++) expect(irText(rng.shuffle(inputs))).toBe(reference)
  })
})

describe("diagnostics do not depend on file order either", () => {
  it("duplicates across files: the same one is reported, whatever the order", () => {
    const inputs: Array<SourceInput> = [
      { path: "ws/b.ccat", text: 'location ramses {\n  site "b"\n}\n' },
      {
        path: "ws/a.ccat",
        text: 'location ramses {\n  site "a"\n}\nsoftware tool {\n  image "i:{version}"\n  versions "1.0.0"\n  command "c"\n}\n'
      },
      {
        path: "ws/c.ccat",
        text: "grouping g {\n  from nowhere\n}\npipeline p {\n  data g\n  location ramses\n  trigger manual\n  step s {\n    run tool ^2.0\n    group_by all\n  }\n}\n"
      }
    ]
    const outcome = (files: ReadonlyArray<SourceInput>): string => JSON.stringify(compileSources(files).diagnostics)
    const reference = outcome(inputs)
    const codes = compileSources(inputs).diagnostics.map((d) => `${d.code} ${d.span.file}`)
    expect(codes).toContain("E010 ws/b.ccat")
    for (const order of permutations(inputs)) expect(outcome(order)).toBe(reference)
  })
})

describe("the pipelines/ folder, if present", () => {
  const inputs = loadCcatFiles(join(repoRoot, "pipelines"))
  it.skipIf(inputs.length < 2)("30 random file orders give the same IR, or the same diagnostics", () => {
    const outcome = (files: ReadonlyArray<SourceInput>): string => {
      const r = compileSources(files)
      return r.ir !== undefined ? canonicalJson(r.ir, 2) : JSON.stringify(r.diagnostics)
    }
    const reference = outcome(inputs)
    const rng = new Rng(7)
    for (let i = 0; i < 30; i++) expect(outcome(rng.shuffle(inputs))).toBe(reference)
  })
})

/** The spec example as one file, and its top-level declarations as separate texts. */
const specAsOneFile = (): { text: string; declarations: Array<string> } => {
  const text = loadWorkspace("spec-example")
    .map((i) => i.text)
    .join("\n")
  const result = compileSources([{ path: "spec.ccat", text }])
  expect(result.diagnostics).toEqual([])
  const declarations = result.files[0]!.declarations.map((d) => text.slice(d.span.start, d.span.end))
  return { text, declarations }
}

describe("declaration order within a file does not matter", () => {
  it("the spec example splits into its 8 top-level declarations", () => {
    const { declarations } = specAsOneFile()
    expect(declarations.map((d) => /^\w+\s+\w+/.exec(d)![0])).toEqual([
      "location ramses",
      "software chai_calibration",
      "software chai_baseline",
      "software chai_gridding",
      "grouping chai_archived",
      "grouping ngc253_co43",
      "pipeline chai_standing",
      "pipeline ngc253_adhoc"
    ])
  })

  it("40 shuffles of the declarations give the same IR except spans, and the same hashes and fingerprints", () => {
    const { declarations } = specAsOneFile()
    const reference = compileOk([{ path: "spec.ccat", text: declarations.join("\n\n") }])
    const referenceHashes = collectHashes(reference)
    expect(Object.keys(referenceHashes).length).toBeGreaterThan(10)
    const rng = new Rng(42)
    let changedSpans = 0
    for (let i = 0; i < 40; i++) {
      const shuffled = rng.shuffle(declarations)
      const ir = compileOk([{ path: "spec.ccat", text: shuffled.join("\n\n") }])
      expect(stripSpans(ir)).toEqual(stripSpans(reference))
      expect(collectHashes(ir)).toEqual(referenceHashes)
      if (canonicalJson(ir) !== canonicalJson(reference)) changedSpans++
    }
    // The shuffles did move things around: the spans are what differs.
    expect(changedSpans).toBeGreaterThan(0)
  })

  it("steps shuffled within a pipeline give the same IR except spans", () => {
    const inputs = loadWorkspace("all-features")
    const reference = compileOk(inputs)
    const file = inputs.find((i) => i.path.endsWith("pipelines.ccat"))!
    const result = compileSources([file, ...inputs.filter((i) => i !== file)])
    const nightly = result.files.find((f) => f.path === file.path)!.declarations.find((d) => d.name?.text === "nightly")!
    const stepSpans = nightly.properties.filter((p) => p.kind === "step").map((p) => p.span)
    expect(stepSpans.length).toBe(4)
    const head = file.text.slice(0, stepSpans[0]!.start)
    const tail = file.text.slice(stepSpans[stepSpans.length - 1]!.end)
    const steps = stepSpans.map((s) => file.text.slice(s.start, s.end))
    for (const order of permutations(steps)) {
      const text = head + order.join("\n\n  ") + tail
      const ir = compileOk([{ path: file.path, text }, ...inputs.filter((i) => i !== file)])
      expect(stripSpans(ir)).toEqual(stripSpans(reference))
      expect(collectHashes(ir)).toEqual(collectHashes(reference))
    }
  })
})

describe("file names are not content", () => {
  it("renaming files changes spans but no hash or fingerprint", () => {
    const inputs = loadWorkspace("spec-example")
    const original = compileOk(inputs)
    // New names that also reverse the sort order of the files.
    const renamed = inputs.map((input, i) => ({ path: `elsewhere/${String.fromCharCode(122 - i)}-${i}.ccat`, text: input.text }))
    const moved = compileOk(renamed)
    expect(collectHashes(moved)).toEqual(collectHashes(original))
    expect(stripSpans(moved)).toEqual(stripSpans(original))
    expect(canonicalJson(moved)).not.toBe(canonicalJson(original))
    expect(moved.pipelines[0]!.span.file).toBe("elsewhere/x-2.ccat")
  })
})

// ---- fingerprints ----

type Edit = readonly [file: string, from: string, to: string]

/** The spec example with textual edits; each `from` must occur exactly once in its file. */
const edited = (...edits: ReadonlyArray<Edit>): Array<SourceInput> =>
  loadWorkspace("spec-example").map((input) =>
    edits.reduce((current, [file, from, to]) => {
      if (!current.path.endsWith(`/${file}`)) return current
      const count = current.text.split(from).length - 1
      if (count !== 1) throw new Error(`expected exactly one ${JSON.stringify(from)} in ${file}, found ${count}`)
      return { path: current.path, text: current.text.replace(from, to) }
    }, input)
  )

const step = (ir: IrJsonDocument, pipeline: string, name: string): IrStepJson =>
  ir.pipelines.find((p) => p.name === pipeline)!.steps.find((s) => s.name === name)!

describe("fingerprints", () => {
  const base = compileOk(loadWorkspace("spec-example"))
  const calibrate = step(base, "chai_standing", "calibrate")

  // Each edit and whether calibrate's fingerprint survives it; where it does, the step's hash
  // still changes.
  const cases: Array<{
    readonly what: string
    readonly edits: ReadonlyArray<Edit>
    readonly fingerprint: "kept" | "changed"
    readonly version?: string
  }> = [
    {
      what: "resources",
      fingerprint: "kept",
      edits: [
        ["c.ccat", "resources { cpus 4  memory 16GiB  time 2h }", 'resources { cpus 8  memory 32GiB  time 4h  partition "fast"  gpus 1 }']
      ]
    },
    { what: "resources removed", fingerprint: "kept", edits: [["c.ccat", "resources { cpus 4  memory 16GiB  time 2h }", ""]] },
    {
      what: "cooldown",
      fingerprint: "kept",
      edits: [["c.ccat", "cooldown 60s\n    config { calibration_mode", "cooldown 5m\n    config { calibration_mode"]]
    },
    { what: "retries", fingerprint: "kept", edits: [["c.ccat", "retries 3", "retries 7"]] },
    { what: "retries removed", fingerprint: "kept", edits: [["c.ccat", "retries 3", ""]] },
    {
      what: "a config value",
      fingerprint: "changed",
      edits: [["c.ccat", 'config { calibration_mode = "hot_cold" }', 'config { calibration_mode = "sky" }']]
    },
    {
      what: "a config key added",
      fingerprint: "changed",
      edits: [["c.ccat", 'config { calibration_mode = "hot_cold" }', 'config { calibration_mode = "hot_cold"  extra = 1 }']]
    },
    {
      what: "the command",
      fingerprint: "changed",
      edits: [
        ["a.ccat", 'command "calibrate --mode {config.calibration_mode}"', 'command "calibrate --fast --mode {config.calibration_mode}"']
      ]
    },
    {
      what: "the image",
      fingerprint: "changed",
      edits: [["a.ccat", '"docker://ghcr.io/ccatobs/chai-calibration:{version}"', '"docker://ghcr.io/other/chai-calibration:{version}"']]
    },
    {
      what: "the version, beyond the compatible range",
      fingerprint: "changed",
      // A new major is only picked by a range that allows it.
      edits: [
        ["a.ccat", 'versions "2.3.1", "2.4.0"', 'versions "2.3.1", "2.4.0", "3.0.0"'],
        ["c.ccat", "run chai_calibration ^2.3", "run chai_calibration >=2.3"]
      ],
      version: "3.0.0"
    }
  ]
  for (const { what, edits, fingerprint, version } of cases) {
    it(
      fingerprint === "kept"
        ? `changing ${what} keeps the fingerprint (and changes the step hash)`
        : `changing ${what} changes the fingerprint`,
      () => {
        const s = step(compileOk(edited(...edits)), "chai_standing", "calibrate")
        if (version !== undefined) expect(s["software"]["version"]).toBe(version)
        if (fingerprint === "kept") {
          expect(s["fingerprint"]).toBe(calibrate["fingerprint"])
          expect(s["hash"]).not.toBe(calibrate["hash"])
        } else {
          expect(s["fingerprint"]).not.toBe(calibrate["fingerprint"])
        }
      }
    )
  }

  it("the fingerprint does not depend on the resolved version text under `compatible` (2.3.1 → 2.4.0 with ^2.3)", () => {
    const old = compileOk(edited(["a.ccat", 'versions "2.3.1", "2.4.0"', 'versions "2.3.1"']))
    const upgraded = compileOk(loadWorkspace("spec-example"))
    const before = step(old, "chai_standing", "calibrate")
    const after = step(upgraded, "chai_standing", "calibrate")
    expect(before["software"]["version"]).toBe("2.3.1")
    expect(after["software"]["version"]).toBe("2.4.0")
    expect(before["software"]["range"]).toBe("^2.3")
    expect(after["fingerprint"]).toBe(before["fingerprint"])
    // The step itself did change: its resolved version and image are in its hash.
    expect(after["hash"]).not.toBe(before["hash"])
  })

  it("under `exact` the same 2.3.1 → 2.4.0 upgrade changes the fingerprint", () => {
    const exact = (sources: Array<SourceInput>): Array<SourceInput> =>
      sources.map((s) =>
        s.path.endsWith("/c.ccat") ? { ...s, text: s.text.replace("    retries 3\n", "    retries 3\n    version_policy exact\n") } : s
      )
    const old = compileOk(exact(edited(["a.ccat", 'versions "2.3.1", "2.4.0"', 'versions "2.3.1"'])))
    const upgraded = compileOk(exact(loadWorkspace("spec-example")))
    const before = step(old, "chai_standing", "calibrate")
    const after = step(upgraded, "chai_standing", "calibrate")
    expect([before["versionPolicy"], after["versionPolicy"]]).toEqual(["exact", "exact"])
    expect([before["software"]["version"], after["software"]["version"]]).toEqual(["2.3.1", "2.4.0"])
    expect(after["fingerprint"]).not.toBe(before["fingerprint"])
  })

  it("steps that are edited keep the fingerprints of the other steps", () => {
    const ir = compileOk(edited(["c.ccat", 'config { calibration_mode = "hot_cold" }', 'config { calibration_mode = "sky" }']))
    for (const name of ["baseline", "map"])
      expect(step(ir, "chai_standing", name)["fingerprint"]).toBe(step(base, "chai_standing", name)["fingerprint"])
    expect(step(ir, "ngc253_adhoc", "map")["fingerprint"]).toBe(step(base, "ngc253_adhoc", "map")["fingerprint"])
  })
})

describe("the parse cache of the language server", () => {
  it("gives the same diagnostics and IR as a fresh compilation, reusing unchanged files", () => {
    const dir = "test/fixtures/valid/spec-example"
    const inputs = readdirSync(dir).map((f) => ({ path: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, "utf8") }))
    const cache = new Map<string, CachedParse>()
    const first = compileSources(inputs, { parseCache: cache })
    expect(cache.size).toBe(inputs.length)
    const kept = cache.get(inputs[0]!.path)
    // Break the second file, then mend it: each step must equal a compilation without cache.
    const broken = inputs.map((x, i) => (i === 1 ? { ...x, text: x.text.replace("{", "{ ]") } : x))
    const withCache = compileSources(broken, { parseCache: cache })
    const fresh = compileSources(broken)
    expect(withCache.diagnostics).toEqual(fresh.diagnostics)
    expect(cache.get(inputs[0]!.path)).toBe(kept)
    const mended = compileSources(inputs, { parseCache: cache })
    expect(canonicalJson(mended.ir)).toBe(canonicalJson(first.ir))
    expect(compileSources(inputs.slice(1), { parseCache: cache }).diagnostics).toEqual(compileSources(inputs.slice(1)).diagnostics)
    expect(cache.has(inputs[0]!.path)).toBe(false)
  })
})
