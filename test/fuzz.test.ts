import type { IToken } from "chevrotain"
import { describe, expect, it } from "vitest"
import { compileSources, type SourceInput } from "../src/compiler/compile.ts"
import type { Diagnostic } from "../src/compiler/diagnostics.ts"
import { formatText } from "../src/compiler/format.ts"
import { ccatLexer, keywords, keywordText } from "../src/compiler/lexer.ts"
import { maxNesting } from "../src/compiler/limits.ts"
import { parseText } from "../src/compiler/parser.ts"
import type { Span } from "../src/compiler/span.ts"
import { completionContext } from "../src/lsp/completion-context.ts"
import { IncrementalParser } from "../src/lsp/incremental-parse.ts"
import { classifyTokens } from "../src/lsp/semantic-tokens.ts"
import { allValidSources, Rng } from "./support/workspace.ts"

/*
 * Property tests with a seeded PRNG (reproducible: a failure prints its seed and input).
 *   (a) random token sequences from the lexer's vocabulary,
 *   (b) random mutations of the valid fixtures,
 *   (c) the formatter on all of those,
 *   (d) numbers out of range (huge exponents, long runs of digits) in every numeric slot of the
 *       valid fixtures, numbers inside version strings and cron expressions included;
 *   (e) inputs at and past the compiler's limits (limits.ts), alone and inserted into the example
 *       workspaces: deep parentheses, maps, lists, braces and `not`s, thousands of errors, long
 *       strings, NUL characters, huge numbers, long chains of `after` and `from`.
 * Properties: nothing throws; the result has an error or an IR (never both, never neither);
 * every span lies inside its file with lines and columns that match its offsets; a formatted
 * file re-parses cleanly, formats to itself, and keeps every token; (d) a number out of range is
 * always reported, by an error whose span touches it.
 */

const CASES = 3000

/** The mutated fixtures of (b), formatted again in (c). */
const mutatedTexts: Array<{ text: string; how: string }> = []

// ---- vocabulary ----

const keywordWords = keywords.map((k) => keywordText(k)!)
const identifiers = [
  "x",
  "foo",
  "ramses",
  "chai_archived",
  "chai_calibration",
  "calibrate",
  "baseline",
  "map",
  "Source",
  "name",
  "RawDataPackage",
  "state",
  "metadata",
  "ExecutedObsUnit",
  "start_time",
  "InstrumentModule",
  "executed_obs_unit",
  "all",
  "source",
  "line",
  "night",
  "slurm",
  "local",
  "apptainer",
  "none",
  "exact",
  "compatible",
  "partition",
  "cpus",
  "memory",
  "time",
  "gpus",
  "max_parallel",
  "pipline",
  "cooldwn",
  "stepper",
  "_",
  "A1",
  "TIMEOUT",
  "OOM",
  "NODE_FAIL",
  "EXIT_CODE",
  "oom",
  "x2",
  "x1.5",
  "x0",
  "x2b"
]
const literals = [
  '"abc"',
  '""',
  '"docker://ghcr.io/x:{version}"',
  '"run --mode {config.mode}"',
  '"{config.missing}"',
  '"{oops"',
  '"2.3.1"',
  '"0 3 * * *"',
  '"61 25 * * *"',
  '"UTC"',
  '"Europe/Berlin"',
  '"Mars/Olympus"',
  '"NGC%"',
  '"ARCHIVED"',
  '"\\q"',
  '"\\u{1F600}"',
  '"esc \\" quote"',
  '"unterminated',
  "0",
  "3",
  "-5",
  "2.5",
  "1e3",
  "-0",
  "60s",
  "0s",
  "5ms",
  "16GiB",
  "16G",
  "512MiB",
  "2h",
  "1d",
  "1w",
  "3parsecs",
  "85%",
  "150%",
  "0%",
  "2026-06-01",
  "2026-13-45",
  "2026-06-01T12:00:00Z",
  "2026-06-01T25:61:00+02:00",
  "1.2.3",
  "1.2.3-rc.1",
  "0.9.2",
  "99999999999999999999.0.0",
  "true",
  "false"
]
const punctuation = ["{", "}", "(", ")", "[", "]", ",", ".", "==", "!=", "<", "<=", ">", ">=", "=", "^", "~", "*"]
const comments = ["// comment\n", "/* block */", "/* multi\nline */", "/* unterminated"]
const junk = ["#", ";", ":", "@", "&", "|", "!", "'", "\\", "$", "`"]
const declarationKeywords = ["location", "software", "grouping", "pipeline", "step"]

const randomToken = (rng: Rng): string => {
  const r = rng.next()
  if (r < 0.3) return rng.pick(keywordWords)
  if (r < 0.45) return rng.pick(identifiers)
  if (r < 0.7) return rng.pick(literals)
  if (r < 0.93) return rng.pick(punctuation)
  if (r < 0.97) return rng.pick(comments)
  return rng.pick(junk)
}

const separator = (rng: Rng): string => rng.pick([" ", " ", " ", "\n", "\n  ", "", "\t", "\r\n"])

/** Pure noise, or (half of the time) something shaped like declarations, to reach the checker. */
const randomTokens = (rng: Rng): Array<string> => {
  if (rng.chance(0.5)) return Array.from({ length: rng.range(1, 60) }, () => randomToken(rng))
  const out: Array<string> = []
  const declarations = rng.range(1, 4)
  for (let d = 0; d < declarations; d++) {
    out.push(rng.pick(declarationKeywords), rng.pick(identifiers), "{")
    const properties = rng.range(0, 6)
    for (let p = 0; p < properties; p++) {
      if (rng.chance(0.15)) out.push("step", rng.pick(identifiers), "{")
      out.push(rng.chance(0.8) ? rng.pick(keywordWords) : rng.pick(identifiers))
      const values = rng.range(0, 4)
      for (let v = 0; v < values; v++) out.push(rng.chance(0.75) ? rng.pick([...literals, ...identifiers]) : randomToken(rng))
      if (out.includes("step") && rng.chance(0.3)) out.push("}")
    }
    if (rng.chance(0.9)) out.push("}")
  }
  return out
}

const join = (rng: Rng, tokens: ReadonlyArray<string>): string => tokens.map((t, i) => (i === 0 ? t : separator(rng) + t)).join("")

// ---- properties ----

/** Line and column of an offset, with `\n`, `\r\n` and a lone `\r` as line breaks (the lexer's convention). */
const position = (text: string, offset: number): { line: number; column: number } => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++) {
    const c = text[i]
    if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1 }
}

const spanProblem = (span: Span, texts: ReadonlyMap<string, string>): string | undefined => {
  const text = texts.get(span.file)
  if (text === undefined) return `span in unknown file ${span.file}`
  if (!(Number.isInteger(span.start) && Number.isInteger(span.end))) return `non-integer offsets ${span.start}..${span.end}`
  if (!(0 <= span.start && span.start <= span.end && span.end <= text.length))
    return `offsets ${span.start}..${span.end} outside 0..${text.length}`
  if (!(span.startLine >= 1 && span.startColumn >= 1 && span.endLine >= 1 && span.endColumn >= 1)) {
    return `line/column below 1: ${span.startLine}:${span.startColumn}-${span.endLine}:${span.endColumn}`
  }
  return undefined
}

const positionProblem = (span: Span, texts: ReadonlyMap<string, string>): string | undefined => {
  const text = texts.get(span.file)
  if (text === undefined || span.end > text.length || span.start < 0) return undefined
  const s = position(text, span.start)
  const e = position(text, span.end)
  if (s.line !== span.startLine || s.column !== span.startColumn)
    return `start ${span.startLine}:${span.startColumn} but offset ${span.start} is at ${s.line}:${s.column}`
  if (e.line !== span.endLine || e.column !== span.endColumn)
    return `end ${span.endLine}:${span.endColumn} but offset ${span.end} is at ${e.line}:${e.column}`
  return undefined
}

const allSpans = (d: Diagnostic): Array<[string, Span]> => [
  [`${d.code} span`, d.span],
  ...d.related.map((r, i): [string, Span] => [`${d.code} related[${i}]`, r.span]),
  ...d.fixes.map((f, i): [string, Span] => [`${d.code} fix[${i}]`, f.span])
]

interface Failure {
  readonly property: string
  readonly detail: string
  readonly inputs: ReadonlyArray<SourceInput>
}

type Finding = Omit<Failure, "inputs">

/** Compiles one input set and returns the violated properties, and whether an IR came out. */
const checkCompile = (inputs: ReadonlyArray<SourceInput>): { findings: Array<Finding>; ir: boolean } => {
  let result: ReturnType<typeof compileSources>
  try {
    result = compileSources(inputs)
  } catch (e) {
    return {
      findings: [
        {
          property: "compileSources throws",
          detail: String((e as Error).stack ?? e)
            .split("\n")
            .slice(0, 4)
            .join(" | ")
        }
      ],
      ir: false
    }
  }
  const out: Array<Finding> = []
  const errors = result.diagnostics.filter((d) => d.severity === "error")
  if (errors.length === 0 && result.ir === undefined) out.push({ property: "neither an error nor an IR", detail: "" })
  if (errors.length > 0 && result.ir !== undefined) out.push({ property: "both errors and an IR", detail: errors[0]!.code })
  const texts = new Map(inputs.map((i) => [i.path, i.text]))
  for (const d of result.diagnostics) {
    for (const [where, span] of allSpans(d)) {
      const problem = spanProblem(span, texts)
      if (problem !== undefined) out.push({ property: "span outside the text", detail: `${where} (${d.message}): ${problem}` })
      else {
        const p = positionProblem(span, texts)
        if (p !== undefined) out.push({ property: POSITION, detail: `${where} (${d.message}): ${p}` })
      }
    }
  }
  return { findings: out, ir: result.ir !== undefined }
}

const POSITION = "line/column do not match the offset"

/** Tokens a formatter must keep (commas, `{`-hopping and `final true` aside), as in format.test.ts. */
const keptTokens = (text: string): Array<string> => {
  const tokens = ccatLexer.tokenize(text).tokens
  return tokens
    .filter((t, i) => {
      const name = t.tokenType.name
      if (name === "Comma" || name === "LCurly") return false
      return !(name === "Kw_true" && /^Kw_(final|fan_out)$/.test(tokens[i - 1]?.tokenType.name ?? ""))
    })
    .map((t) => t.image)
}

const LOST_TOKENS = "formatting lost or changed tokens"

/** Formats one text; returns whether it was accepted and the violated properties. */
const checkFormat = (text: string): { ok: boolean; findings: Array<Finding> } => {
  const fail = (property: string, detail: string): { ok: boolean; findings: Array<Finding> } => ({
    ok: true,
    findings: [{ property, detail }]
  })
  let r: ReturnType<typeof formatText>
  try {
    r = formatText(text)
  } catch (e) {
    return {
      ok: false,
      findings: [
        {
          property: "formatText throws",
          detail: String((e as Error).stack ?? e)
            .split("\n")
            .slice(0, 4)
            .join(" | ")
        }
      ]
    }
  }
  if (!r.ok) return { ok: false, findings: [] }
  const parsed = parseText(r.text)
  if (parsed.lexErrors.length > 0 || parsed.parseErrors.length > 0) {
    return fail("formatted output has syntax errors", (parsed.parseErrors[0]?.message ?? parsed.lexErrors[0]?.message ?? "").slice(0, 200))
  }
  const findings: Array<Finding> = []
  let again: ReturnType<typeof formatText>
  try {
    again = formatText(r.text)
  } catch (e) {
    return fail("formatText throws on its own output", String(e))
  }
  if (!again.ok) findings.push({ property: "formatted output is refused by formatText", detail: again.reason })
  else if (again.text !== r.text)
    findings.push({
      property: "format is not idempotent",
      detail: `${JSON.stringify(r.text).slice(0, 200)} → ${JSON.stringify(again.text).slice(0, 200)}`
    })
  const before = keptTokens(text)
  const after = keptTokens(r.text)
  if (before.join("\u0000") !== after.join("\u0000")) {
    const i = before.findIndex((t, k) => after[k] !== t)
    findings.push({
      property: LOST_TOKENS,
      detail: `first difference at token #${i}: ${JSON.stringify(before[i])} became ${JSON.stringify(after[i])}`
    })
  }
  return { ok: true, findings }
}

/** Greedy shrinking of a failing token list: drop tokens while the same property still fails. */
const shrinkTokens = (tokens: ReadonlyArray<string>, fails: (text: string) => boolean): string => {
  let current = [...tokens]
  let changed = true
  while (changed) {
    changed = false
    for (const width of [4, 3, 2, 1]) {
      for (let i = 0; i + width <= current.length; i++) {
        const candidate = [...current.slice(0, i), ...current.slice(i + width)]
        if (fails(candidate.join(" "))) {
          current = candidate
          changed = true
          i--
        }
      }
    }
  }
  return current.join(" ")
}

/** Groups failures by property and renders the first examples of each, for the assertion message. */
const summarize = (failures: ReadonlyArray<Failure & { shrunk?: string }>): Array<string> => {
  const byProperty = new Map<string, Array<Failure & { shrunk?: string }>>()
  for (const f of failures) byProperty.set(f.property, [...(byProperty.get(f.property) ?? []), f])
  return [...byProperty].map(([property, list]) => {
    // A few examples of each origin (random tokens, mutated fixtures).
    const origins = [...new Set(list.map((f) => f.inputs[0]?.path))]
    const examples = origins
      .flatMap((o) => list.filter((f) => f.inputs[0]?.path === o).slice(0, 3))
      .map(
        (f) =>
          `    ${f.detail}\n      input: ${JSON.stringify(f.shrunk ?? (f.inputs.length === 1 ? f.inputs[0]!.text : f.inputs.map((i) => i.path).join(","))).slice(0, 400)}`
      )
      .join("\n")
    return `${property}: ${list.length} case(s)\n${examples}`
  })
}

// ---- (a) random token sequences ----

describe("(a) random token sequences", () => {
  const rng = new Rng(0xc0ffee)
  const cases = Array.from({ length: CASES }, () => randomTokens(rng))
  const texts = cases.map((tokens) => join(rng, tokens))
  let memo: Array<ReturnType<typeof checkCompile>> | undefined
  const results = (): Array<ReturnType<typeof checkCompile>> => (memo ??= texts.map((text) => checkCompile([{ path: "fuzz.ccat", text }])))
  const failuresOf = (select: (property: string) => boolean): Array<Failure & { shrunk?: string }> => {
    const failures: Array<Failure & { shrunk?: string }> = []
    results().forEach((r, i) => {
      for (const f of r.findings.filter((x) => select(x.property))) {
        const shrunk =
          failures.filter((x) => x.property === f.property).length < 3
            ? shrinkTokens(cases[i]!, (t) => checkCompile([{ path: "fuzz.ccat", text: t }]).findings.some((g) => g.property === f.property))
            : undefined
        failures.push({ ...f, inputs: [{ path: "fuzz.ccat", text: texts[i]! }], shrunk })
      }
    })
    return failures
  }

  it("compileSources never throws and returns an error or an IR; every span lies within the text", () => {
    expect(summarize(failuresOf((p) => p !== POSITION))).toEqual([])
    // The generator reaches both outcomes.
    expect(results().filter((r) => r.ir).length).toBeGreaterThan(0)
    expect(results().filter((r) => !r.ir).length).toBeGreaterThan(CASES / 2)
  })

  it("every diagnostic's line and column match its offsets", () => {
    expect(summarize(failuresOf((p) => p === POSITION))).toEqual([])
  })
})

// ---- (b) mutations of the valid fixtures ----

const unicode = [
  "é",
  "ß",
  "中文",
  "😀",
  "\u200b",
  "\u00a0",
  "\ufeff",
  "\u2028",
  "e\u0301",
  "\u202e",
  "\ud800",
  "\r",
  "\r\n",
  "\t",
  "\u0000",
  "Ω≈ç√"
]

const tokenRanges = (text: string): Array<IToken> => {
  const lexed = ccatLexer.tokenize(text)
  return [...lexed.tokens, ...(lexed.groups["comments"] ?? [])].sort((a, b) => a.startOffset - b.startOffset)
}

const mutate = (rng: Rng, text: string): { text: string; how: string } => {
  const tokens = tokenRanges(text)
  const tokenText = (t: IToken): string => text.slice(t.startOffset, (t.endOffset ?? t.startOffset) + 1)
  const at = rng.int(text.length + 1)
  switch (rng.int(6)) {
    case 0: {
      const length = rng.chance(0.7) ? rng.range(1, 10) : rng.range(1, 200)
      return { text: text.slice(0, at) + text.slice(at + length), how: `delete ${length} at ${at}` }
    }
    case 1: {
      const t = rng.pick(tokens)
      const end = (t.endOffset ?? t.startOffset) + 1
      return { text: text.slice(0, end) + " " + tokenText(t) + text.slice(end), how: `duplicate token ${JSON.stringify(t.image)}` }
    }
    case 2: {
      let [a, b] = [rng.pick(tokens), rng.pick(tokens)]
      if (a.startOffset > b.startOffset) [a, b] = [b, a]
      if (a === b) return { text, how: "swap a token with itself" }
      const aEnd = (a.endOffset ?? a.startOffset) + 1
      const bEnd = (b.endOffset ?? b.startOffset) + 1
      return {
        text: text.slice(0, a.startOffset) + tokenText(b) + text.slice(aEnd, b.startOffset) + tokenText(a) + text.slice(bEnd),
        how: `swap ${JSON.stringify(a.image)} and ${JSON.stringify(b.image)}`
      }
    }
    case 3: {
      const token = randomToken(rng)
      return { text: `${text.slice(0, at)} ${token} ${text.slice(at)}`, how: `insert ${JSON.stringify(token)} at ${at}` }
    }
    case 4: {
      const half = Math.floor(text.length / 2)
      return rng.chance(0.5) ? { text: text.slice(0, half), how: "first half" } : { text: text.slice(half), how: "second half" }
    }
    default: {
      const u = rng.pick(unicode)
      return { text: text.slice(0, at) + u + text.slice(at), how: `insert ${JSON.stringify(u)} at ${at}` }
    }
  }
}

describe("(b) mutations of the valid fixtures", () => {
  const sources = allValidSources()
  const rng = new Rng(0xbadc0de)
  const cases = Array.from({ length: CASES }, () => {
    const victim = rng.pick(sources)
    let { text, how } = mutate(rng, victim.text)
    // A third of the cases get a second mutation.
    if (rng.chance(0.33)) {
      const second = mutate(rng, text)
      text = second.text
      how = `${how}; ${second.how}`
    }
    // A third of the cases compile the mutated file with its workspace siblings, the others alone.
    const folder = victim.path.slice(0, victim.path.lastIndexOf("/"))
    const siblings = rng.chance(0.33) ? sources.filter((s) => s !== victim && s.path.slice(0, s.path.lastIndexOf("/")) === folder) : []
    return { inputs: [{ path: victim.path, text }, ...siblings], how }
  })

  let memo: Array<ReturnType<typeof checkCompile>> | undefined
  const results = (): Array<ReturnType<typeof checkCompile>> => (memo ??= cases.map((c) => checkCompile(c.inputs)))
  const failuresOf = (select: (property: string) => boolean): Array<Failure> =>
    cases.flatMap((c, i) => {
      const found = results()[i]!.findings
      return found
        .filter((f) => select(f.property))
        .map((f) => ({ ...f, detail: `${f.detail} [${c.inputs[0]!.path}: ${c.how}]`, inputs: c.inputs }))
    })

  it("compileSources never throws and returns an error or an IR; every span lies within its file", () => {
    expect(summarize(failuresOf((p) => p !== POSITION))).toEqual([])
  })

  it("every diagnostic's line and column match its offsets", () => {
    expect(summarize(failuresOf((p) => p === POSITION))).toEqual([])
  })

  // Exposed for (c).
  mutatedTexts.push(...cases.map((c) => ({ text: c.inputs[0]!.text, how: `${c.inputs[0]!.path}: ${c.how}` })))
})

// ---- (c) the formatter on all of the above ----

describe("(c) formatText on random and mutated inputs", () => {
  const rng = new Rng(0xf0f0)
  const random = Array.from({ length: CASES }, () => randomTokens(rng)).map((tokens) => ({ tokens, text: join(rng, tokens) }))
  const accepted = { random: 0, mutated: 0 }

  let memo: Array<Failure & { shrunk?: string }> | undefined
  const failuresOf = (select: (property: string) => boolean): Array<Failure & { shrunk?: string }> =>
    (memo ??= runAll()).filter((f) => select(f.property))
  const runAll = (): Array<Failure & { shrunk?: string }> => {
    const failures: Array<Failure & { shrunk?: string }> = []
    for (const r of random) {
      const checked = checkFormat(r.text)
      if (checked.ok) accepted.random++
      for (const f of checked.findings) {
        const shrunk =
          failures.filter((x) => x.property === f.property).length < 3
            ? shrinkTokens(r.tokens, (t) => checkFormat(t).findings.some((g) => g.property === f.property))
            : undefined
        failures.push({ ...f, inputs: [{ path: "fuzz.ccat", text: r.text }], shrunk })
      }
    }
    for (const m of mutatedTexts) {
      const checked = checkFormat(m.text)
      if (checked.ok) accepted.mutated++
      for (const f of checked.findings) {
        failures.push({
          ...f,
          detail: `${f.detail} [${m.how}]`,
          inputs: [{ path: "mutated.ccat", text: m.text }],
          shrunk: m.text.length < 400 ? m.text : undefined
        })
      }
    }
    return failures
  }

  it("never throws; when it accepts, the output re-parses cleanly and formats to itself", () => {
    expect(mutatedTexts.length).toBe(CASES)
    expect(summarize(failuresOf((p) => p !== LOST_TOKENS))).toEqual([])
  })

  it("when it accepts, the output keeps every token of the input", () => {
    expect(summarize(failuresOf((p) => p === LOST_TOKENS))).toEqual([])
  })

  it("accepts a good share of the random and mutated inputs (the properties are not vacuous)", () => {
    failuresOf(() => true)
    expect(accepted.random).toBeGreaterThan(CASES / 50)
    expect(accepted.mutated).toBeGreaterThan(CASES / 10)
  })
})

// ---- (d) numbers out of range in every numeric slot of the valid fixtures ----

type NumericSlotKind = "integer" | "decimal" | "percent" | "quantity" | "version" | "versionString" | "cron"

interface NumericSlot {
  readonly source: SourceInput
  readonly kind: NumericSlotKind
  /** The part to replace: the number of a token (not its unit), or a run of digits in a string. */
  readonly start: number
  readonly end: number
}

const numericSlots = (source: SourceInput): Array<NumericSlot> => {
  const out: Array<NumericSlot> = []
  const tokens = ccatLexer.tokenize(source.text).tokens
  tokens.forEach((t, i) => {
    const start = t.startOffset
    const end = start + t.image.length
    const add = (kind: NumericSlotKind, from: number, to: number): void => void out.push({ source, kind, start: from, end: to })
    switch (t.tokenType.name) {
      case "IntegerLiteral":
        return add("integer", start, end)
      case "DecimalLiteral":
        return add("decimal", start, end)
      case "Percent":
        return add("percent", start, end - 1)
      case "Quantity":
        return add("quantity", start, start + /^[\d.]+(?:[eE][+-]?\d+)?/.exec(t.image)![0].length)
      case "VersionLiteral":
        return add("version", start, start + /^\d+/.exec(t.image)![0].length)
      case "StringLiteral": {
        // Numbers inside strings that the checker reads as numbers: versions and cron fields.
        const inVersions = /^"\d+\.\d+\.\d+/.test(t.image)
        const inCron = tokens[i - 1]?.tokenType.name === "Kw_cron"
        if (!inVersions && !inCron) return
        for (const m of t.image.matchAll(/\d+/g)) add(inVersions ? "versionString" : "cron", start + m.index, start + m.index + m[0].length)
        return
      }
    }
  })
  return out
}

const digitRun = (rng: Rng, length: number): string => `${rng.range(1, 9)}${Array.from({ length: length - 1 }, () => rng.int(10)).join("")}`

/** A number beyond the range of a double. */
const hugeExponent = (rng: Rng): string =>
  `${rng.range(1, 9)}${rng.chance(0.5) ? `.${rng.range(0, 99)}` : ""}${rng.pick(["e", "E"])}${rng.pick(["", "+"])}${rng.chance(0.7) ? rng.range(309, 999) : rng.range(1000, 999_999)}`

/**
 * What replaces the number of a slot: out of range for that slot in every case. Whole numbers of
 * 17 digits or more are past 2^53 (and, as milliseconds or bytes, past what a duration or size
 * may be); decimals need 310 digits to leave the range of a double.
 */
const outOfRange = (rng: Rng, kind: NumericSlotKind, family: number): string => {
  switch (kind) {
    case "integer":
      return [() => digitRun(rng, rng.range(17, 400)), () => hugeExponent(rng), () => `-${digitRun(rng, rng.range(17, 400))}`][family]!()
    case "decimal":
      return [() => hugeExponent(rng), () => `${digitRun(rng, rng.range(310, 400))}.5`, () => `-${hugeExponent(rng)}`][family]!()
    case "quantity":
      return [() => hugeExponent(rng), () => digitRun(rng, rng.range(17, 400)), () => `${digitRun(rng, rng.range(310, 400))}.25`][family]!()
    case "percent":
      return [
        () => digitRun(rng, rng.range(310, 400)),
        () => digitRun(rng, rng.range(4, 400)),
        () => `${digitRun(rng, rng.range(310, 400))}.5`
      ][family]!()
    case "version":
    case "versionString":
    case "cron":
      return digitRun(rng, rng.range(17, 400))
  }
}

describe("(d) numbers out of range in every numeric slot of the valid fixtures", () => {
  const sources = allValidSources()
  const rng = new Rng(0x1e999)
  const families = 3
  const cases = sources.flatMap((source) => {
    const folder = source.path.slice(0, source.path.lastIndexOf("/"))
    const siblings = sources.filter((s) => s !== source && s.path.slice(0, s.path.lastIndexOf("/")) === folder)
    return numericSlots(source).flatMap((slot) =>
      Array.from({ length: families }, (_, family) => {
        const number = outOfRange(rng, slot.kind, family)
        const text = source.text.slice(0, slot.start) + number + source.text.slice(slot.end)
        return {
          inputs: [{ path: source.path, text }, ...siblings],
          slot,
          at: { start: slot.start, end: slot.start + number.length },
          number
        }
      })
    )
  })

  let memo: Array<Failure> | undefined
  const failures = (): Array<Failure> =>
    (memo ??= cases.flatMap((c) => {
      const describeCase = `[${c.slot.source.path}: ${c.slot.kind} ${JSON.stringify(c.slot.source.text.slice(c.slot.start, c.slot.end))} → ${JSON.stringify(c.number.length > 40 ? `${c.number.slice(0, 40)}…` : c.number)}]`
      const { findings } = checkCompile(c.inputs)
      const out: Array<Failure> = findings.map((f) => ({ ...f, detail: `${f.detail} ${describeCase}`, inputs: c.inputs }))
      if (findings.some((f) => f.property === "compileSources throws")) return out
      const errors = compileSources(c.inputs).diagnostics.filter((d) => d.severity === "error")
      const touches = errors.some((d) => d.span.file === c.slot.source.path && d.span.start < c.at.end && c.at.start < d.span.end)
      if (!touches) {
        out.push({
          property: "a number out of range is not reported where it is",
          detail: `${errors.map((d) => `${d.code} ${d.span.startLine}:${d.span.startColumn}`).join(", ") || "no errors"} ${describeCase}`,
          inputs: c.inputs
        })
      }
      return out
    }))

  it("reaches every numeric slot, each with every family of huge numbers", () => {
    const kinds = new Set(cases.map((c) => c.slot.kind))
    expect([...kinds].sort()).toEqual(["cron", "decimal", "integer", "percent", "quantity", "version", "versionString"])
    expect(cases.length).toBeGreaterThan(300)
  })

  it("compileSources never throws, and reports each number out of range with an error whose span touches it", () => {
    expect(summarize(failures().filter((f) => f.property !== POSITION))).toEqual([])
  })

  it("every diagnostic's line and column match its offsets", () => {
    expect(summarize(failures().filter((f) => f.property === POSITION))).toEqual([])
  })
})

// ---- (e) inputs at and past the limits ----

/** A stressor: text that, alone or inserted anywhere, pushes one limit. Sizes straddle the limit. */
const stressors: ReadonlyArray<{ name: string; make: (rng: Rng) => string }> = [
  {
    name: "parentheses",
    make: (rng) => {
      const n = depthAround(rng)
      return `where ${"(".repeat(n)}RawDataPackage.state == "ARCHIVED"${")".repeat(rng.chance(0.8) ? n : rng.int(n))}`
    }
  },
  {
    name: "maps",
    make: (rng) => {
      const n = depthAround(rng)
      return `config { ${"a = { ".repeat(n)}b = 1${" }".repeat(rng.chance(0.8) ? n + 1 : rng.int(n))}`
    }
  },
  {
    name: "lists",
    make: (rng) => {
      const n = depthAround(rng)
      return `config { a = ${"[".repeat(n)}1${"]".repeat(rng.chance(0.8) ? n : rng.int(n))} }`
    }
  },
  {
    name: "braces",
    make: (rng) => {
      const n = depthAround(rng)
      return `${"{ ".repeat(n)}${" }".repeat(rng.chance(0.8) ? n : rng.int(n))}`
    }
  },
  { name: "nots", make: (rng) => `where ${"not ".repeat(depthAround(rng))}Source.name == "x"` },
  { name: "mixed nesting", make: (rng) => Array.from({ length: depthAround(rng) }, () => rng.pick(["(", "not ", "[", "{ "])).join("") },
  {
    name: "errors",
    make: (rng) => Array.from({ length: rng.range(50, 5000) }, () => rng.pick(["; ", "@ ", "} ", "== ", ", ", "# x\n"])).join("")
  },
  {
    name: "long string",
    make: (rng) =>
      `description "${Array.from({ length: rng.range(1, 2000) }, () => rng.pick(["a", '\\"', "\\n", "\\u{", "\\u{1F600}", "\\q", "é"]))
        .join("")
        .repeat(rng.range(1, 20))}${rng.chance(0.8) ? '"' : ""}`
  },
  { name: "NUL", make: (rng) => `description "${rng.pick(["\\0", "\\u{0}", "\\u{00}", "\u0000"])}${rng.chance(0.5) ? "x" : ""}"` },
  {
    name: "huge number",
    make: (rng) =>
      rng.pick([
        "1e999",
        "-1e999",
        "1e999s",
        "1e999GiB",
        "1e999%",
        `${"9".repeat(rng.range(17, 2000))}`,
        `${"9".repeat(rng.range(310, 2000))}.5`
      ])
  },
  {
    name: "after chain",
    make: (rng) => {
      const n = rng.range(50, 1500)
      return Array.from({ length: n }, (_, i) => `step s${i} { after s${(i + n - 1) % n} run tool group_by all }`).join("\n")
    }
  },
  {
    name: "from chain",
    make: (rng) => {
      const n = rng.range(maxNesting - 5, 300)
      return Array.from({ length: n }, (_, i) => `grouping g${i} { ${i === 0 ? "" : `from g${i - 1} `}where Source.name != "s${i}" }`).join(
        "\n"
      )
    }
  }
]

/** Mostly near the limit, sometimes far past it. */
const depthAround = (rng: Rng): number => (rng.chance(0.7) ? rng.range(maxNesting - 5, maxNesting + 5) : rng.range(maxNesting, 1500))

const LIMIT_CASES = 96

describe("(e) inputs at and past the compiler's limits, alone and inside the example workspaces", () => {
  const sources = allValidSources()
  const rng = new Rng(0x1171a5)
  const cases = Array.from({ length: LIMIT_CASES }, (_, i) => {
    const stressor = stressors[i % stressors.length]!
    const stress = stressor.make(rng)
    if (rng.chance(0.3)) return { inputs: [{ path: "limits.ccat", text: stress }], how: `${stressor.name} alone` }
    const victim = rng.pick(sources)
    // After a token, so that the stressor lands between tokens as often as inside one.
    const at = rng.int(victim.text.length + 1)
    return {
      inputs: [{ path: victim.path, text: `${victim.text.slice(0, at)} ${stress} ${victim.text.slice(at)}` }],
      how: `${stressor.name} at ${at} of ${victim.path}`
    }
  })

  let memo: Array<Failure> | undefined
  const failures = (): Array<Failure> =>
    (memo ??= cases.flatMap((c) => {
      const out: Array<Failure> = checkCompile(c.inputs).findings.map((f) => ({ ...f, detail: `${f.detail} [${c.how}]`, inputs: c.inputs }))
      const text = c.inputs[0]!.text
      const attempt = (property: string, run: () => unknown): void => {
        try {
          run()
        } catch (e) {
          out.push({
            property,
            detail: `${String((e as Error).stack ?? e)
              .split("\n")
              .slice(0, 3)
              .join(" | ")} [${c.how}]`,
            inputs: c.inputs
          })
        }
      }
      attempt("formatText throws", () => formatText(text))
      attempt("the incremental parser throws", () => {
        const parser = new IncrementalParser()
        compileSources(c.inputs, { parse: parser.parse })
        // An edit in the middle: pieces before and after are reused, the middle parsed again.
        const middle = Math.floor(text.length / 2)
        compileSources([{ path: c.inputs[0]!.path, text: `${text.slice(0, middle)}x${text.slice(middle)}` }], { parse: parser.parse })
      })
      attempt("completionContext throws", () => {
        for (const offset of [0, Math.floor(text.length / 3), Math.floor((2 * text.length) / 3), text.length])
          completionContext(text, offset)
      })
      attempt("semantic tokens throw", () => classifyTokens(text))
      return out
    }))

  it("nothing throws (compiler, formatter, incremental parser, completion, semantic tokens); an error or an IR; every span within its file", () => {
    expect(summarize(failures())).toEqual([])
  })

  it("reaches every stressor, alone and inside a workspace", () => {
    expect(new Set(cases.map((c) => c.how.split(" ")[0])).size).toBeGreaterThanOrEqual(stressors.length - 2)
    expect(cases.filter((c) => c.how.endsWith("alone")).length).toBeGreaterThan(10)
  })
})
