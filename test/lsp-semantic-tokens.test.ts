import { describe, expect, it } from "vitest"
import { semanticTokens, semanticTokensLegend } from "../src/lsp/semantic-tokens.ts"

/*
 * Semantic tokens, decoded back from LSP's relative encoding into (line, char, length, type)
 * and compared with the text they cover.
 */

interface Decoded {
  readonly line: number
  readonly char: number
  readonly length: number
  readonly type: string
  readonly modifiers: ReadonlyArray<string>
  readonly text: string
}

const decode = (text: string, data: ReadonlyArray<number>): Array<Decoded> => {
  const lines = text.split(/\r\n|\r|\n/)
  const out: Array<Decoded> = []
  let line = 0
  let char = 0
  for (let i = 0; i < data.length; i += 5) {
    const [dLine, dChar, length, type, mods] = data.slice(i, i + 5) as [number, number, number, number, number]
    line += dLine
    char = dLine === 0 ? char + dChar : dChar
    out.push({
      line,
      char,
      length,
      type: semanticTokensLegend.tokenTypes[type]!,
      modifiers: semanticTokensLegend.tokenModifiers.filter((_, b) => (mods & (1 << b)) !== 0),
      text: lines[line]!.slice(char, char + length)
    })
  }
  return out
}

const sample = `/* Pipelines of
   the ρ Oph survey */
grouping rho {
  description "ρ Oph ☀ core"  // a comment
  where Source.name == "ρ Oph" and RawDataPackage.metadata.obs.band in (1, 2)
}

pipeline survey {
  data rho
  location hpc
  trigger continuous
  step reduce {
    run reducer ^1.2
    group_by source, night
    config { mode = "deep"  timeout = 3  params = { window = [1, 2] } }
    resources { cpus 4  memory 16GiB }
  }
  step combine { after reduce  version_policy exact }
}
`

describe("semantic tokens", () => {
  const tokens = decode(sample, semanticTokens(sample))
  const find = (line: number, text: string): Decoded | undefined => tokens.find((t) => t.line === line && t.text === text)

  it("splits a multi-line block comment per line", () => {
    expect(tokens.filter((t) => t.type === "comment" && t.line <= 1)).toEqual([
      { line: 0, char: 0, length: "/* Pipelines of".length, type: "comment", modifiers: [], text: "/* Pipelines of" },
      { line: 1, char: 0, length: "   the ρ Oph survey */".length, type: "comment", modifiers: [], text: "   the ρ Oph survey */" }
    ])
  })

  it("counts UTF-16 code units on non-ASCII lines", () => {
    // "☀" and "ρ" are one UTF-16 unit each; the comment after the string starts where the editor sees it.
    const line3 = sample.split("\n")[3]!
    expect(find(3, '"ρ Oph ☀ core"')).toMatchObject({ char: line3.indexOf('"'), type: "string" })
    expect(find(3, "// a comment")).toMatchObject({ char: line3.indexOf("//"), type: "comment" })
    const line4 = sample.split("\n")[4]!
    expect(find(4, '"ρ Oph"')).toMatchObject({ char: line4.indexOf('"ρ'), type: "string" })
    expect(find(4, "and")).toMatchObject({ char: line4.indexOf(" and ") + 1, type: "keyword" })
  })

  it("classifies keywords, declarations, references, tables, columns and values", () => {
    const expectations: Array<[number, string, string, ReadonlyArray<string>?]> = [
      [2, "grouping", "keyword"],
      [2, "rho", "type", ["declaration"]],
      [4, "where", "keyword"],
      [4, "Source", "class"],
      [4, "name", "property"],
      [4, "==", "operator"],
      [4, "RawDataPackage", "class"],
      [4, "metadata", "property"],
      [4, "band", "property"],
      [4, "in", "keyword"],
      [4, "1", "number"],
      [7, "survey", "type", ["declaration"]],
      [8, "rho", "type", []],
      [9, "location", "keyword"],
      [9, "hpc", "type", []],
      [10, "continuous", "keyword"],
      [11, "reduce", "function", ["declaration"]],
      [12, "reducer", "type", []],
      [12, "^", "operator"],
      [12, "1.2", "number"],
      [13, "source", "enumMember"],
      [13, "night", "enumMember"],
      [14, "config", "keyword"],
      [14, "mode", "property"],
      [14, "timeout", "property"],
      [14, "window", "property"],
      [14, '"deep"', "string"],
      [15, "cpus", "property"],
      [15, "memory", "property"],
      [15, "16GiB", "number"],
      [17, "combine", "function", ["declaration"]],
      [17, "after", "keyword"],
      [17, "reduce", "function", []],
      [17, "exact", "enumMember"]
    ]
    for (const [line, text, type, modifiers] of expectations) {
      const t = find(line, text)
      expect(t, `${text} on line ${line}`).toBeDefined()
      expect(t!.type, `${text} on line ${line}`).toBe(type)
      if (modifiers !== undefined) expect(t!.modifiers, `${text} on line ${line}`).toEqual(modifiers)
    }
  })

  it("colours an outputs block like other blocks: a keyword, kinds as constants, `min`, patterns and counts", () => {
    const text = `pipeline survey {\n  step reduce {\n    run reducer ^1.2\n    outputs {\n      science "maps/*.fits" min 2  plots min 0\n      scince\n    }\n    retries 1\n  }\n}\n`
    const decoded = decode(text, semanticTokens(text))
    const at = (line: number, what: string): string | undefined => decoded.find((t) => t.line === line && t.text === what)?.type
    expect(at(3, "outputs")).toBe("keyword")
    expect(at(4, "science")).toBe("enumMember")
    expect(at(4, '"maps/*.fits"')).toBe("string")
    expect(at(4, "min")).toBe("keyword")
    expect(at(4, "2")).toBe("number")
    expect(at(4, "plots")).toBe("enumMember")
    // A misspelled kind is still a kind's place: the checker says it is unknown (E045).
    expect(at(5, "scince")).toBe("enumMember")
    // After the block, the step's properties are keywords again.
    expect(at(7, "retries")).toBe("keyword")
  })

  it("colours retries: `on` a keyword, reasons as constants, the resource that grows a property, its factor a number", () => {
    const text = `pipeline survey {\n  step reduce {\n    run reducer ^1.2\n    retries 3 on TIMEOUT, OOM {\n      on OOM memory x2\n      on TIMEOUT time x1.5\n    }\n    timeout 2h\n  }\n  step x2 { after reduce }\n}\n`
    const decoded = decode(text, semanticTokens(text))
    const at = (line: number, what: string, n = 0): string | undefined => decoded.filter((t) => t.line === line && t.text === what)[n]?.type
    expect(at(3, "retries")).toBe("keyword")
    expect(at(3, "3")).toBe("number")
    expect(at(3, "on")).toBe("keyword")
    expect(at(3, "TIMEOUT")).toBe("enumMember")
    expect(at(3, "OOM")).toBe("enumMember")
    expect(at(4, "on")).toBe("keyword")
    expect(at(4, "OOM")).toBe("enumMember")
    expect(at(4, "memory")).toBe("property")
    expect(at(4, "x2")).toBe("number")
    expect(at(5, "time")).toBe("property")
    expect(at(5, "x1.5")).toBe("number")
    // After the braces, the step's properties are keywords again; a step named like a factor is a step.
    expect(at(7, "timeout")).toBe("keyword")
    expect(at(9, "x2")).toBe("function")
  })

  it("is sorted, non-overlapping and within lines, for any text", () => {
    const texts = [sample, sample.replace(/\n/g, "\r\n"), 'pipeline { step } } ] "x\n/* open', sample.slice(0, 200), ""]
    for (const text of texts) {
      const decoded = decode(text, semanticTokens(text))
      const lines = text.split(/\r\n|\r|\n/)
      for (let i = 0; i < decoded.length; i++) {
        const t = decoded[i]!
        expect(t.length).toBeGreaterThan(0)
        expect(t.char + t.length).toBeLessThanOrEqual(lines[t.line]!.length)
        const p = decoded[i - 1]
        if (p !== undefined) expect(p.line < t.line || p.char + p.length <= t.char).toBe(true)
      }
    }
  })
})

describe("semantic tokens on a 5k-line file", () => {
  it("measures", () => {
    const block = `grouping g {\n  description "ρ Oph"\n  where Source.name == "s" and RawDataPackage.state == "ARCHIVED"\n}\npipeline p {\n  data g\n  location hpc\n  trigger continuous\n  step a {\n    run reducer ^1.0\n    group_by obs_unit\n    config { mode = "x" }\n  }\n}\n`
    const text = block.repeat(Math.ceil(5000 / 14))
    const times: Array<number> = []
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now()
      expect(semanticTokens(text).length).toBeGreaterThan(0)
      times.push(performance.now() - t0)
    }
    times.sort((a, b) => a - b)
    console.log(
      `semantic tokens on a ${text.split("\n").length}-line file: p50 ${times[15]!.toFixed(2)} ms, p95 ${times[28]!.toFixed(2)} ms over 30 calls`
    )
  })
})
