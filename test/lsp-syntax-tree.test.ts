import { describe, expect, it } from "vitest"
import { completionContext } from "../src/lsp/completion-context.ts"
import { classifyTokens } from "../src/lsp/semantic-tokens.ts"
import { cursor } from "./support/completion-cases.ts"

/*
 * Completion and semantic tokens read the parser's recovered CST (src/lsp/syntax-tree.ts), so
 * they see the nesting the parser sees, in files being typed, and stay right as a document is
 * edited piece by piece.
 */

const slotAt = (marked: string) => {
  const { text, offset } = cursor(marked)
  return completionContext(text, offset)
}

const classOf = (text: string, word: string, nth = 0): string | undefined => {
  let at = -1
  for (let i = 0; i <= nth; i++) at = text.indexOf(word, at + 1)
  const t = classifyTokens(text).find((r) => r.start === at && r.end === at + word.length)
  return t === undefined ? undefined : `${t.type}${t.declaration ? "+declaration" : ""}`
}

describe("completion follows the parser's nesting", () => {
  it("after a step nested in a step, the cursor is in the outer step, as the parser (and E021) has it", () => {
    const slot = slotAt("pipeline p {\n  step a {\n    run reducer ^1.0\n    step b { run combiner ^0.3 }\n    |\n  }\n}\n")
    expect(slot).toMatchObject({ kind: "propertyKeyword", block: "step", pipeline: "p", step: "a", present: ["run"] })
  })

  it("a brace the parser made up does not close a block: unclosed blocks keep the cursor in them", () => {
    expect(slotAt("pipeline p {\n  step a {\n    run |")).toMatchObject({ kind: "reference", target: "software", pipeline: "p", step: "a" })
    expect(slotAt('pipeline p {\n  step a {\n    config { mode = "x"  |')).toMatchObject({ kind: "configKey", path: [], present: ["mode"] })
  })

  it("a property the parser re-synced out of an unclosed block still belongs to it", () => {
    expect(slotAt("pipeline p {\n  data\n  location |")).toMatchObject({ kind: "reference", target: "location", pipeline: "p" })
  })

  it("a declaration left open does not swallow the next one in column 1", () => {
    expect(slotAt("pipeline p {\n  step a {\n    run reducer\n\ngrouping g {\n  where Source.|\n}\n")).toMatchObject({
      kind: "column",
      table: "Source"
    })
    expect(slotAt("pipeline p {\n  step a {\n\npipeline q {\n  step b {\n    after |\n")).toMatchObject({
      kind: "reference",
      target: "step",
      pipeline: "q",
      steps: []
    })
  })

  it("finds the steps of the pipeline and the software of the step after the cursor", () => {
    const text =
      "pipeline p {\n  step a {\n    after |\n    run reducer ^1.0\n  }\n  step b {\n    config { | }\n    run combiner ^0.3\n  }\n  step c { }\n}\n"
    const first = text.indexOf("|")
    const second = text.indexOf("|", first + 1)
    const clean = text.replace(/\|/g, "")
    expect(completionContext(clean, first)).toMatchObject({ kind: "reference", target: "step", steps: ["b", "c"] })
    expect(completionContext(clean, second - 1)).toMatchObject({ kind: "configKey", software: "combiner" })
  })
})

describe("semantic tokens follow the parser", () => {
  it("colours a step nested in a step as a step, and the outer step's properties after it", () => {
    const text = "pipeline p {\n  step a {\n    step b { run combiner ^0.3 }\n    group_by source\n  }\n}\n"
    expect(classOf(text, "b")).toBe("function+declaration")
    expect(classOf(text, "combiner")).toBe("type")
    expect(classOf(text, "group_by")).toBe("keyword")
    expect(classOf(text, "source")).toBe("enumMember")
  })

  it("a keyword on the line after a property missing its value starts the next property", () => {
    const text = "pipeline p {\n  data\n  location hpc\n}\n"
    expect(classOf(text, "location")).toBe("keyword")
  })

  it("stays the same, moved, after an edit in another declaration", () => {
    const text =
      'grouping g {\n  where Source.name == "x"\n}\npipeline p {\n  data g\n  step a {\n    run reducer ^1.0\n    config { mode = "x" }\n  }\n}\n'
    const before = classifyTokens(text)
    const added = 'location l { site "ccat" }\n'
    const after = classifyTokens(added + text).filter((t) => t.start >= added.length)
    expect(after).toEqual(before.map((t) => ({ ...t, start: t.start + added.length, end: t.end + added.length })))
    // And back: the first text's pieces were kept, the answer is the same.
    expect(classifyTokens(text)).toEqual(before)
  })
})
