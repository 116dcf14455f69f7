import { readFileSync } from "node:fs"
import { basename, join } from "node:path"
import type { IToken } from "chevrotain"
import { describe, expect, it } from "vitest"
import { canonicalJson } from "../src/compiler/canonical-json.ts"
import { compileSources, type SourceInput } from "../src/compiler/compile.ts"
import { formatText } from "../src/compiler/format.ts"
import { ccatLexer } from "../src/compiler/lexer.ts"
import { parseText } from "../src/compiler/parser.ts"
import { allValidSources, collectHashes, goldenDir, loadWorkspace, stripSpans, validWorkspaceNames } from "./support/workspace.ts"

/*
 * `ccat fmt`: idempotent, meaning-preserving, comment-preserving, and refusing files with
 * syntax errors. The golden of the `comments-and-layout` workspace was written by hand: it is
 * what a tidy, canonical rendering of those files looks like, not a snapshot of the formatter.
 */

const sources = allValidSources()

const format = (text: string): string => {
  const r = formatText(text)
  if (!r.ok) throw new Error(`formatText refused a valid file: ${r.reason}`)
  return r.text
}

const commentsOf = (text: string): Array<IToken> => ccatLexer.tokenize(text).groups["comments"] ?? []

/**
 * The tokens a formatter must keep, in order: all but commas (trailing and separating commas of
 * maps and entries are dropped), the `true` of `final true` / `fan_out true` (written `final`),
 * and `{` (a trailing comment may hop over an opening brace to stay on the declaration line).
 */
const anchorTokens = (text: string): Array<IToken> => {
  const tokens = ccatLexer.tokenize(text).tokens
  return tokens.filter((t, i) => {
    const name = t.tokenType.name
    if (name === "Comma" || name === "LCurly") return false
    if (name === "Kw_true" && (tokens[i - 1]?.tokenType.name === "Kw_final" || tokens[i - 1]?.tokenType.name === "Kw_fan_out")) return false
    return true
  })
}

/** For each comment, in order: its text and the significant token it follows (or `^` at the start). */
const commentAnchors = (text: string): Array<string> => {
  const tokens = anchorTokens(text)
  return commentsOf(text).map((c) => {
    let k = 0
    while (k < tokens.length && tokens[k]!.startOffset < c.startOffset) k++
    const before = k === 0 ? "^" : `#${k - 1} \`${tokens[k - 1]!.image}\``
    const after = k === tokens.length ? "$" : `\`${tokens[k]!.image}\``
    return `${c.image.trimEnd()}  ⟵ between ${before} and ${after}`
  })
}

describe("formatText on every valid file", () => {
  it("has files to format", () => {
    expect(sources.length).toBeGreaterThanOrEqual(10)
  })

  for (const input of sources) {
    describe(input.path, () => {
      it("accepts it and is idempotent", () => {
        const once = format(input.text)
        expect(format(once)).toBe(once)
      })

      it("keeps every token except the dropped commas", () => {
        const once = format(input.text)
        expect(anchorTokens(once).map((t) => t.image)).toEqual(anchorTokens(input.text).map((t) => t.image))
      })

      it("keeps every comment, in order", () => {
        const once = format(input.text)
        expect(commentsOf(once).map((c) => c.image.trimEnd())).toEqual(commentsOf(input.text).map((c) => c.image.trimEnd()))
      })

      it("keeps every comment between the same tokens", () => {
        expect(commentAnchors(format(input.text))).toEqual(commentAnchors(input.text))
      })

      it("writes a tidy file: no tabs, no trailing spaces, one final newline, at most one blank line in a row", () => {
        const once = format(input.text)
        expect(once).not.toMatch(/\t/)
        expect(once).not.toMatch(/[ ]+$/m)
        expect(once.endsWith("\n") && !once.endsWith("\n\n")).toBe(true)
        expect(once).not.toMatch(/\n\n\n/)
        expect(once.startsWith("\n")).toBe(false)
      })
    })
  }
})

describe("formatting never changes the IR except spans", () => {
  for (const name of validWorkspaceNames()) {
    it(name, () => {
      const inputs = loadWorkspace(name)
      const formatted: Array<SourceInput> = inputs.map((i) => ({ path: i.path, text: format(i.text) }))
      const before = compileSources(inputs)
      const after = compileSources(formatted)
      expect(after.diagnostics.map((d) => `${d.code} ${d.span.file}:${d.span.startLine} ${d.message}`)).toEqual([])
      const a = JSON.parse(canonicalJson(before.ir))
      const b = JSON.parse(canonicalJson(after.ir))
      expect(stripSpans(b)).toEqual(stripSpans(a))
      expect(collectHashes(b)).toEqual(collectHashes(a))
    })
  }
})

describe("the comments-and-layout golden", () => {
  const inputs = loadWorkspace("comments-and-layout")
  const render = (files: ReadonlyArray<SourceInput>): string =>
    files.map((i) => `// ==== ${basename(i.path)} ====\n${format(i.text)}`).join("\n")
  const golden = readFileSync(join(goldenDir, "comments-and-layout.formatted.ccat"), "utf8")

  it("is itself a valid workspace with the same IR (the expectation is sound)", () => {
    const original = compileSources(inputs)
    const asOneFile = compileSources([{ path: "golden.ccat", text: golden }])
    expect(asOneFile.diagnostics).toEqual([])
    expect(collectHashes(JSON.parse(canonicalJson(asOneFile.ir)))).toEqual(collectHashes(JSON.parse(canonicalJson(original.ir))))
  })

  it("is what formatting the workspace gives", () => {
    expect(render(inputs)).toBe(golden)
  })

  it("is a fixed point of the formatter, file by file", () => {
    const pieces = golden.split(/^\/\/ ==== .* ====\n/m).slice(1)
    expect(pieces.length).toBe(inputs.length)
    pieces.forEach((piece, i) => {
      // Files are joined by one blank line: every piece but the last ends with an extra newline.
      const body = i < pieces.length - 1 ? piece.slice(0, -1) : piece
      expect.soft(format(body), basename(inputs[i]!.path)).toBe(body)
    })
  })

  // The same expectations, one at a time, so that a failure says which rule broke.
  it("a comment between two declarations on one line stays between them", () => {
    const out = format(inputs.find((i) => i.path.endsWith("one-line.ccat"))!.text)
    expect(out).toMatch(/^} \/\* between declarations \*\/$/m)
    expect(out).toMatch(/^location box {$/m)
  })

  it("a trailing line comment stays on the line of the token it follows", () => {
    const oneLine = format(inputs.find((i) => i.path.endsWith("one-line.ccat"))!.text)
    expect(oneLine).toMatch(/^} \/\/ trailing line comment$/m)
    expect(oneLine).toMatch(/^ {2}site "ccat"$/m)
    const pipeline = format(inputs.find((i) => i.path.endsWith("pipeline.ccat"))!.text)
    expect(pipeline).toMatch(/^ {2}trigger manual \/\/ three properties on one line$/m)
    expect(pipeline).toMatch(/^ {2}data everything$/m)
  })

  it("a list holding a line comment is written one item per line", () => {
    const pipeline = format(inputs.find((i) => i.path.endsWith("pipeline.ccat"))!.text)
    expect(pipeline).toContain('      list = [\n        "x", // after an item\n        "y"\n      ]\n')
  })

  it("continuation lines of a `where` are indented deeper than the `where`", () => {
    const spread = format(inputs.find((i) => i.path.endsWith("spread.ccat"))!.text)
    const lines = spread.split("\n")
    const start = lines.findIndex((l) => l.trimStart().startsWith("where "))
    expect(start).toBeGreaterThan(0)
    const whereIndent = lines[start]!.length - lines[start]!.trimStart().length
    const continuation = lines.slice(
      start + 1,
      lines.findIndex((l, i) => i > start && l.trimStart().startsWith("//"))
    )
    expect(continuation.length).toBeGreaterThan(0)
    for (const l of continuation) expect(l.length - l.trimStart().length, JSON.stringify(l)).toBeGreaterThan(whereIndent)
  })

  it("a block opens on its declaration's line even when a comment follows the name", () => {
    const spread = format(inputs.find((i) => i.path.endsWith("spread.ccat"))!.text)
    expect(spread).toMatch(/^grouping everything { \/\/ after the name$/m)
    expect(spread).not.toMatch(/^{$/m)
  })
})

describe("comments on a line holding several tokens stay where they are", () => {
  const exact: Array<[string, string]> = [
    ['location l { site "x" /* c */ }', 'location l {\n  site "x" /* c */\n}\n'],
    ['location l { site "x" } // c', 'location l {\n  site "x"\n} // c\n'],
    [
      'location a { site "x" } location b { site "y" } // about b',
      'location a {\n  site "x"\n}\n\nlocation b {\n  site "y"\n} // about b\n'
    ]
  ]
  for (const [input, expected] of exact) {
    it(JSON.stringify(input), () => {
      expect(format(input)).toBe(expected)
    })
  }

  const stable = [
    "pipeline p { step s { config { a = [1, /* c */ 2] } } }",
    "pipeline p { step s { config { a // c\n= 1 } } }",
    "pipeline p { step s { config { a = { b = 1 /* c */ } } } }",
    'grouping g { where Source.name == "x" /* c */ and Source.kind == "FIXED" }'
  ]
  for (const input of stable) {
    it(`${JSON.stringify(input)}: idempotent, comment in place`, () => {
      const once = format(input)
      expect(commentAnchors(once)).toEqual(commentAnchors(input))
      expect(format(once)).toBe(once)
    })
  }
})

/** A step's body inside a minimal pipeline. */
const inStep = (body: string): string => `pipeline p {\n  step s {\n    run x ^1.0\n${body}  }\n}\n`

/** Each [what, body, expected]: the step body formats to `expected`, stably, keeping every comment in place. */
const formatsInStep = (cases: ReadonlyArray<readonly [string, string, string]>) => {
  for (const [what, body, expected] of cases) {
    it(what, () => {
      const once = format(inStep(body))
      expect(once).toBe(inStep(expected))
      expect(format(once)).toBe(once)
      expect(commentAnchors(once)).toEqual(commentAnchors(inStep(body)))
    })
  }
}

describe("outputs blocks", () => {
  const exact: Array<[string, string, string]> = [
    ["one rule stays on one line", "    outputs{science min 0}\n", "    outputs { science min 0 }\n"],
    [
      "several rules go one per line, commas dropped",
      '    outputs { science "*.fits" min 1, qa "*.json"  plots min 0 }\n',
      '    outputs {\n      science "*.fits" min 1\n      qa "*.json"\n      plots min 0\n    }\n'
    ],
    [
      "a comment breaks even one rule",
      '    outputs { science "*.fits" // the maps\n }\n',
      '    outputs {\n      science "*.fits" // the maps\n    }\n'
    ],
    [
      "comments between the parts of a rule stay there",
      '    outputs {\n      science /* b */ "*.fits" /* c */ min /* d */ 2 // e\n    }\n',
      '    outputs {\n      science /* b */ "*.fits" /* c */ min /* d */ 2 // e\n    }\n'
    ],
    [
      "a blank line between rules is kept, more are not",
      "    outputs {\n\n      science\n\n\n      qa\n    }\n",
      "    outputs {\n      science\n\n      qa\n    }\n"
    ],
    ["an empty block", "    outputs {   }\n", "    outputs {}\n"],
    ["a default count is kept as written", '    outputs { qa "*.json" min 1 }\n', '    outputs { qa "*.json" min 1 }\n']
  ]
  formatsInStep(exact)

  it("formats a block with a checker error (an unknown kind), and stably", () => {
    const r = formatText(inStep("    outputs { scince min 0 }\n"))
    expect(r.ok && r.text).toBe(inStep("    outputs { scince min 0 }\n"))
  })

  it("refuses a block with a syntax error", () => {
    expect(formatText(inStep("    outputs { science min }\n")).ok).toBe(false)
    expect(formatText(inStep("    outputs { 5 }\n")).ok).toBe(false)
  })
})

describe("retries", () => {
  const exact: Array<[string, string, string]> = [
    ["a count alone", "    retries   3\n", "    retries 3\n"],
    ["reasons are one comma list", "    retries 3 on TIMEOUT ,NODE_FAIL,OOM\n", "    retries 3 on TIMEOUT, NODE_FAIL, OOM\n"],
    ["one adjustment stays on one line", "    retries 3 on OOM {on OOM memory x2}\n", "    retries 3 on OOM { on OOM memory x2 }\n"],
    [
      "several adjustments go one per line, commas dropped",
      "    retries 3 on TIMEOUT, OOM { on OOM memory x2, on TIMEOUT time x1.5 }\n",
      "    retries 3 on TIMEOUT, OOM {\n      on OOM memory x2\n      on TIMEOUT time x1.5\n    }\n"
    ],
    ["braces right after the count", "    retries 3{on OOM memory x2}\n", "    retries 3 { on OOM memory x2 }\n"],
    [
      "comments stay with their adjustments",
      "    retries 3 on TIMEOUT, OOM { // why\n on OOM memory x2 /* a */ on TIMEOUT time x1.5 // b\n }\n",
      "    retries 3 on TIMEOUT, OOM { // why\n      on OOM memory x2 /* a */\n      on TIMEOUT time x1.5 // b\n    }\n"
    ],
    [
      "comments between reasons stay there",
      "    retries 3 /* c */ on /* d */ OOM /* e */ , /* f */ TIMEOUT\n",
      "    retries 3 /* c */ on /* d */ OOM /* e */, /* f */ TIMEOUT\n"
    ],
    ["an empty block", "    retries 3 {   }\n", "    retries 3 {}\n"],
    [
      "the order written is kept",
      "    retries 3 on OOM, TIMEOUT { on TIMEOUT time x2  on OOM memory x2 }\n",
      "    retries 3 on OOM, TIMEOUT {\n      on TIMEOUT time x2\n      on OOM memory x2\n    }\n"
    ]
  ]
  formatsInStep(exact)

  it("formats a checker error (an unknown reason, a factor written `2`) as written", () => {
    const r = formatText(inStep("    retries 3 on oom { on oom memory 2 }\n"))
    expect(r.ok && r.text).toBe(inStep("    retries 3 on oom { on oom memory 2 }\n"))
  })

  it("refuses a retries without its count, or with a broken adjustment", () => {
    expect(formatText(inStep("    retries on OOM\n")).ok).toBe(false)
    expect(formatText(inStep("    retries { on OOM memory x2 }\n")).ok).toBe(false)
    expect(formatText(inStep("    retries 3 { on OOM memory }\n")).ok).toBe(false)
    expect(formatText(inStep("    retries 3 on\n")).ok).toBe(false)
  })
})

describe("deep nesting", () => {
  it("formats maps nested 60 deep (each level is measured once, not once per enclosing level)", () => {
    const text = `pipeline p {\n  step s {\n    config { ${"a = { ".repeat(60)}b = 1${" }".repeat(60)} }\n  }\n}\n`
    const once = format(text)
    expect(format(once)).toBe(once)
    expect(anchorTokens(once).map((t) => t.image)).toEqual(anchorTokens(text).map((t) => t.image))
  })

  it("refuses a file nested deeper than the compiler reads", () => {
    const r = formatText(`pipeline p { step s { config { a = ${"[".repeat(120)}${"]".repeat(120)} } } }\n`)
    expect(r.ok).toBe(false)
  })
})

describe("files with syntax errors are refused", () => {
  const broken: Array<[string, string]> = [
    ["a missing `}`", "pipeline p {\n  data g\n  location l\n  trigger manual\n  step s {\n    run x ^1.0\n    group_by all\n\n}\n"],
    ["a missing value", "grouping g {\n  where Source.name ==\n}\n"],
    // Accepted today, and the `]` is silently deleted from the output.
    ["a stray token in a block", 'location l {\n  site "x" ]\n}\n'],
    ["a stray keyword in a block", 'location l {\n  site "x"\n  timezone\n}\n'],
    ["a stray operator in a where's block", 'grouping g {\n  where Source.name == "x" ] and Source.kind == "FIXED"\n}\n'],
    ["a stray `}` at top level", 'location l {\n  site "x"\n}\n}\n'],
    ["a misspelled declaration keyword", "pipline p {\n  data g\n}\n"],
    ["an unterminated string", 'location l {\n  site "cologne\n}\n'],
    ["an unterminated block comment", 'location l {\n  site "x"\n}\n/* never closed\n'],
    ["an unexpected character", 'location l {\n  site "x" # note\n}\n'],
    ["a declaration without a name", 'location {\n  site "x"\n}\n']
  ]
  for (const [what, text] of broken) {
    it(what, () => {
      const r = formatText(text)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.reason).toMatch(/syntax error|unterminated/)
    })
  }

  // Checker errors are not syntax errors: such files are formatted, and stably.
  const checkerErrors: Array<[string, string]> = [
    ["a misspelled property with a block", 'location l {\n  backnd slurm { partition "x" }\n}\n'],
    ["a step outside a pipeline", "step s {\n  run x ^1.0\n  group_by all\n}\n"],
    ["an unknown reference", "pipeline p {\n  data nowhere\n  location l\n  trigger manual\n  step s { run x ^1.0  group_by all }\n}\n"]
  ]
  for (const [what, text] of checkerErrors) {
    it(`formats a file with ${what}`, () => {
      expect(parseText(text).parseErrors).toEqual([])
      const r = formatText(text)
      expect(r.ok).toBe(true)
      if (r.ok) expect(format(r.text)).toBe(r.text)
    })
  }
})
