import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { compileSources, type CompileResult } from "../src/compiler/compile.ts"
import type { Diagnostic } from "../src/compiler/diagnostics.ts"
import { formatText } from "../src/compiler/format.ts"
import { ccatLexer } from "../src/compiler/lexer.ts"
import { maxErrorsPerFile, maxFileLength, maxNesting } from "../src/compiler/limits.ts"
import { topologicalOrder } from "../src/compiler/lower.ts"
import type { StepModel } from "../src/compiler/model.ts"
import { repoRoot } from "./support/workspace.ts"

/*
 * The compiler never throws, whatever it is given: each input that once crashed it (issue
 * "hardening", item 3) now gets a diagnostic at its place, and the limits that make that so
 * (src/compiler/limits.ts) are reported where they are crossed. Then the regressions folder,
 * test/fixtures/compiler-crashes/, replayed file by file.
 */

const compile = (text: string, path = "limits.ccat"): CompileResult => compileSources([{ path, text }])
const at = (d: Diagnostic): string =>
  `${d.code} ${d.span.startLine}:${d.span.startColumn}-${d.span.endLine === d.span.startLine ? "" : `${d.span.endLine}:`}${d.span.endColumn}`
const codes = (r: CompileResult): Array<string> => r.diagnostics.map((d) => d.code)
const only = (r: CompileResult, code: string): Array<Diagnostic> => r.diagnostics.filter((d) => d.code === code)

const software = 'software tool { image "docker://example.org/tool:{version}" versions "1.0.0" command "tool" }'
const location = "location here { backend local }"
const grouping = 'grouping archived { where RawDataPackage.state == "ARCHIVED" }'
/** A valid workspace around one step body. */
const withStep = (body: string): string =>
  `${location}\n${software}\n${grouping}\npipeline reduce {\n  data archived location here trigger manual\n  step calibrate { run tool ^1.0 group_by all ${body} }\n}\n`
const stepLine = 6
const stepColumn = (text: string, needle: string): number => text.split("\n")[stepLine - 1]!.indexOf(needle) + 1

describe("1. numbers out of range are diagnostics at the number", () => {
  it("`1e999` in a config is E084 at the number, and the step's other checks carry on", () => {
    const text = withStep("config { scale = 1e999 }")
    const r = compile(text)
    const c = stepColumn(text, "1e999")
    expect(r.diagnostics.map(at)).toEqual([`E084 ${stepLine}:${c}-${c + 5}`])
    expect(r.diagnostics[0]!.message).toBe("number out of range: `1e999` is not a finite number")
  })

  it("`1e999` in a `where` is E084 at the number", () => {
    const r = compile("grouping big { where RawDataPackage.size_bytes > 1e999 }\n")
    expect(r.diagnostics.map(at)).toEqual(["W002 1:10-13", "E084 1:50-55"])
  })

  it("`cooldown 1e999s` is one duration literal, whose number is reported whole (not `1e99` and `9s`)", () => {
    expect(ccatLexer.tokenize("cooldown 1e999s").tokens.map((t) => [t.tokenType.name, t.image])).toEqual([
      ["Kw_cooldown", "cooldown"],
      ["Quantity", "1e999s"]
    ])
    const text = withStep("cooldown 1e999s")
    const c = stepColumn(text, "1e999s")
    expect(compile(text).diagnostics.map(at)).toEqual([`E084 ${stepLine}:${c}-${c + 5}`])
  })
})

describe(`2. nesting deeper than ${maxNesting} levels is E100 where the limit is crossed, never a stack overflow`, () => {
  // Each case: the text, and the offset of the token that opens level maxNesting + 1.
  const deep = {
    "333 parentheses in a `where`": () => {
      const head = "grouping deep { where "
      // The grouping's `{` is level 1, so the 100th `(` opens level 101.
      return {
        text: `${head}${"(".repeat(333)}RawDataPackage.state == "ARCHIVED"${")".repeat(333)} }`,
        crossing: head.length + maxNesting - 1
      }
    },
    "550 config maps": () => {
      const head = `${location}\n${software}\n${grouping}\npipeline reduce {\n  data archived location here trigger manual\n  step calibrate { run tool ^1.0 group_by all config { `
      // pipeline, step and config braces are levels 1–3: the 98th nested map opens level 101.
      return {
        text: `${head}${"a = { ".repeat(550)}b = 1${" }".repeat(550)} }\n  }\n}\n`,
        crossing: head.length + 97 * "a = { ".length + 4
      }
    },
    "860 lists": () => {
      const head = `${location}\n${software}\n${grouping}\npipeline reduce {\n  data archived location here trigger manual\n  step calibrate { run tool ^1.0 group_by all config { a = `
      return { text: `${head}${"[".repeat(860)}1${"]".repeat(860)} }\n  }\n}\n`, crossing: head.length + 97 }
    },
    "1,100 `not`s": () => {
      const head = "grouping deep { where "
      return { text: `${head}${"not ".repeat(1100)}RawDataPackage.state == "ARCHIVED" }`, crossing: head.length + (maxNesting - 1) * 4 }
    }
  }

  for (const [name, make] of Object.entries(deep)) {
    it(`${name}: one E100, at the token that opens level ${maxNesting + 1}; the formatter declines the file`, () => {
      const { text, crossing } = make()
      const r = compile(text)
      const e100 = only(r, "E100")
      expect(e100).toHaveLength(1)
      expect(e100[0]!.span.start).toBe(crossing)
      expect(e100[0]!.message).toMatch(new RegExp(`more than ${maxNesting} levels deep$`))
      expect(codes(r).filter((c) => c.startsWith("E") && c !== "E100")).toEqual([])
      expect(formatText(text)).toEqual({ ok: false, reason: `the file nests more than ${maxNesting} levels deep (E100)` })
    })
  }

  it(`exactly ${maxNesting} levels are accepted, and formatted`, () => {
    // Braces of the pipeline, the step and the config, then 97 lists: 100 levels.
    const text = withStep(`config { a = ${"[".repeat(97)}1${"]".repeat(97)} }`)
    expect(codes(compile(text))).toEqual([])
    expect(formatText(text).ok).toBe(true)
    const deeper = withStep(`config { a = ${"[".repeat(98)}1${"]".repeat(98)} }`)
    expect(codes(compile(deeper))).toEqual(["E100"])
  })

  it(`a grouping inherits through at most ${maxNesting} levels of \`from\`: E100 at the \`from\` that crosses it`, () => {
    const lines = ['grouping g0 { where RawDataPackage.state == "ARCHIVED" }']
    for (let i = 1; i <= 3000; i++) lines.push(`grouping g${i} { from g${i - 1} where Source.name != "s${i}" }`)
    const r = compile(lines.join("\n"))
    // g101 is 101 levels below g0; its `from g100` is the crossing. Groupings below it have no selection, and no more errors.
    expect(only(r, "E100").map(at)).toEqual([`E100 ${maxNesting + 2}:22-26`])
    expect(only(r, "E100")[0]!.message).toBe(`groupings inherit through \`from\` more than ${maxNesting} levels deep`)
    expect(codes(r).filter((c) => c.startsWith("E"))).toEqual(["E100"])
  })

  it(`a chain of \`from\` within the limit still has its contradictions found (W004), however long the workspace`, () => {
    const lines = ['grouping g0 { where RawDataPackage.state == "ARCHIVED" }']
    for (let i = 1; i <= maxNesting; i++) lines.push(`grouping g${i} { from g${i - 1} where Source.name != "s${i}" }`)
    // g1 excludes the one source name it allows.
    lines.push(`grouping never { from g${maxNesting - 1} where Source.name == "s1" }`)
    const r = compile(lines.join("\n"))
    expect(codes(r).filter((c) => c !== "W002")).toEqual(["W004"])
  })
})

describe(`3. at most ${maxErrorsPerFile} errors per file, then one that counts the rest`, () => {
  it("125,000 stray characters: the first 100 errors, then E101 at the first left out, with how many", () => {
    const text = `${"; ".repeat(125_000)}\n`
    const r = compile(text)
    const errors = r.diagnostics.filter((d) => d.severity === "error")
    expect(errors.filter((d) => d.code === "E001")).toHaveLength(maxErrorsPerFile)
    const e101 = only(r, "E101")
    expect(e101.map(at)).toEqual([`E101 1:${2 * maxErrorsPerFile + 1}-${2 * maxErrorsPerFile + 2}`])
    expect(e101[0]!.message).toBe(
      `and ${125_000 - maxErrorsPerFile} more errors in this file (only the first ${maxErrorsPerFile} are reported)`
    )
  })

  it("counts per file: another file's errors are reported in full", () => {
    const r = compileSources([
      { path: "a.ccat", text: "; ".repeat(maxErrorsPerFile + 1) },
      { path: "b.ccat", text: "; ".repeat(3) }
    ])
    expect(only(r, "E101").map((d) => [d.span.file, d.message])).toEqual([
      ["a.ccat", "and 1 more error in this file (only the first 100 are reported)"]
    ])
    expect(r.diagnostics.filter((d) => d.span.file === "b.ccat").map((d) => d.code)).toEqual(["E001", "E001", "E001"])
  })

  it("warnings are not counted against the limit", () => {
    const text = Array.from({ length: 150 }, (_, i) => `grouping g${i} { where RawDataPackage.state == "ARCHIVED" }`).join("\n")
    expect(codes(compile(text))).toEqual(Array.from({ length: 150 }, () => "W002"))
  })
})

describe("4. a string of megabytes is one token", () => {
  it("an 8 MB string of escaped quotes lexes as one string literal, and its bad escape is found at its end", () => {
    const body = '\\"'.repeat(4_000_000)
    const text = `software tool {\n  description "${body}\\q"\n}\n`
    const lexed = ccatLexer.tokenize(text)
    expect(lexed.errors).toEqual([])
    expect(lexed.tokens.map((t) => t.tokenType.name)).toEqual([
      "Kw_software",
      "Identifier",
      "LCurly",
      "Kw_description",
      "StringLiteral",
      "RCurly"
    ])
    const r = compile(text)
    const column = '  description "'.length + body.length + 1
    expect(only(r, "E004").map(at)).toEqual([`E004 2:${column}-${column + 2}`])
  })

  it("an 8 MB string never closed is E002 over the whole string", () => {
    const text = `software tool {\n  description "${"a".repeat(8_000_000)}`
    expect(only(compile(text), "E002").map(at)).toEqual([`E002 2:15-${15 + 8_000_001}`])
  })
})

describe("5. the NUL character cannot be in a string (E102), where `ccat apply` failed without a place", () => {
  for (const [written, length] of [
    ["\\0", 2],
    ["\\u{0}", 5],
    ["\\u{000000}", 10],
    ["\u0000", 1]
  ] as const) {
    it(`${JSON.stringify(written)} in a command is E102 at the character`, () => {
      const text = `software tool {\n  image "docker://example.org/tool:{version}"\n  versions "1.0.0"\n  command "tool ${written} x"\n}\n`
      const r = compile(text)
      expect(only(r, "E102").map(at)).toEqual([`E102 4:17-${17 + length}`])
      expect(only(r, "E102")[0]!.message).toBe("a string cannot hold the NUL character (`\\0`)")
      expect(r.ir).toBeUndefined()
    })
  }

  it("in a config key and value, and in a JSON path segment of a filter", () => {
    const text = withStep('config { "k\\0" = "v\\0" }')
    expect(only(compile(text), "E102").map(at)).toEqual([
      `E102 ${stepLine}:${stepColumn(text, "k\\0") + 1}-${stepColumn(text, "k\\0") + 3}`,
      `E102 ${stepLine}:${stepColumn(text, "v\\0") + 1}-${stepColumn(text, "v\\0") + 3}`
    ])
    const filter = compile('grouping g { where RawDataPackage.metadata."a\\0" == "x" }')
    expect(only(filter, "E102").map(at)).toEqual(["E102 1:46-48"])
  })

  it("other escapes still decode, and a string of them compiles", () => {
    const r = compile(withStep('config { text = "tab\\tquote\\"smile\\u{1F600}" }'))
    expect(codes(r)).toEqual([])
    expect(r.ir!.pipelines[0]!.steps[0]!.config).toEqual({ text: 'tab\tquote"smile\u{1F600}' })
  })
})

describe("6. size: linear in the file, and a file larger than the compiler reads is E103", () => {
  it(`a file of more than ${maxFileLength} characters is E103 at its start, and is not read`, () => {
    const text = `${software}\n${"// filler\n".repeat(Math.ceil(maxFileLength / 10))}`
    const r = compile(text)
    expect(r.diagnostics.map(at)).toEqual(["E103 1:1-1"])
    expect(r.diagnostics[0]!.message).toBe(`this file has ${text.length} characters, more than the ${maxFileLength} a file may have`)
    expect(r.files[0]!.declarations).toEqual([])
    expect(formatText(text).ok).toBe(false)
  })

  it("20,000 steps in a chain of `after`: compiled in dependency order, and a cycle through all of them is one E040", () => {
    const steps = Array.from(
      { length: 20_000 },
      (_, i) => `  step s${i} { ${i === 0 ? "" : `after s${i - 1} `}run tool ^1.0 group_by all }`
    )
    const text = `${location}\n${software}\n${grouping}\npipeline reduce {\n  data archived location here trigger manual\n${steps.join("\n")}\n}\n`
    const r = compile(text)
    expect(codes(r)).toEqual([])
    const order = r.ir!.pipelines[0]!.steps.map((s) => s.name)
    expect(order).toEqual(Array.from({ length: 20_000 }, (_, i) => `s${i}`))
    const cyclic = compile(text.replace("step s0 { run", "step s0 { after s19999 run"))
    expect(codes(cyclic)).toEqual(["E040"])
  })

  it("topological order takes steps in rounds, each sorted by name, whatever the declaration order", () => {
    const step = (name: string, after: ReadonlyArray<string>): StepModel => ({ name, after }) as unknown as StepModel
    const steps = [
      step("d", ["b", "c"]),
      step("c", ["a"]),
      step("b", ["a"]),
      step("a", []),
      step("e", []),
      step("x", ["y"]),
      step("y", ["x"])
    ]
    expect(topologicalOrder(steps).map((s) => s.name)).toEqual(["a", "e", "b", "c", "d"])
  })

  it("a name of 100,000 characters gets no suggestion, and costs no matrix of their product", () => {
    const long = "a".repeat(100_000)
    const text = `pipeline reduce {\n  step ${long} { }\n  step b { after ${long.slice(1)}b }\n}\n`
    const e011 = only(compile(text), "E011")
    expect(e011.map(at)).toEqual(["E011 3:18-100018"])
    expect(e011[0]!.help.join(" ")).not.toContain("did you mean")
  })
})

// ---- the regressions folder ----

const crashesDir = join(repoRoot, "test", "fixtures", "compiler-crashes")

interface Expected {
  readonly code: string
  readonly at?: string
  readonly count?: number
}

interface GeneratorSpec {
  readonly why: string
  readonly parts: ReadonlyArray<readonly [string, number]>
  readonly expect: ReadonlyArray<Expected>
  readonly only?: boolean
}

/** The text of a `.gen.json`: each part repeated, `{i}` and `{i-1}` replaced by the repetition's number. */
const generate = (spec: GeneratorSpec): string => {
  const out: Array<string> = []
  for (const [text, times] of spec.parts) {
    const numbered = text.includes("{i}") || text.includes("{i-1}")
    for (let i = 1; i <= times; i++) out.push(numbered ? text.replaceAll("{i-1}", String(i - 1)).replaceAll("{i}", String(i)) : text)
  }
  return out.join("")
}

const explicit = /^\s*\/\/\s*expect\s+([EW]\d{3})\s+at\s+(\d+):(\d+)-(?:(\d+):)?(\d+)\s*$/

const regressions = readdirSync(crashesDir)
  .filter((f) => f.endsWith(".ccat") || f.endsWith(".gen.json"))
  .sort()
  .map((file) => {
    const raw = readFileSync(join(crashesDir, file), "utf8")
    if (file.endsWith(".ccat")) {
      const expected = raw.split("\n").flatMap((line): Array<Expected> => {
        const m = explicit.exec(line)
        return m === null ? [] : [{ code: m[1]!, at: `${m[2]}:${m[3]}-${m[4] === undefined ? "" : `${m[4]}:`}${m[5]}` }]
      })
      return { file, text: raw, expected, exactly: true }
    }
    const spec = JSON.parse(raw) as GeneratorSpec
    return { file, text: generate(spec), expected: spec.expect, exactly: spec.only !== false }
  })

describe("test/fixtures/compiler-crashes: every input that once crashed the compiler", () => {
  it("holds the inputs of this issue", () => {
    expect(regressions.length).toBeGreaterThanOrEqual(14)
  })

  for (const { file, text, expected, exactly } of regressions) {
    it(`${file}: compiles without throwing, with the expected diagnostics at their places`, () => {
      const r = compile(text, file)
      const actual = r.diagnostics.map(at)
      for (const e of expected) {
        if (e.count !== undefined)
          expect(
            r.diagnostics.filter((d) => d.code === e.code),
            `${e.code} × ${e.count}`
          ).toHaveLength(e.count)
        else expect(actual, `${e.code} at ${e.at}`).toContain(`${e.code} ${e.at}`)
      }
      if (exactly) {
        const placed = expected.filter((e) => e.count === undefined).map((e) => `${e.code} ${e.at}`)
        const counted = new Set(expected.filter((e) => e.count !== undefined).map((e) => e.code))
        expect(actual.filter((a) => !counted.has(a.split(" ")[0]!)).sort()).toEqual([...placed].sort())
      }
      for (const d of r.diagnostics) {
        expect(d.span.file).toBe(file)
        expect(0 <= d.span.start && d.span.start <= d.span.end && d.span.end <= text.length, `${at(d)} within the text`).toBe(true)
      }
    })
  }
})
