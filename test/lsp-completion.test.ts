import { describe, expect, it } from "vitest"
import { compileSources, type CompileResult } from "../src/compiler/compile.ts"
import { completionContext } from "../src/lsp/completion-context.ts"
import { complete, positionAt } from "../src/lsp/completion.ts"
import { cases, cursor, pipelineWith, shared } from "./support/completion-cases.ts"

/*
 * Completion, as a table of cursor positions: each case is source text with `|` marking the
 * cursor, the slot it must be classified as (and a few of its fields), labels that must be
 * offered and labels that must not. Many cases are files that do not parse.
 */

const workspace: CompileResult = compileSources(shared)

describe("completion slots and candidates", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { text, offset } = cursor(c.src)
    const slot = completionContext(text, offset)
    expect(slot).toMatchObject(c.slot)
    const items = complete({
      text,
      offset,
      workspace,
      uri: "file:///edit.ccat",
      ...(c.live === true
        ? { liveValues: (table: string, column: string) => (table === "Source" && column === "name" ? ["ρ Oph", "NGC253"] : []) }
        : {})
    })
    const labels = items.map((i) => i.label)
    for (const l of c.has ?? []) expect(labels, `${c.name}: expected ${l} in ${labels.join(", ")}`).toContain(l)
    for (const l of c.not ?? []) expect(labels, `${c.name}: did not expect ${l}`).not.toContain(l)
    if (c.has !== undefined && c.has.length === 0) expect(labels).toEqual([])
  })

  it("covers every slot kind", () => {
    const kinds = new Set(cases.map((c) => c.slot.kind))
    for (const k of [
      "none",
      "topLevelKeyword",
      "propertyKeyword",
      "reference",
      "version",
      "table",
      "column",
      "jsonPath",
      "enumValue",
      "dimension",
      "triggerMode",
      "versionPolicy",
      "containerRuntime",
      "backendKind",
      "resourceKey",
      "backendOption",
      "configKey",
      "outputKind",
      "outputMin",
      "retryOn",
      "failureReason",
      "growableResource"
    ] as const)
      expect(kinds, k).toContain(k)
  })

  it("gives retries a count snippet, `on` snippets with the reasons, and reasons and resources their docs", () => {
    const property = complete({ ...cursor(pipelineWith("retr|")), workspace }).find((i) => i.label === "retries")!
    expect(property.insertText).toBe("retries ${1:3}")
    const header = complete({ ...cursor(pipelineWith("retries 3 |")), workspace })
    expect(header.map((i) => i.insertText)).toEqual([
      "on ${1|EXIT_CODE,TIMEOUT,OOM,NODE_FAIL,LOST,CANCELLED_BY_BACKEND,STAGING_FAILED,SUBMIT_REJECTED,COLLECT_FAILED,INPUT_MODIFIED,NO_OUTPUTS|}"
    ])
    const adjustment = complete({ ...cursor(pipelineWith("retries 3 on TIMEOUT, OOM { | }")), workspace })
    expect(adjustment.map((i) => i.insertText)).toEqual(["on ${1|TIMEOUT,OOM|} ${2|cpus,memory,time|} x${3:2}"])
    const reasons = complete({ ...cursor(pipelineWith("retries 3 on |")), workspace })
    expect(JSON.stringify(reasons.find((i) => i.label === "OOM")!.documentation)).toContain("out of memory")
    const resources = complete({ ...cursor(pipelineWith("retries 3 { on OOM | }")), workspace })
    expect(JSON.stringify(resources.find((i) => i.label === "memory")!.documentation)).toContain("whole MiB")
  })

  it("gives output kinds their folders and docs, and `min` a snippet", () => {
    const kinds = complete({ ...cursor(pipelineWith("outputs { | }")), workspace })
    expect(kinds.find((i) => i.label === "qa")!.detail).toBe("output kind: qa/")
    expect(JSON.stringify(kinds.find((i) => i.label === "science")!.documentation)).toContain("INTERMEDIATE")
    const min = complete({ ...cursor(pipelineWith("outputs { science | }")), workspace })
    expect(min.map((i) => i.insertText)).toEqual(["min ${1:1}"])
    const property = complete({ ...cursor(pipelineWith("out|")), workspace }).find((i) => i.label === "outputs")!
    expect(property.insertText).toBe('outputs {\n\t${1|science,qa,plots,statistics,logs|} "${2:*.fits}" min ${3:1}\n}')
  })

  it("orders versions newest first and replaces a typed range operator", () => {
    const { text, offset } = cursor(pipelineWith("run reducer ^|"))
    const items = complete({ text, offset, workspace })
    const sorted = [...items].sort((a, b) => (a.sortText! < b.sortText! ? -1 : 1)).map((i) => i.label)
    expect(sorted.slice(0, 3)).toEqual(["^2.3", "^2.0", "^1.1"])
    expect(sorted.indexOf("=2.3.0")).toBeLessThan(sorted.indexOf("=2.0.1"))
    const edit = items[0]!.textEdit as { range: { start: { line: number; character: number }; end: { character: number } } }
    const caret = positionAt(text, offset - 1)
    expect(edit.range.start).toEqual(caret)
    expect(edit.range.end.character).toBe(caret.character + 1)
  })

  it("gives keywords docs and snippets, and columns their types", () => {
    const step = complete({ ...cursor(pipelineWith("|")), workspace })
    const run = step.find((i) => i.label === "run")!
    expect(run.insertText).toContain("run ${1:")
    expect(JSON.stringify(run.documentation)).toContain("semver range")
    const columns = complete({ ...cursor("grouping g { where Source.| }"), workspace })
    expect(columns.find((i) => i.label === "kind")!.detail).toContain("enum")
    expect(columns.find((i) => i.label === "ra_deg")!.detail).toBe("decimal")
  })

  it("replaces the typed word with a range in UTF-16 positions on a non-ASCII line", () => {
    const { text, offset } = cursor('grouping g {\n  description "ρ Oph ☀"  where Sou|\n}')
    const items = complete({ text, offset, workspace })
    const source = items.find((i) => i.label === "Source")!
    const edit = source.textEdit as { range: { start: { line: number; character: number }; end: { line: number; character: number } } }
    const line = text.split("\n")[1]!
    expect(edit.range).toEqual({ start: { line: 1, character: line.indexOf("Sou") }, end: { line: 1, character: line.indexOf("Sou") + 3 } })
  })

  it("works without a workspace and never throws on garbage", () => {
    const garbage = 'pipeline { step } } ] ) "x where . == in ( , step a { config { = { [ ] } resources { 4 '
    for (let i = 0; i <= garbage.length; i++) {
      expect(() => complete({ text: garbage, offset: i, workspace: undefined })).not.toThrow()
      expect(() => complete({ text: garbage, offset: i, workspace })).not.toThrow()
    }
  })

  it("measures completion on a 5k-line file", () => {
    const lines: Array<string> = []
    let n = 0
    while (lines.length < 5000) {
      lines.push(
        `grouping g${n} {`,
        `  description "group ${n}, ρ Oph"`,
        `  where Source.name == "s${n}" and RawDataPackage.state == "ARCHIVED"`,
        "}",
        `pipeline p${n} {`,
        `  data g${n}`,
        "  location hpc",
        "  trigger continuous",
        `  step a${n} {`,
        "    run reducer ^1.0",
        "    group_by obs_unit",
        '    config { mode = "x"  params = { window = 3 } }',
        "    resources { cpus 4  memory 16GiB }",
        "  }",
        `  step b${n} {`,
        `    after a${n}`,
        "    run combiner ^0.3",
        "    group_by source",
        "  }",
        "}",
        ""
      )
      n++
    }
    const base = lines.join("\n")
    const marks = ["after |", "where Source.|", "run reducer |", "config { | }", "group_by |"]
    const probes = marks.map((m, i) => {
      const at = Math.floor(((i + 1) / (marks.length + 1)) * base.length)
      const lineStart = base.indexOf("\npipeline", at) + 1
      const insert = `pipeline probe${i} {\n  step y { run reducer ^1.0 }\n  step z {\n    run reducer ^1.0\n    ${m}\n  }\n}\n`
      const { text, offset } = cursor(base.slice(0, lineStart) + insert + base.slice(lineStart))
      return { text, offset }
    })
    const times: Array<number> = []
    for (let i = 0; i < 200; i++) {
      const p = probes[i % probes.length]!
      const t0 = performance.now()
      const items = complete({ text: p.text, offset: p.offset, workspace })
      times.push(performance.now() - t0)
      if (i < probes.length) expect(items.length).toBeGreaterThan(0)
    }
    times.sort((a, b) => a - b)
    const pct = (q: number): string => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2)
    console.log(
      `completion on a ${probes[0]!.text.split("\n").length}-line file (${(probes[0]!.text.length / 1024).toFixed(0)} KiB): p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms over ${times.length} calls`
    )
  })
})
