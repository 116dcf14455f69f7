import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"
import { parseSource, type SourceInput } from "../src/compiler/compile.ts"
import { compareDiagnostics, DiagnosticSink, type Diagnostic } from "../src/compiler/diagnostics.ts"
import { IncrementalParser } from "../src/lsp/incremental-parse.ts"
import { repoRoot, Rng } from "./support/workspace.ts"

/*
 * The language server parses per top-level declaration (src/lsp/incremental-parse.ts). Its
 * result must be exactly the whole file's parse: the same AST (spans included) and the same
 * diagnostics (codes, spans, messages, in the same order once sorted as `compileSources` sorts
 * them). Checked on every `.ccat` file of the repository, on all of them in one file, and along
 * random edit sequences that keep one parser, so pieces are reused, shifted and merged.
 */

const allCcatFiles = (): Array<SourceInput> => {
  const found: Array<SourceInput> = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith(".") || name === "node_modules") continue
      const full = join(dir, name)
      if (statSync(full).isDirectory()) walk(full)
      else if (name.endsWith(".ccat")) found.push({ path: relative(repoRoot, full), text: readFileSync(full, "utf8") })
    }
  }
  for (const dir of ["test/fixtures", "pipelines"]) walk(join(repoRoot, dir))
  return found
}

const whole = (input: SourceInput) => {
  const sink = new DiagnosticSink()
  const { file } = parseSource(input, sink)
  return { file, diagnostics: sink.items }
}

// As `compileSources` orders them (a stable sort: ties keep the order they were reported in).
const sorted = (ds: ReadonlyArray<Diagnostic>): Array<Diagnostic> => [...ds].sort(compareDiagnostics)

/** The same AST, spans included, and the same diagnostics once sorted. */
const expectSameAsWhole = (parser: IncrementalParser, input: SourceInput, context: string): void => {
  const expected = whole(input)
  const actual = parser.parse(input)
  expect(actual.file, context).toEqual(expected.file)
  expect(sorted(actual.diagnostics), context).toEqual(sorted(expected.diagnostics))
}

const files = allCcatFiles()
const isValid = (f: SourceInput): boolean => f.path.includes("fixtures/valid/") || f.path.startsWith("pipelines/")

describe("parsing per declaration (language server)", () => {
  it("equals the whole file's parse on every fixture", () => {
    expect(files.length).toBeGreaterThan(100)
    for (const f of files) expectSameAsWhole(new IncrementalParser(), f, f.path)
  })

  it("equals the whole file's parse on all fixtures in one file, valid and invalid", () => {
    const input = { path: "all.ccat", text: files.map((f) => f.text).join("\n") }
    const parser = new IncrementalParser()
    expectSameAsWhole(parser, input, "all fixtures")
    // Parsed again unchanged: every piece comes from the cache.
    expectSameAsWhole(parser, input, "all fixtures, again")
    expect(parser.lastParsedPieces).toBe(0)
  })

  it("re-parses only the declaration an edit touched in a valid file", () => {
    const valid = files.filter(isValid)
    const text = valid.map((f) => f.text).join("\n")
    const parser = new IncrementalParser()
    expectSameAsWhole(parser, { path: "valid.ccat", text }, "valid")
    const at = text.indexOf("\n  priority ") + "\n  priority ".length
    expect(at).toBeGreaterThan(20)
    // One character longer, then one line longer: the pieces after it move.
    const longer = `${text.slice(0, at)}1${text.slice(at)}`
    expectSameAsWhole(parser, { path: "valid.ccat", text: longer }, "one character inserted")
    expect(parser.lastParsedPieces).toBe(1)
    const taller = `${longer.slice(0, at)}\n${longer.slice(at)}`
    expectSameAsWhole(parser, { path: "valid.ccat", text: taller }, "one line inserted")
    expect(parser.lastParsedPieces).toBe(1)
  })

  // Snippets that tend to break the cuts: braces, strings, comments, declaration keywords in column 1.
  const snippets = [
    "{",
    "}",
    "}\n",
    "{\n",
    '"',
    '"\n',
    "/*",
    "*/",
    "/* x */",
    "//",
    "#",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\n\n",
    "\npipeline ",
    "\nlocation x {\n}\n",
    '\nsoftware s {\n  image "x"\n}\n',
    "\ngrouping g {\n",
    "\nstep s {\n}\n",
    "pipeline",
    "location",
    "grouping ",
    "priority = ",
    "run ",
    "  step a {\n    run x\n  }\n",
    "x",
    ";",
    "[",
    "]",
    "(",
    ")",
    "\npipline p {\n}\n",
    "\n}\n",
    'where Source.name == "x"\n',
    "config { a = 1 }\n"
  ]

  const mutate = (rng: Rng, text: string): string => {
    const at = rng.int(text.length + 1)
    const r = rng.next()
    if (r < 0.35) return text.slice(0, at) + rng.pick(snippets) + text.slice(at)
    if (r < 0.6) return text.slice(0, at) + text.slice(Math.min(text.length, at + rng.range(1, 40)))
    if (r < 0.8) {
      // Copies a stretch of the text elsewhere: plausible declarations and fragments.
      const from = rng.int(text.length)
      return text.slice(0, at) + text.slice(from, from + rng.range(1, 200)) + text.slice(at)
    }
    // Replaces one character: the smallest keystroke.
    return text.slice(0, at) + rng.pick(["a", "1", " ", "}", "{", '"', "\n"]) + text.slice(at + 1)
  }

  it("equals the whole file's parse along random edits", () => {
    const valid = files.filter(isValid).map((f) => f.text)
    const invalid = files.filter((f) => f.path.includes("fixtures/invalid/")).map((f) => f.text)
    const totals = { parsed: 0, moved: 0, merged: 0, wholeFile: 0 }
    for (let seed = 1; seed <= 8; seed++) {
      const rng = new Rng(seed)
      // Half the runs start from valid files only: an unclosed brace sends the whole file to
      // the parser, so fewer of them leave more edits to the piece-by-piece path.
      const pieces = [...valid, ...Array.from({ length: seed % 2 === 0 ? 6 : 0 }, () => rng.pick(invalid))]
      let text = pieces.sort(() => rng.next() - 0.5).join("\n")
      const parser = new IncrementalParser()
      for (let step = 0; step < 40; step++) {
        const edited = mutate(rng, text)
        const wholeFiles = parser.counts.wholeFile
        expectSameAsWhole(parser, { path: "edited.ccat", text: edited }, `seed ${seed}, step ${step}`)
        // Mostly keep the edit, sometimes undo it as an editor's undo does; undo most edits
        // that left a brace open, which only the whole-file parse handles.
        if (rng.next() < (parser.counts.wholeFile > wholeFiles ? 0.3 : 0.8)) text = edited
      }
      for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += parser.counts[key]
    }
    // Every path was taken: fresh pieces, moved ones, merges over untrusted cuts, whole files.
    for (const count of Object.values(totals)) expect(count).toBeGreaterThan(0)
  }, 300_000)
})
