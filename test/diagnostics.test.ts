import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Duration, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { compileSources } from "../src/compiler/compile.ts"
import { definitions, type Diagnostic } from "../src/compiler/diagnostics.ts"
import { defaultLoopIntervalSeconds } from "../src/compiler/properties.ts"
import { defaultTriggerIntervalSeconds } from "../src/compiler/trigger-interval.ts"

/*
 * Invalid fixtures: each `test/fixtures/invalid/<CODE>-<name>.ccat` is a small workspace that
 * should produce exactly the diagnostics its comments announce, nothing more and nothing less.
 *
 * Two ways to write an expectation, both as `//` line comments:
 *
 *   1. Carets under the span, on the line right after the offending one:
 *
 *          run chai_calibraton ^2.3
 *        //    ^^^^^^^^^^^^^^^ E011
 *
 *      The carets sit at exactly the columns of the span on the nearest line above that is not
 *      itself an expectation (so several caret lines may follow one source line). Columns are
 *      absolute: the `//` may be indented, but it must end before the first caret.
 *
 *   2. Explicitly, for spans that are empty, span lines, start in the first two columns or sit
 *      where a comment cannot follow (e.g. inside an unterminated block comment):
 *
 *        // expect E006 at 3:14-3:15        line:startColumn-endColumn
 *        // expect E006 at 3:14-4:2         startLine:startColumn-endLine:endColumn
 *
 *      Lines and columns are 1-based; the end column is exclusive.
 */

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")
const fixtureDir = join(here, "fixtures", "invalid")

interface Expectation {
  readonly code: string
  readonly startLine: number
  readonly startColumn: number
  readonly endLine: number
  readonly endColumn: number
  /** The line of the comment that states it, for messages. */
  readonly statedAt: number
}

const caretLine = /^(\s*\/\/\s*)(\^+)\s+([EW]\d{3})\s*$/
const explicitLine = /^\s*\/\/\s*expect\s+([EW]\d{3})\s+at\s+(\d+):(\d+)-(?:(\d+):)?(\d+)\s*$/
// Anything that looks like an attempt at an expectation but matches neither form is an error,
// so a typo in a fixture cannot silently drop an expectation.
const looksLikeExpectation = /^\s*\/\/\s*(\^|expect\b)/

const parseExpectations = (text: string): ReadonlyArray<Expectation> => {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""))
  const out: Array<Expectation> = []
  let anchor: number | undefined // 1-based line the caret lines refer to
  lines.forEach((line, index) => {
    const lineNumber = index + 1
    const caret = caretLine.exec(line)
    if (caret !== null) {
      if (anchor === undefined) throw new Error(`line ${lineNumber}: caret expectation with no source line above it`)
      const startColumn = caret[1]!.length + 1
      out.push({
        code: caret[3]!,
        startLine: anchor,
        startColumn,
        endLine: anchor,
        endColumn: startColumn + caret[2]!.length,
        statedAt: lineNumber
      })
      return
    }
    const explicit = explicitLine.exec(line)
    if (explicit !== null) {
      const startLine = Number(explicit[2])
      const hasEndLine = explicit[4] !== undefined
      out.push({
        code: explicit[1]!,
        startLine,
        startColumn: Number(explicit[3]),
        endLine: hasEndLine ? Number(explicit[4]) : startLine,
        endColumn: Number(explicit[5]),
        statedAt: lineNumber
      })
      return
    }
    if (looksLikeExpectation.test(line)) throw new Error(`line ${lineNumber}: malformed expectation: ${line.trim()}`)
    anchor = lineNumber
  })
  return out
}

const key = (x: { code: string; startLine: number; startColumn: number; endLine: number; endColumn: number }): string =>
  `${x.code} at ${x.startLine}:${x.startColumn}-${x.endLine === x.startLine ? "" : `${x.endLine}:`}${x.endColumn}`

const actualKey = (d: Diagnostic): string =>
  key({ code: d.code, startLine: d.span.startLine, startColumn: d.span.startColumn, endLine: d.span.endLine, endColumn: d.span.endColumn })

const sourceLine = (lines: ReadonlyArray<string>, n: number): string => `${String(n).padStart(4)} | ${lines[n - 1] ?? ""}`

const underline = (lines: ReadonlyArray<string>, startLine: number, startColumn: number, endLine: number, endColumn: number): string => {
  const width =
    endLine === startLine ? Math.max(1, endColumn - startColumn) : Math.max(1, (lines[startLine - 1]?.length ?? 0) - startColumn + 1)
  return `${sourceLine(lines, startLine)}\n       ${" ".repeat(Math.max(0, startColumn - 1))}${"^".repeat(width)}`
}

const fixtureFiles = readdirSync(fixtureDir)
  .filter((f) => f.endsWith(".ccat"))
  .sort()

const compileFixture = (file: string) => {
  const path = relative(root, join(fixtureDir, file)).split("\\").join("/")
  const text = readFileSync(join(fixtureDir, file), "utf8")
  return { path, text, result: compileSources([{ path, text }]) }
}

const codeOfFile = (file: string): string => file.slice(0, 4)

describe("invalid fixtures", () => {
  it("exist", () => {
    expect(fixtureFiles.length).toBeGreaterThan(0)
  })

  it.each(fixtureFiles)("%s", (file) => {
    const { path, text, result } = compileFixture(file)
    const lines = text.split("\n").map((l) => l.replace(/\r$/, ""))
    const expected = parseExpectations(text)

    expect(Object.keys(definitions), `${file}: the name must start with a known code`).toContain(codeOfFile(file))
    expect(
      expected.map((e) => e.code),
      `${file}: a fixture must expect the code it is named after`
    ).toContain(codeOfFile(file))

    const expectedKeys = new Set(expected.map(key))
    const actualKeys = new Set(result.diagnostics.map(actualKey))
    const missing = expected.filter((e) => !actualKeys.has(key(e)))
    const extra = result.diagnostics.filter((d) => !expectedKeys.has(actualKey(d)))
    if (missing.length === 0 && extra.length === 0) return

    const report: Array<string> = [`${path}: diagnostics differ from the expectations`, ""]
    report.push("expected:")
    for (const e of expected) report.push(`  ${key(e)}   (stated on line ${e.statedAt})`)
    if (expected.length === 0) report.push("  (nothing)")
    report.push("actual:")
    for (const d of result.diagnostics) report.push(`  ${actualKey(d)}   ${d.severity}: ${d.message}`)
    if (result.diagnostics.length === 0) report.push("  (nothing)")
    for (const e of missing) {
      report.push("", `missing ${key(e)}:`, underline(lines, e.startLine, e.startColumn, e.endLine, e.endColumn))
    }
    for (const d of extra) {
      const s = d.span
      report.push(
        "",
        `unexpected ${actualKey(d)}: ${d.severity}[${d.code}] ${d.message}`,
        underline(lines, s.startLine, s.startColumn, s.endLine, s.endColumn),
        ...d.help.map((h) => `       help: ${h}`)
      )
    }
    expect.fail(report.join("\n"))
  })

  it("cover every diagnostic code", () => {
    const covered = new Set<string>()
    for (const file of fixtureFiles) {
      const expected = parseExpectations(readFileSync(join(fixtureDir, file), "utf8"))
      if (expected.some((e) => e.code === codeOfFile(file))) covered.add(codeOfFile(file))
    }
    // E103 needs a file over 10 MiB (test/compiler-limits.test.ts); E104 bytes that are not UTF-8,
    // which a fixture read as text cannot hold (test/binary-files.test.ts); E900 is the language
    // server's when the compiler throws, which no fixture can make it do (test/lsp-crash.test.ts).
    const untestable = ["E103", "E104", "E900"]
    const uncovered = Object.keys(definitions).filter((code) => !covered.has(code) && !untestable.includes(code))
    expect(uncovered, `codes without a fixture named after them: ${uncovered.join(", ")}`).toEqual([])
  })
})

describe("expectation comments", () => {
  it("read carets at absolute columns and explicit positions", () => {
    const text = ["  run tol ^1.0", "//    ^^^ E011", "  //  ^ E060", "// expect E006 at 3:14-3:15", "// expect E005 at 2:1-4:2"].join("\n")
    expect(parseExpectations(text).map(key)).toEqual(["E011 at 1:7-10", "E060 at 1:7-8", "E006 at 3:14-15", "E005 at 2:1-4:2"])
  })

  it("refuse a malformed expectation", () => {
    expect(() => parseExpectations("x\n// ^^^ E11")).toThrow(/malformed expectation/)
    expect(() => parseExpectations("// expect E011 at 3")).toThrow(/malformed expectation/)
  })
})

/*
 * Suggestions: a misspelling close to a known word gets "did you mean" help and a quick fix
 * that replaces exactly the diagnostic's span.
 */
const suggestions: ReadonlyArray<{ code: string; file: string; replacement: string }> = [
  { code: "E011", file: "E011-unknown-software.ccat", replacement: "chai_calibration" },
  { code: "E020", file: "E020-unknown-property.ccat", replacement: "cooldown" },
  { code: "E030", file: "E030-unknown-table.ccat", replacement: "Source" },
  { code: "E031", file: "E031-unknown-column.ccat", replacement: "line_id" },
  { code: "E034", file: "E034-unknown-enum-value.ccat", replacement: '"ARCHIVED"' },
  { code: "E042", file: "E042-unknown-dimension.ccat", replacement: "executed_obs_unit" },
  { code: "E045", file: "E045-unknown-output-kind.ccat", replacement: "science" },
  { code: "E047", file: "E047-unknown-failure-reason.ccat", replacement: "OOM" },
  { code: "E081", file: "E081-retry-resource.ccat", replacement: "memory" },
  { code: "E053", file: "E053-unknown-trigger.ccat", replacement: "continuous" },
  { code: "E090", file: "E090-unknown-backend.ccat", replacement: "slurm" }
]

describe("suggestions", () => {
  it.each(suggestions)("$code in $file offers `$replacement`", ({ code, file, replacement }) => {
    const { result } = compileFixture(file)
    const d = result.diagnostics.find((x) => x.code === code)
    expect(d, `${file} reports no ${code}`).toBeDefined()
    expect(d!.help.join("\n")).toMatch(/did you mean/)
    expect(d!.help.join("\n")).toContain(replacement.replace(/^"|"$/g, ""))
    expect(d!.fixes.length).toBeGreaterThan(0)
    const fix = d!.fixes[0]!
    expect(fix.replacement).toBe(replacement)
    expect(fix.span).toEqual(d!.span)
  })

  it("E060 tells which versions exist and how to use the newest", () => {
    const { result } = compileFixture("E060-no-version-satisfies.ccat")
    const d = result.diagnostics.find((x) => x.code === "E060")!
    expect(d.notes.join("\n")).toMatch(/declared versions: 2\.3\.1, 2\.4\.0/)
    expect(d.help.join("\n")).toMatch(/\^2\.4\.0/)
  })

  it("E084 names the number and why it cannot stand, wherever it is written", () => {
    const messages = (file: string) => compileFixture(file).result.diagnostics.map((d) => d.message)
    expect(messages("E084-infinite-config-value.ccat")).toEqual([
      "number out of range: `1e999` is not a finite number",
      "number out of range: `-1e999` is not a finite number",
      "number out of range: `1.5e400` is not a finite number"
    ])
    expect(messages("E084-quantity-overflows-its-unit.ccat")).toEqual([
      "number out of range: `9e300w` is longer than 9007199254740991 ms (about 285 000 years)",
      "number out of range: `9007199254740992ms` is longer than 9007199254740991 ms (about 285 000 years)",
      "number out of range: `9e300TiB` is larger than 9007199254740991 bytes (8 PiB)"
    ])
    const inexact = compileFixture("E084-inexact-integer.ccat").result.diagnostics.find((d) => d.message.includes("12345678901234567890"))!
    expect(inexact.message).toBe(
      "number out of range: `12345678901234567890` is beyond ±9007199254740991, the largest whole number held exactly"
    )
    expect(inexact.help.join("\n")).toContain('`"12345678901234567890"`')
    // A 310-digit literal is underlined whole and shown by its ends.
    expect(messages("E084-infinite-percentage.ccat")).toEqual([
      `number out of range: \`${"9".repeat(16)}…${"9".repeat(8)}\` is not a finite number`
    ])
  })

  it("E084: `1e999s` is one literal, and a config with such a value asks for no missing key", () => {
    const { result } = compileFixture("E084-infinite-quantity.ccat")
    expect(result.diagnostics.map((d) => d.code)).toEqual(["E084", "E084", "E084", "E084"])
    expect(compileFixture("E084-infinite-config-value.ccat").result.diagnostics.some((d) => d.code === "E070")).toBe(false)
  })

  it("E046 says what is wrong with each pattern; W007 says how to allow no outputs", () => {
    expect(compileFixture("E046-malformed-output-pattern.ccat").result.diagnostics.map((d) => d.message)).toEqual([
      "malformed output pattern: a `[` is never closed by `]`",
      "malformed output pattern: the pattern is empty",
      "malformed output pattern: it is an absolute path; patterns are relative to the kind's folder",
      "malformed output pattern: a `..` segment would leave the kind's folder",
      "malformed output pattern: it contains a NUL character, which no file name has"
    ])
    const empty = compileFixture("W007-empty-outputs-block.ccat").result.diagnostics[0]!
    expect(empty.message).toBe("the `outputs` block of step `calibrate` is empty: its runs need produce nothing")
    expect(empty.help.join("\n")).toContain("`outputs { science min 0 }`")
  })

  it("retries: each failure reason, resource and factor says what is wrong and how to write it", () => {
    const all = (file: string) => compileFixture(file).result.diagnostics
    const reasons = all("E047-unknown-failure-reason.ccat")
    expect(reasons.map((d) => [d.message, d.help.join(" "), d.fixes.map((f) => f.replacement)])).toEqual([
      ["unknown failure reason `oom`", "did you mean `OOM`?", ["OOM"]],
      ["unknown failure reason `OUT_OF_MEMORY`", "did you mean `OOM`?", ["OOM"]],
      ["unknown failure reason `EXITCODE`", "did you mean `EXIT_CODE`?", ["EXIT_CODE"]],
      [
        "unknown failure reason `OUT_OF_SPACE`",
        "a full disk is no failure: the run waits for room and the attempt does not count, so it needs no retry",
        []
      ],
      ["unknown failure reason `NODEFAIL`", "did you mean `NODE_FAIL`?", ["NODE_FAIL"]],
      ["unknown failure reason `timeout`", "did you mean `TIMEOUT`?", ["TIMEOUT"]]
    ])
    const unretried = all("E048-adjustment-for-unretried-reason.ccat")[0]!
    expect(unretried.message).toBe("step `calibrate` does not retry `OOM`: an adjustment on it never applies")
    expect(unretried.help).toEqual(["retry it too: `on TIMEOUT, OOM, NODE_FAIL`, or remove the adjustment"])
    // The fix adds the reason after the last one listed.
    expect(unretried.fixes[0]!.replacement).toBe(", OOM")
    expect([
      unretried.fixes[0]!.span.startLine,
      unretried.fixes[0]!.span.startColumn,
      unretried.fixes[0]!.span.end - unretried.fixes[0]!.span.start
    ]).toEqual([21, 36, 0])
    expect(unretried.related.map((r) => r.message)).toEqual(["the failures the step retries"])
    const factors = all("E024-retry-count-and-factor.ccat")
    expect(factors.map((d) => [d.message, d.fixes.map((f) => f.replacement)])).toEqual([
      ['`retries` expects a whole number, found the string "3"', []],
      ["`memory` expects a factor such as `x2` or `x1.5`, found the number `2`", ["x2"]],
      ["`time` expects a factor such as `x2` or `x1.5`, found `1.5x`", ["x1.5"]],
      ['`cpus` expects a factor such as `x2` or `x1.5`, found the string "x2"', []],
      ["`cpus` expects a factor such as `x2` or `x1.5`, found the name `times2`", []]
    ])
    expect(all("E080-retry-factor.ccat").map((d) => d.message)).toEqual([
      "a retry's factor must be above x1 and at most x16, found `x1`",
      "a retry's factor must be above x1 and at most x16, found `x0.5`",
      "a retry's factor must be above x1 and at most x16, found `x17`"
    ])
    expect(all("E081-retry-resource.ccat").map((d) => d.help.join(" "))).toEqual([
      "did you mean `memory`?",
      "only `cpus`, `memory` and `time` grow on a retry; `gpus` stays as `resources` sets it",
      "a retry grows `cpus`, `memory` or `time`"
    ])
    expect(all("E005-retries-without-count.ccat")[0]!.message).toBe(
      "expected the number of retries before keyword `on`, such as `retries 3 on OOM`"
    )
    expect(all("E020-failure-reason-without-on.ccat")[0]!.help).toEqual([
      "failure reasons follow `on` in `retries`: `retries 3 on TIMEOUT`"
    ])
    const unset = all("W009-retry-grows-unset-resource.ccat")
    expect(unset.map((d) => [d.message, d.help.join(" ")])).toEqual([
      [
        "step `calibrate` sets no `memory` in `resources`: a retry has nothing to multiply, and asks for the backend's default again",
        "give it a base to grow from: `resources { memory 16GiB }`"
      ],
      [
        "step `calibrate` sets no `time` in `resources` and no `timeout`: a retry has nothing to multiply, and asks for the backend's default again",
        "give it a base to grow from: `resources { time 2h }`"
      ]
    ])
    expect(all("W008-retries-zero-with-reasons.ccat")[0]!.message).toBe(
      "step `calibrate` retries nothing (`retries 0`): its failure reasons and adjustments never apply"
    )
  })

  it("W001 compares a cooldown with the trigger loop's real default interval, from the module both read", async () => {
    expect(defaultLoopIntervalSeconds).toBe(defaultTriggerIntervalSeconds)
    // The runtime's loop, with CCAT_TRIGGER_INTERVAL unset, waits exactly that long.
    const { TriggerLoopConfig } = await import("../src/runtime/trigger-loop.ts")
    const config = Effect.runSync(Effect.withConfigProvider(TriggerLoopConfig, ConfigProvider.fromMap(new Map())))
    expect(Duration.toSeconds(config.interval)).toBe(defaultTriggerIntervalSeconds)

    const withCooldown = (cooldown: string, options: { loopIntervalSeconds?: number } = {}) => {
      const { text } = compileFixture("W001-short-cooldown.ccat")
      return compileSources([{ path: "w.ccat", text: text.replace("cooldown 5s", `cooldown ${cooldown}`) }], options).diagnostics.filter(
        (d) => d.code === "W001"
      )
    }
    expect(withCooldown("20s").map((d) => [d.message, d.help.join(" ")])).toEqual([
      [
        `cooldown 20s is shorter than the runtime's loop interval (${defaultTriggerIntervalSeconds}s); it acts as ${defaultTriggerIntervalSeconds}s`,
        `the trigger loop decides at most once per pass, and runs a pass at least every ${defaultTriggerIntervalSeconds}s (\`CCAT_TRIGGER_INTERVAL\`): write \`cooldown ${defaultTriggerIntervalSeconds}s\` or more, or leave it out`
      ]
    ])
    expect(withCooldown(`${defaultTriggerIntervalSeconds}s`)).toEqual([])
    expect(withCooldown("1m")).toEqual([])
    // A caller that knows the interval configured (CCAT_TRIGGER_INTERVAL) may say so.
    expect(withCooldown("20s", { loopIntervalSeconds: 10 })).toEqual([])
    expect(withCooldown("1m", { loopIntervalSeconds: 120 }).map((d) => d.message)).toEqual([
      "cooldown 1m is shorter than the runtime's loop interval (2m); it acts as 2m"
    ])
  })

  it("E083 on a bare `G` explains binary and decimal units", () => {
    const { result } = compileFixture("E083-bare-gigabytes.ccat")
    const d = result.diagnostics.find((x) => x.code === "E083")!
    expect(d.help.join("\n")).toMatch(/GiB/)
    expect(d.help.join("\n")).toMatch(/GB/)
  })
})
