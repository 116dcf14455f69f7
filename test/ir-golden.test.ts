import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { canonicalJson } from "../src/compiler/canonical-json.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { decodeIrWorkspace } from "../src/compiler/ir.ts"
import { goldenDir, loadWorkspace, validWorkspaceNames } from "./support/workspace.ts"

/*
 * Golden IR of every valid workspace under test/fixtures/valid/. Regenerate with
 *   UPDATE_GOLDEN=1 npx vitest run test/ir-golden.test.ts
 * and review the diff: a golden is only as good as the reading it got.
 */

const update = process.env["UPDATE_GOLDEN"] === "1"
const names = validWorkspaceNames()

describe("IR goldens of the valid workspaces", () => {
  it("finds the expected workspaces", () => {
    expect(names).toEqual(expect.arrayContaining(["all-features", "comments-and-layout", "inheritance", "spec-example"]))
  })

  for (const name of names) {
    describe(name, () => {
      const inputs = loadWorkspace(name)
      const result = compileSources(inputs)

      it("has several files, with repository-relative paths", () => {
        expect(inputs.length).toBeGreaterThanOrEqual(2)
        for (const input of inputs) expect(input.path).toMatch(new RegExp(`^test/fixtures/valid/${name}/[^/]+\\.ccat$`))
      })

      it("compiles with no errors and no warnings", () => {
        expect(result.diagnostics.map((d) => `${d.code} ${d.span.file}:${d.span.startLine}:${d.span.startColumn} ${d.message}`)).toEqual([])
        expect(result.ir).toBeDefined()
      })

      it("produces an IR that decodes with the IR schema", () => {
        const decoded = decodeIrWorkspace(JSON.parse(canonicalJson(result.ir)))
        expect(decoded._tag).toBe("Right")
      })

      it("matches its golden", () => {
        const actual = canonicalJson(result.ir, 2) + "\n"
        const path = join(goldenDir, `${name}.ir.json`)
        if (update) {
          mkdirSync(goldenDir, { recursive: true })
          writeFileSync(path, actual)
          return
        }
        expect(existsSync(path), `missing golden ${path}; run with UPDATE_GOLDEN=1`).toBe(true)
        expect(actual).toBe(readFileSync(path, "utf8"))
      })
    })
  }
})

/*
 * What reading the goldens established, kept as assertions so a regenerated golden cannot
 * silently lose it.
 */
describe("IR invariants of the valid workspaces", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any IR node as parsed JSON, walked generically (spans anywhere) and read by path
  type Json = Record<string, any>
  const irOf = (name: string): Json => JSON.parse(canonicalJson(compileSources(loadWorkspace(name)).ir))
  const spanned = (ir: Json): Array<{ path: string; node: Json }> => {
    const out: Array<{ path: string; node: Json }> = []
    const walk = (v: unknown, path: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`))
      else if (v !== null && typeof v === "object") {
        if ("span" in v) out.push({ path, node: v as Json })
        for (const [k, x] of Object.entries(v)) if (k !== "span") walk(x, `${path}.${k}`)
      }
    }
    walk(ir, "")
    return out
  }

  for (const name of names) {
    it(`${name}: every span lies in its file, with lines and columns matching the offsets`, () => {
      const texts = new Map(loadWorkspace(name).map((i) => [i.path, i.text]))
      const nodes = spanned(irOf(name))
      expect(nodes.length).toBeGreaterThan(0)
      for (const { path, node } of nodes) {
        const s = node["span"]
        const text = texts.get(s.file)
        expect(text, `${path}: span file ${s.file}`).toBeDefined()
        expect(0 <= s.start && s.start < s.end && s.end <= text!.length, `${path}: offsets`).toBe(true)
        const before = text!.slice(0, s.start).split("\n")
        expect([before.length, before[before.length - 1]!.length + 1], `${path}: start line/column`).toEqual([s.startLine, s.startColumn])
        const upToEnd = text!.slice(0, s.end).split("\n")
        expect([upToEnd.length, upToEnd[upToEnd.length - 1]!.length + 1], `${path}: end line/column`).toEqual([s.endLine, s.endColumn])
      }
    })

    it(`${name}: entity spans cover their declarations; hashes and fingerprints are sha-256 hex`, () => {
      const ir = irOf(name)
      const texts = new Map(loadWorkspace(name).map((i) => [i.path, i.text]))
      const at = (s: Json): string => texts.get(s["file"])!.slice(s["start"], s["end"])
      for (const [kind, list] of [
        ["location", ir["locations"]],
        ["software", ir["software"]],
        ["grouping", ir["groupings"]],
        ["pipeline", ir["pipelines"]]
      ] as const) {
        for (const e of list as Array<Json>) {
          expect(at(e["span"])).toMatch(new RegExp(`^${kind}\\s+(//[^\\n]*\\n\\s*)?${e["name"]}\\b[\\s\\S]*}$`))
          expect(e["hash"]).toMatch(/^[0-9a-f]{64}$/)
        }
      }
      for (const p of ir["pipelines"] as Array<Json>) {
        for (const s of p["steps"] as Array<Json>) {
          expect(at(s["span"])).toMatch(new RegExp(`^step\\s+${s["name"]}\\b[\\s\\S]*}$`))
          expect(s["hash"]).toMatch(/^[0-9a-f]{64}$/)
          expect(s["fingerprint"]).toMatch(/^[0-9a-f]{64}$/)
        }
      }
      expect(ir["hash"]).toMatch(/^[0-9a-f]{64}$/)
      expect(ir["irVersion"]).toBe(1)
    })

    it(`${name}: steps come upstream first (ties by name); final defaults to "nothing depends on it"`, () => {
      const ir = irOf(name)
      for (const p of ir["pipelines"] as Array<Json>) {
        const steps = p["steps"] as Array<Json>
        const position = new Map(steps.map((s, i) => [s["name"] as string, i]))
        for (const s of steps) for (const a of s["after"] as Array<string>) expect(position.get(a)!).toBeLessThan(position.get(s["name"])!)
        const dependedOn = new Set(steps.flatMap((s) => s["after"] as Array<string>))
        for (const s of steps) {
          const text = texts(name).get(s["span"]["file"])!.slice(s["span"]["start"], s["span"]["end"])
          const explicit = /\bfinal\s+false\b/.test(text) ? false : /\bfinal\b/.test(text) ? true : undefined
          expect(s["final"], `${p["name"]}.${s["name"]}`).toBe(explicit ?? !dependedOn.has(s["name"]))
        }
      }
    })

    it(`${name}: a grouping's selection is its parent's selection ANDed with its own where`, () => {
      const ir = irOf(name)
      const byName = new Map((ir["groupings"] as Array<Json>).map((g) => [g["name"] as string, g]))
      for (const g of byName.values()) {
        if (g["from"] === null) {
          expect(g["selection"]).toEqual(g["where"])
          continue
        }
        const parent = byName.get(g["from"])!
        expect(parent, `parent of ${g["name"]}`).toBeDefined()
        if (g["where"] === null) expect(g["selection"]).toEqual(parent["selection"])
        else {
          expect(g["selection"]["kind"]).toBe("and")
          expect(g["selection"]["operands"]).toEqual([parent["selection"], g["where"]])
        }
      }
    })
  }

  const texts = (name: string): Map<string, string> => new Map(loadWorkspace(name).map((i) => [i.path, i.text]))

  it("spec-example: versions resolve to the newest the range allows, and the policy picks the fingerprint version", () => {
    const ir = irOf("spec-example")
    const steps = Object.fromEntries(
      (ir["pipelines"] as Array<Json>).flatMap((p) => (p["steps"] as Array<Json>).map((s) => [`${p["name"]}.${s["name"]}`, s["software"]]))
    )
    expect(steps).toEqual({
      "chai_standing.calibrate": {
        name: "chai_calibration",
        range: "^2.3",
        version: "2.4.0",
        image: "docker://ghcr.io/ccatobs/chai-calibration:2.4.0",
        fingerprintVersion: "2"
      },
      "chai_standing.baseline": {
        name: "chai_baseline",
        range: "^1.0",
        version: "1.1.0",
        image: "docker://ghcr.io/ccatobs/chai-baseline:1.1.0",
        fingerprintVersion: "1"
      },
      "chai_standing.map": {
        name: "chai_gridding",
        range: "~0.9",
        version: "0.9.2",
        image: "docker://ghcr.io/ccatobs/chai-gridding:0.9.2",
        fingerprintVersion: "0.9.2"
      },
      "ngc253_adhoc.map": {
        name: "chai_gridding",
        range: "=0.9.2",
        version: "0.9.2",
        image: "docker://ghcr.io/ccatobs/chai-gridding:0.9.2",
        fingerprintVersion: "0.9"
      }
    })
  })

  it("outputs: a step has `outputs` exactly when it declares the block, its rules by kind then pattern", () => {
    for (const name of names) {
      for (const p of irOf(name)["pipelines"] as Array<Json>) {
        for (const s of p["steps"] as Array<Json>) {
          const text = texts(name).get(s["span"]["file"])!.slice(s["span"]["start"], s["span"]["end"])
          expect("outputs" in s, `${name}: ${p["name"]}.${s["name"]}`).toBe(/^\s*outputs\s*\{/m.test(text))
        }
      }
    }
    const steps = Object.fromEntries((irOf("outputs")["pipelines"][0]["steps"] as Array<Json>).map((s) => [s["name"], s["outputs"]]))
    expect(steps).toEqual({
      calibrate: undefined,
      check_only: [{ kind: "science", pattern: null, min: 0 }],
      map: [
        { kind: "science", pattern: "cube.fits", min: 1 },
        { kind: "science", pattern: "maps/**/*.fits", min: 2 },
        { kind: "qa", pattern: "*.json", min: 1 },
        { kind: "plots", pattern: null, min: 0 },
        { kind: "logs", pattern: "**/*.log", min: 0 }
      ]
    })
  })

  it("retries: reasons and adjustments exactly when written, in the IR's order; in the hash, never the fingerprint", () => {
    for (const name of names) {
      for (const p of irOf(name)["pipelines"] as Array<Json>) {
        for (const s of p["steps"] as Array<Json>) {
          const text = texts(name).get(s["span"]["file"])!.slice(s["span"]["start"], s["span"]["end"])
          expect("retryOn" in s, `${name}: ${p["name"]}.${s["name"]}`).toBe(/^\s*retries\s+\d+\s+on\b/m.test(text))
          expect("retryAdjust" in s, `${name}: ${p["name"]}.${s["name"]}`).toBe(/^\s*retries\b[^{\n]*\{\s*on\b/m.test(text))
        }
      }
    }
    const steps = Object.fromEntries(
      (irOf("retries")["pipelines"][0]["steps"] as Array<Json>).map((s) => [s["name"], [s["retries"], s["retryOn"], s["retryAdjust"]]])
    )
    expect(steps).toEqual({
      calibrate: [2, undefined, undefined],
      baseline: [3, ["TIMEOUT", "OOM", "NODE_FAIL"], undefined],
      map: [
        3,
        ["TIMEOUT", "OOM", "LOST"],
        [
          { reason: "TIMEOUT", resource: "time", factor: 1.5 },
          { reason: "OOM", resource: "cpus", factor: 1.5 },
          { reason: "OOM", resource: "memory", factor: 2 }
        ]
      ],
      cube: [5, undefined, [{ reason: "OOM", resource: "memory", factor: 2 }]]
    })
    // `map` and `cube` run the same software with the same (empty) config: the same fingerprint.
    const [map, cube] = ["map", "cube"].map((n) => (irOf("retries")["pipelines"][0]["steps"] as Array<Json>).find((s) => s["name"] === n)!)
    expect(map!["fingerprint"]).toBe(cube!["fingerprint"])
  })

  it("all-features: prereleases are sorted, opt-in, and resolved only when named", () => {
    const ir = irOf("all-features")
    const reducer = (ir["software"] as Array<Json>).find((s) => s["name"] === "reducer")!
    expect(reducer["versions"]).toEqual(["1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0", "2.1.0-beta.2"])
    const step = (p: string, s: string): Json =>
      ((ir["pipelines"] as Array<Json>).find((x) => x["name"] === p)!["steps"] as Array<Json>).find((x) => x["name"] === s)!
    expect(step("nightly", "reduce_a")["software"]["version"]).toBe("1.1.0") // ^1.0 skips 1.2.0-rc.1
    expect(step("nightly", "reduce_a")["software"]["fingerprintVersion"]).toBe("1.1.0") // exact
    expect(step("nightly", "reduce_b")["software"]["version"]).toBe("1.2.0-rc.1")
    expect(step("calibration", "scan")["software"]["version"]).toBe("2.0.0") // >=1.1 skips 2.1.0-beta.2
    expect(step("calibration", "nightly_summary")["software"]["version"]).toBe("0.4.0") // *
    expect((ir["pipelines"] as Array<Json>).find((x) => x["name"] === "nightly")!["steps"].map((s: Json) => s["name"])).toEqual([
      "reduce_a",
      "reduce_b",
      "combine",
      "export"
    ])
    expect(step("nightly", "combine")["after"]).toEqual(["reduce_a", "reduce_b"])
    expect(step("nightly", "reduce_a")["resources"]).toEqual({
      cpus: 16,
      memoryBytes: 64 * 1024 ** 3,
      timeSeconds: 12 * 3600,
      partition: "long",
      gpus: 2
    })
    const weekly = (ir["pipelines"] as Array<Json>).find((x) => x["name"] === "weekly")!
    expect(weekly["trigger"]).toEqual({ mode: "cron", cron: "0 4 * * 0", timezone: "UTC" })
  })
})
