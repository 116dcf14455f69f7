// Generates docs/language.md, the reference of the .ccat language, from the compiler's own tables:
//   npx tsx scripts/generate-language-reference.ts           writes docs/language.md
//   npx tsx scripts/generate-language-reference.ts --check   exits 1 if docs/language.md is stale
//
// Sources: grammar/ccat.ebnf (included verbatim), src/compiler/properties.ts (blocks and their
// properties), src/compiler/schema-registry.ts (tables, columns, join paths, group_by
// dimensions), src/compiler/diagnostics.ts (codes and messages), src/compiler/lexer.ts
// (keywords, operators) and src/compiler/quantities.ts (units). Which operator and which kind of
// literal a column type accepts is asked of the checker itself, by compiling one-line probes.
// test/language-reference.test.ts fails when the committed file differs from the output.
import { readFileSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { TokenType } from "chevrotain"
import { compileSources } from "../src/compiler/compile.ts"
import { definitions, type DiagnosticCode } from "../src/compiler/diagnostics.ts"
import { limitsReference } from "../src/compiler/limits.ts"
import * as T from "../src/compiler/lexer.ts"
import {
  backends,
  blockProperties,
  containerRuntimes,
  defaultLoopIntervalSeconds,
  failureReasons,
  growableResourceSpecs,
  maxRetryFactor,
  outputKinds,
  resourceKeys,
  triggerModes,
  versionPolicies,
  type BlockKind,
  type PropertySpec,
  type ResourceSpec
} from "../src/compiler/properties.ts"
import { durationUnits, formatDuration, maxExactInteger, sizeUnits } from "../src/compiler/quantities.ts"
import { determinedBy, dimensions, joinPath, tables, type ColumnType, type TableDefinition } from "../src/compiler/schema-registry.ts"

export const outputPath = "docs/language.md"
export const generatorCommand = "npx tsx scripts/generate-language-reference.ts"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const grammarPath = "grammar/ccat.ebnf"

/** The reference as it should be on disk, for the grammar text given. Pure and deterministic. */
export const renderLanguageReference = (grammar: string): string => {
  const out: Array<string> = []
  const section = (...lines: Array<string>) => out.push(...lines, "")
  header(section)
  overview(section)
  grammarSection(section, grammar)
  blocksSection(section, grammar)
  filtersSection(section)
  diagnosticsSection(section)
  limitsSection(section)
  return `${out.join("\n").trimEnd()}\n`
}

/** The reference for the grammar in this repository. */
export const languageReference = (): string => renderLanguageReference(readFileSync(resolve(repoRoot, grammarPath), "utf8"))

// ---- Markdown helpers -----------------------------------------------------------------------

/** Inline code, with enough backticks to hold the text. */
const code = (text: string): string => {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = "`".repeat(longest + 1)
  return longest === 0 ? `${fence}${text}${fence}` : `${fence} ${text} ${fence}`
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ")

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n")

const codes = (words: ReadonlyArray<string>, separator = ", "): string => words.map(code).join(separator)

const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-")

// ---- Facts from the lexer and the unit tables -----------------------------------------------

const hasCategory = (token: TokenType, category: TokenType): boolean => (token.CATEGORIES ?? []).includes(category)
const keywordWord = (token: TokenType): string => T.keywordText(token) ?? token.name

const reservedWords = T.keywords.filter((t) => !hasCategory(t, T.Name)).map(keywordWord)
const otherKeywords = T.keywords.filter((t) => hasCategory(t, T.Name)).map(keywordWord)
const declarationKeywords = T.keywords.filter((t) => hasCategory(t, T.DeclarationKeyword)).map(keywordWord)
/** `==`, `!=`, ... in the lexer's order. */
const comparisonOperators = T.allTokens
  .filter((t) => hasCategory(t, T.ComparisonOperator))
  .map((t) => (t.LABEL ?? t.name).replace(/`/g, ""))

const superscript = (n: number): string => [...String(n)].map((d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[Number(d)]).join("")

/** `1024³ B` for GiB, `1000 B` for kB. */
const bytesText = (bytes: number): string => {
  for (const base of [1024, 1000]) {
    for (let n = 1; base ** n <= bytes; n++) if (base ** n === bytes) return n === 1 ? `${base} B` : `${base}${superscript(n)} B`
  }
  return `${bytes} B`
}

/** A size as a literal of the language, in the largest unit that divides it: `64TiB`. */
const sizeLiteral = (bytes: number): string => {
  const units = Object.entries(sizeUnits).sort((a, b) => b[1] - a[1])
  for (const [unit, factor] of units) if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`
  return `${bytes}B`
}

const rangeText = (spec: ResourceSpec): string => {
  const show = (n: number): string => (spec.shape === "size" ? sizeLiteral(n) : spec.shape === "duration" ? formatDuration(n) : String(n))
  if (spec.min !== undefined && spec.max !== undefined) return `${code(show(spec.min))} .. ${code(show(spec.max))}`
  if (spec.min !== undefined) return `at least ${code(show(spec.min))}`
  if (spec.max !== undefined) return `at most ${code(show(spec.max))}`
  return "—"
}

// ---- Facts asked of the checker -------------------------------------------------------------

const probe = (where: string): ReadonlyArray<DiagnosticCode> =>
  compileSources([{ path: "probe.ccat", text: `grouping probe {\n  where ${where}\n}\n` }]).diagnostics.map((d) => d.code)

interface LiteralKind {
  readonly kind: string
  /** A literal of this kind fit for a column of the given type (a string must be a valid enum value or UUID). */
  readonly sample: (type: ColumnType, values: ReadonlyArray<string>) => string
}

const literalKinds: ReadonlyArray<LiteralKind> = [
  {
    kind: "string",
    sample: (type, values) =>
      type === "enum" ? `"${values[0] ?? ""}"` : type === "uuid" ? '"0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d"' : '"NGC253"'
  },
  { kind: "integer", sample: () => "42" },
  { kind: "decimal", sample: () => "2.5" },
  { kind: "boolean", sample: () => "true" },
  { kind: "date", sample: () => "2026-06-01" },
  { kind: "timestamp", sample: () => "2026-06-01T12:00:00Z" },
  { kind: "duration", sample: () => "60s" },
  { kind: "size", sample: () => "16GiB" },
  { kind: "percentage", sample: () => "85%" },
  { kind: "version", sample: () => "1.0.0" },
  { kind: "name", sample: () => "NGC253" },
  { kind: "list", sample: () => '["a"]' }
]

interface OperatorForm {
  readonly shown: string
  readonly write: (column: string, value: string) => string
}

const operatorForms: ReadonlyArray<OperatorForm> = [
  ...comparisonOperators.map((op): OperatorForm => ({ shown: op, write: (c, v) => `${c} ${op} ${v}` })),
  { shown: "in (…)", write: (c, v) => `${c} in (${v})` },
  { shown: "not in (…)", write: (c, v) => `${c} not in (${v})` },
  { shown: "like", write: (c) => `${c} like "N%"` },
  { shown: "not like", write: (c) => `${c} not like "N%"` }
]

interface TypeFacts {
  readonly type: ColumnType
  readonly example: string
  readonly operators: ReadonlyArray<string>
  readonly literals: ReadonlyArray<string>
}

/** Per column type of the registry (in order of first use): what the checker accepts. */
const typeFacts = (): ReadonlyArray<TypeFacts> => {
  const seen = new Map<ColumnType, { table: TableDefinition; column: string; values: ReadonlyArray<string> }>()
  for (const t of tables)
    for (const c of t.columns) if (!seen.has(c.type)) seen.set(c.type, { table: t, column: c.name, values: c.values ?? [] })
  return [...seen].map(([type, { table: t, column, values }]) => {
    const path = `${t.name}.${column}${type === "json" ? ".a.b" : ""}`
    const fallback = literalKinds[0]!.sample(type, values)
    const operators = operatorForms.filter((f) => !probe(f.write(path, fallback)).includes("E035")).map((f) => f.shown)
    const literals = literalKinds
      .filter((k) => !probe(`${path} == ${k.sample(type, values)}`).some((c) => definitions[c].severity === "error"))
      .map((k) => k.kind)
    return { type, example: path, operators, literals }
  })
}

// ---- Diagnostic message templates -----------------------------------------------------------

/**
 * A diagnostic's message with its parameters shown as `{name}`. A part that only appears when an
 * optional parameter is given is shown in brackets: `unknown {kind} `{name}`[ in {scope}]`.
 */
const messageTemplate = (code: DiagnosticCode): string => {
  const message = definitions[code].message as unknown as (p: Record<string, string | undefined>) => unknown
  const render = (missing?: string): { text: string | undefined; keys: ReadonlyArray<string> } => {
    const keys: Array<string> = []
    const params = new Proxy<Record<string, string | undefined>>(
      {},
      {
        get: (_, key) => {
          if (typeof key !== "string") return undefined
          if (!keys.includes(key)) keys.push(key)
          return key === missing ? undefined : `{${key}}`
        }
      }
    )
    try {
      const text = message(params)
      return { text: typeof text === "string" ? text : undefined, keys }
    } catch {
      return { text: undefined, keys }
    }
  }
  const full = render()
  let text = full.text ?? ""
  const inserts: Array<{ at: number; end: number }> = []
  for (const key of full.keys) {
    const without = render(key).text
    if (without === undefined || without.includes("undefined") || without.includes(`{${key}}`) || without.length >= text.length) continue
    let prefix = 0
    while (prefix < without.length && without[prefix] === text[prefix]) prefix++
    const removed = text.length - without.length
    if (text.slice(0, prefix) + text.slice(prefix + removed) !== without) continue
    inserts.push({ at: prefix, end: prefix + removed })
  }
  for (const { at, end } of inserts.sort((a, b) => b.at - a.at)) text = `${text.slice(0, at)}[${text.slice(at, end)}]${text.slice(end)}`
  return text
}

// ---- Sections -------------------------------------------------------------------------------

type Section = (...lines: Array<string>) => void

const blockKinds = Object.keys(blockProperties) as Array<BlockKind>

const header = (section: Section): void => {
  section(
    "# The .ccat language reference",
    "",
    `<!-- Generated by scripts/generate-language-reference.ts. Do not edit: run \`${generatorCommand}\`. -->`,
    "",
    "Generated from the compiler's own tables, so it says what the compiler does: the normative grammar",
    "(`grammar/ccat.ebnf`), the property table that the checker and the editor's completion and hover",
    "read (`src/compiler/properties.ts`), the schema registry (`src/compiler/schema-registry.ts`) and",
    'the diagnostic codes (`src/compiler/diagnostics.ts`). The README\'s "The language in one example"',
    "shows a whole workspace, and `pipelines/` holds real ones.",
    "",
    "1. [Overview](#1-overview)",
    "2. [Grammar](#2-grammar)",
    "3. [Blocks and properties](#3-blocks-and-properties)",
    "4. [Filters and group_by](#4-filters-and-group_by)",
    "5. [Diagnostics](#5-diagnostics)",
    "6. [Limits](#6-limits)"
  )
}

const overview = (section: Section): void => {
  const requiredOf = (block: BlockKind): string => {
    if (blockProperties[block] === undefined) throw new Error(`properties.ts has no block \`${block}\``)
    const required = blockProperties[block].filter((p) => p.required).map((p) => p.keyword)
    return required.length === 0 ? "none" : codes(required)
  }
  section(
    "## 1. Overview",
    "",
    "A **workspace** is every `.ccat` file of a folder. Each file is a sequence of declarations; the",
    "files compile together, in any order, and a reference may point into another file. Names are",
    "identifiers (`[A-Za-z_][A-Za-z0-9_]*`), unique per kind of declaration across the workspace, and",
    "never a keyword (E013). Keywords are case-sensitive. Whitespace and newlines carry no meaning.",
    "",
    table(
      ["Declaration", "Where", "Required properties", "All properties"],
      [
        ...declarationKeywords.map((k) => [code(`${k} NAME { … }`), "top level", requiredOf(k as BlockKind), `[${k}](#${anchor(k)})`]),
        [code("step NAME { … }"), "directly inside a `pipeline` (elsewhere E009)", requiredOf("step"), "[step](#step)"]
      ]
    ),
    "",
    "**Comments**: `// …` runs to the end of the line; `/* … */` ends at the first `*/` and does not",
    "nest (one never closed is E003). A `#` comment is an error (E001) with a fix to `//`.",
    "",
    `**Reserved words**, never a name, a key or a path segment: ${codes(reservedWords, " ")}.`,
    "",
    `**Other keywords** (declaration names, property names, trigger modes) cannot name a declaration but may be used as config keys, resource and backend option keys and JSON path segments: ${codes(otherKeywords, " ")}.`,
    "",
    "### Values",
    "",
    table(
      ["Kind", "Written as", "Examples"],
      [
        [
          "string",
          'double quotes, on one line; escapes `\\n \\t \\r \\" \\\\` and `\\u{1F600}` (others are E004; never the NUL character, E102)',
          code('"NGC253"')
        ],
        [
          "integer",
          `digits, optionally with a leading \`-\`; at most ±${maxExactInteger}, beyond which integers are not exact (E084)`,
          `${code("3")} ${code("-50")}`
        ],
        [
          "decimal",
          "a fraction and/or an exponent, optionally with a leading `-`; finite, so at most about 1.8e308 (E084)",
          `${code("2.5")} ${code("1e-3")}`
        ],
        ["boolean", "`true` or `false`", code("true")],
        ["percentage", "a number and `%`, never negative", code("85%")],
        [
          "duration",
          `a number (an exponent allowed) and a unit, nothing between: ${codes(Object.keys(durationUnits), " ")}; zero is never a valid duration (E082), and at most ${maxExactInteger} ms (E084)`,
          `${code("60s")} ${code("1.5h")} ${code("1d")} ${code("1.5e3ms")}`
        ],
        [
          "size",
          `a number and a unit, spelled exactly: ${codes(Object.keys(sizeUnits), " ")}; at most ${maxExactInteger} B (E084)`,
          `${code("512MiB")} ${code("16GiB")}`
        ],
        ["date", "`YYYY-MM-DD`, a real calendar date (E080)", code("2026-06-01")],
        [
          "timestamp",
          "a date, `T`, `HH:MM`, optional seconds and fraction, optional zone (`Z` or `±HH:MM`); without a zone it is UTC",
          code("2026-06-01T12:00:00Z")
        ],
        ["version", "`MAJOR.MINOR.PATCH`, optional `-pre-release` and `+build`", `${code("2.3.1")} ${code("1.0.0-rc.1")}`],
        ["name", "an identifier: a reference to a declaration or a symbolic constant", `${code("chai_archived")} ${code("apptainer")}`],
        ["list", "`[ … ]`, comma-separated, a trailing comma allowed", code("[-50, 50]")],
        [
          "map",
          "`{ key = value … }`, nestable, a comma between entries optional; a key that is a reserved word or no identifier is a string",
          code('{ mode = "hot_cold"  window = [-50, 50] }')
        ]
      ]
    ),
    "",
    "Units (a bare `K`, `M`, `G` or `T` is refused on purpose, as are other spellings: E083):",
    "",
    table(
      ["Unit", "Kind", "Means"],
      [
        ...Object.entries(durationUnits).map(([unit, seconds]) => [code(unit), "duration", `${seconds} s`]),
        ...Object.entries(sizeUnits).map(([unit, bytes]) => [code(unit), "size", bytesText(bytes)])
      ]
    )
  )
}

const grammarSection = (section: Section, grammar: string): void => {
  const fence = "`".repeat(Math.max(3, ...[...grammar.matchAll(/`{3,}/g)].map((m) => m[0].length + 1)))
  section(
    "## 2. Grammar",
    "",
    "The normative grammar, `grammar/ccat.ebnf`, verbatim. Section 3 of it lists the blocks and their",
    "properties in prose; the tables below are generated from the same source the checker uses.",
    "",
    `${fence}ebnf`,
    grammar.replace(/\r?\n$/, ""),
    fence
  )
}

/** The grammar rule that describes a property's syntax. */
const ruleOf = (spec: PropertySpec): string => (spec.form === "step" ? "stepDeclaration" : `${spec.form}Property`)

const formText = (spec: PropertySpec): string =>
  spec.form === "value" ? `${spec.shape === undefined ? "value" : code(spec.shape)}` : `${code(ruleOf(spec))}`

/** Symbolic constants a property accepts, from the tables the checker uses. */
const allowedValues: Readonly<Record<string, ReadonlyArray<string>>> = {
  container: containerRuntimes,
  version_policy: versionPolicies,
  trigger: triggerModes,
  backend: backends.map((b) => b.name),
  group_by: dimensions.map((d) => d.name),
  outputs: outputKinds.map((k) => k.name),
  retries: failureReasons.map((r) => r.name)
}

const blocksSection = (section: Section, grammar: string): void => {
  for (const kind of blockKinds) {
    for (const spec of blockProperties[kind]) {
      if (!new RegExp(`^${ruleOf(spec)}\\s*::=`, "m").test(grammar))
        throw new Error(`grammar/ccat.ebnf has no rule ${ruleOf(spec)} for \`${spec.keyword}\``)
    }
  }
  const shapes = [...new Set(blockKinds.flatMap((k) => blockProperties[k].flatMap((p) => (p.shape === undefined ? [] : [p.shape]))))]
  section(
    "## 3. Blocks and properties",
    "",
    "Every block body is a flat list of properties. The parser lets any property appear in any block;",
    "the checker then reports an unknown property (E020), one that belongs in another kind of block",
    "(E021), one given twice that is not repeatable (E022), a missing required one (E023), a value of",
    "the wrong shape (E024) and several values where one is expected (E025).",
    "",
    `**Form** is the value's shape for a \`valueProperty\` (${codes(shapes)}: defined in Section 3 of the`,
    "grammar) and otherwise the grammar rule of the property's syntax."
  )
  for (const kind of blockKinds) {
    const rows = blockProperties[kind].map((p) => {
      const allowed = allowedValues[p.keyword]
      const doc = allowed === undefined ? p.doc : `${p.doc}<br>Values: ${codes(allowed)}.`
      return [code(p.keyword), formText(p), p.required ? "**yes**" : "", p.repeatable ? "yes" : "", doc, code(p.example)]
    })
    section(
      `### \`${kind}\``,
      "",
      kind === "step"
        ? "Only directly inside a `pipeline`; step names are unique within their pipeline."
        : `\`${kind} NAME { … }\` at the top level of a file.`,
      "",
      table(["Property", "Form", "Required", "Repeatable", "Meaning", "Example"], rows)
    )
  }
  section(
    "### `trigger`",
    "",
    `Modes: ${codes(triggerModes)}. \`cron\` takes a five-field cron expression in a string (malformed: E050, never fires: E051)`,
    'and optionally `timezone` with an IANA zone name in a string (default `"UTC"`; unknown: E052). Any other mode is E053.',
    "",
    table(
      ["Example"],
      [[code("trigger continuous")], [code('trigger cron "0 3 * * *" timezone "Europe/Berlin"')], [code("trigger manual")]]
    ),
    "",
    `The runtime's trigger loop runs a pass at least every ${formatDuration(defaultLoopIntervalSeconds)} by default (\`CCAT_TRIGGER_INTERVAL\`); a \`cooldown\` shorter than that is warned about (W001).`
  )
  section(
    "### `resources { … }`",
    "",
    "Entries `key value`, each at most once (E022); an unknown key is E081, a value out of range E080.",
    "",
    table(
      ["Key", "Value", "Range", "Meaning"],
      resourceKeys.map((r) => [code(r.key), r.shape, rangeText(r), r.doc])
    )
  )
  section(
    "### `outputs { … }`",
    "",
    'What a successful run of a step must produce. Each rule is `KIND ["PATTERN"] [min N]`: at least N files of',
    "the kind (N a whole number of at least 0, and 1 when `min` is left out), counting only the files that match",
    "the pattern when one is given. A comma between rules is optional.",
    "",
    "**Without an `outputs` block**, a run must produce at least one `science` file: a SCIENCE product for a final",
    "step, an INTERMEDIATE product for any other. A run that ends well but produced none fails with the reason",
    "`NO_OUTPUTS`. A declared block replaces this default entirely: `outputs { science min 0 }` says that a step may",
    "legitimately produce nothing, and a block without a `science` rule requires no science file. The runtime names",
    'the rule that was not met: `NO_OUTPUTS: science "*.fits": found 0 files, at least 1 required`.',
    "",
    "The block is part of the step's hash, so `ccat plan` shows a change of it, but not of its fingerprint: changing",
    "it reprocesses nothing. The IR lists the rules by kind (in the order below), then by pattern, so the order they",
    "are written in does not matter.",
    "",
    table(
      ["Kind", "Files", "Meaning"],
      outputKinds.map((k) => [code(k.name), k.folder, k.doc])
    ),
    "",
    "For a step that is not final, `science` is every file of its output folder outside the other kinds' folders.",
    "",
    "A **pattern** is a glob matched against a file's path below its kind's folder, `/`-separated:",
    "",
    table(
      ["Pattern", "Matches"],
      [
        [code("*"), "any run of characters but `/`, the empty run included"],
        [code("?"), "one character but `/`"],
        [
          `${code("[abc]")} ${code("[a-z]")} ${code("[!x]")}`,
          "one character of the class, or with `!` one not of it; a `]` first in the class is listed"
        ],
        [
          code("**"),
          `as a whole segment, any number of segments, none included: ${code("**/*.fits")} matches at any depth, ${code("*.fits")} only at the top`
        ],
        ["anything else", "itself: no braces, no escapes; matching is case-sensitive and `*` matches a leading dot"]
      ]
    ),
    "",
    "An unknown kind is E045; a pattern that is not a string, or a count that is not a whole number, E024; a negative",
    "count E080; the same kind and pattern twice E022; a malformed pattern E046 (empty, absolute, a `..`, `.` or",
    "empty segment, `**` inside a segment, a `[` never closed, a backwards range, a NUL character); a block with no",
    "rule at all W007.",
    "",
    table(
      ["Example"],
      [
        [code('outputs { science "*.fits" min 1  qa "*.json"  plots min 0 }')],
        [code("outputs { science min 0 }")],
        [code('outputs { science "maps/**/*.fits" min 2 }')]
      ]
    )
  )
  section(
    "### `retries`",
    "",
    "How often a failed run is retried, after which failures, and what grows on each retry. Retries come after the",
    "first attempt: `retries 3` allows four attempts in all.",
    "",
    table(
      ["Written", "Means"],
      [
        [code("retries 3"), "any failure is retried, up to 3 times"],
        [
          code("retries 3 on TIMEOUT, NODE_FAIL, OOM"),
          "only failures of these reasons are retried; a run that fails for another reason fails at once"
        ],
        [
          code("retries 3 on TIMEOUT, OOM { on OOM memory x2  on TIMEOUT time x1.5 }"),
          "and after each OOM the memory doubles, after each TIMEOUT the wall-time limit grows by half"
        ],
        [code("retries 3 { on OOM memory x2 }"), "any failure is retried; an OOM also doubles the memory"]
      ]
    ),
    "",
    "The count is a whole number (E024) from 0 to 100 (E080). A **failure reason** is the first word of a run's",
    "`failure_reason`; an unknown one is E047, one listed twice W006. The reasons:",
    "",
    table(
      ["Reason", "The attempt failed because"],
      failureReasons.map((r) => [code(r.name), r.doc])
    ),
    "",
    `An **adjustment** \`on REASON RESOURCE xF\` multiplies the resource by F after each failure of the reason, for the`,
    "attempts after it. Failures multiply again: after two OOMs, `on OOM memory x2` asks for 4 times the step's memory,",
    "and an OOM then a TIMEOUT with both adjustments above ask for twice the memory and 1.5 times the time. The grown",
    "value stops at the partition's limits where the runtime knows them, and never drops below what `resources` asks.",
    `F is written \`x\` and a number (\`x2\`, \`x1.5\`; otherwise E024), above 1 and at most ${maxRetryFactor} (E080). The reason must be one`,
    "the step retries (E048: with `on` the list must name it), and each reason and resource is adjusted at most once",
    "(E022). Only these resources grow (another is E081):",
    "",
    table(
      ["Resource", "Grows"],
      growableResourceSpecs.map((r) => [code(r.name), r.doc])
    ),
    "",
    "The base is the step's own `resources { … }`. Growing a resource it does not set is W009: there is nothing to",
    "multiply, and the retry asks for the backend's default again. `retries 0` with reasons or adjustments retries",
    "nothing (W008). `time` is the job's wall-time limit on the backend, not the step's `timeout`, which stays.",
    "",
    "The reasons and adjustments are part of the step's hash, so `ccat plan` shows a change of them, but not of its",
    "fingerprint: changing them reprocesses nothing. The IR lists the reasons in the order above and the adjustments",
    "by reason, then resource, so the order they are written in does not matter; a step that names no reasons and no",
    "adjustments has neither in its IR."
  )
  section(
    "### `backend KIND { … }`",
    "",
    "In a `location`; without one, jobs run on the `local` backend. An unknown backend is E090, an unknown option E091; each option at most once.",
    "",
    table(
      ["Backend", "Runs jobs as"],
      backends.map((b) => [code(b.name), b.doc])
    )
  )
  for (const b of backends) {
    section(
      `Options of \`backend ${b.name}\`:`,
      "",
      table(
        ["Option", "Value", "Range", "Meaning"],
        b.options.map((o) => [code(o.key), o.shape, rangeText(o), o.doc])
      )
    )
  }
  section(
    "### `config { … }`",
    "",
    "The software's parameters, a map (`key = value`), part of the step's fingerprint. Values are plain data:",
    "strings, integers, decimals, booleans, lists and nested maps. Names, durations, sizes, percentages, dates,",
    "timestamps and versions are not (E072: write them as strings or as numbers in the unit the program",
    "expects). A key given twice is E073; a dotted key (`a.b = 1`) is E075, write `a = { b = 1 }`.",
    "",
    "The software's `command` may use `{version}` and `{config.KEY}` (`{config.a.b}` for nested maps), its",
    "`image` only `{version}`; `{{` and `}}` are literal braces. A `{config.KEY}` whose key a step's config",
    "lacks is E070, any other placeholder E071, an unclosed one E074."
  )
}

const filtersSection = (section: Section): void => {
  const facts = typeFacts()
  const neverAccepted = literalKinds.map((k) => k.kind).filter((k) => !facts.some((f) => f.literals.includes(k)))
  section(
    "## 4. Filters and group_by",
    "",
    "A `where` in a `grouping` selects raw data packages: `where Table.column OP value`, where the table",
    "and column come from the schema registry below, and after a JSON column a dotted path into its value",
    "(`RawDataPackage.metadata.observation.frequency_ghz`; a key that is no identifier is a string:",
    '`RawDataPackage.metadata."frequency-ghz"`). A column is always compared with a literal: never with',
    "another column, never arithmetic. Comparisons combine with `and`, `or`, `not` and parentheses;",
    "precedence, loosest first: `or`, `and`, `not`. Several `where` in a grouping are ANDed, and so are",
    "the rules of the grouping named by `from`.",
    "",
    `Operators: ${codes(
      operatorForms.map((f) => f.shown),
      " "
    )}. \`like\` takes a string pattern with the wildcards \`%\` (any run of characters) and \`_\` (one character) and no escape character.`,
    "",
    "A missing value (a NULL column, an absent JSON key, a JSON value of another type than the literal) never",
    "satisfies `==`, `<`, `<=`, `>`, `>=`, `in` or `like`; `!=`, `not in` and `not like` are exactly their",
    "negations, so it satisfies those, and `not F` holds exactly when `F` does not.",
    "",
    "### Operators and literals by column type",
    "",
    "What the checker accepts for each column type of the registry, found by compiling a probe per operator",
    "and per kind of literal. An operator not listed is E035, a literal not listed E033; a value of an `enum`",
    "column must be one of its values (E034), a `uuid` column takes a UUID in a string.",
    "",
    table(
      ["Type", "Example column", "Operators", "Literals"],
      facts.map((f) => [code(f.type), code(f.example), codes(f.operators, " "), f.literals.join(", ")])
    ),
    "",
    neverAccepted.length === 0
      ? ""
      : `No column type accepts a ${neverAccepted.length === 1 ? neverAccepted[0] : `${neverAccepted.slice(0, -1).join(", ")} or ${neverAccepted.at(-1)}`}.`,
    "",
    "### Tables",
    "",
    "Every selection starts from `RawDataPackage`; a filter on another table joins the tables on the way.",
    "",
    table(
      ["Table", "SQL table", "Join path from RawDataPackage", "Description"],
      tables.map((t) => {
        const path = joinPath(t.name)
        const joins = path.map((step) => code(`${step.join!.parent}.${step.join!.foreignKey} = ${step.name}.id`))
        return [
          `[${code(t.name)}](#${anchor(`table-${t.name}`)})`,
          code(t.sqlTable),
          joins.length === 0 ? "(the root)" : joins.join(" → "),
          t.description
        ]
      })
    )
  )
  for (const t of tables) {
    section(
      `#### Table ${t.name}`,
      "",
      `${t.description} SQL table ${code(t.sqlTable)}.`,
      "",
      table(
        ["Column", "Type", "Values", "Description"],
        t.columns.map((c) => [
          code(`${t.name}.${c.name}`),
          code(c.type),
          c.values === undefined ? "" : codes(c.values.map((v) => `"${v}"`)),
          c.description
        ])
      )
    )
  }
  section(
    "### group_by dimensions",
    "",
    "A step's `group_by` names one or more of these; each distinct value of the key makes one sub-group,",
    "one run. An unknown dimension is E042; `all` combines with nothing (E043). A step may take the outputs",
    "of an upstream step only if every dimension of its `group_by` is fixed by the upstream one's (the",
    "**Fixes** column, the closure of the registry's functional dependencies); otherwise E041, unless the",
    "step says `fan_out`.",
    "",
    table(
      ["Dimension", "Key", "Fixes", "Description"],
      dimensions.map((d) => {
        const key =
          d.key === null ? "—" : `${code(`${d.key.table}.${d.key.column}`)}${d.key.transform === undefined ? "" : ` (${d.key.transform})`}`
        const fixes = [...determinedBy([d.name])].filter((x) => x !== d.name && x !== "all").sort((a, b) => order(a) - order(b))
        return [code(d.name), key, fixes.length === 0 ? "" : codes(fixes), d.description]
      })
    )
  )
}

const order = (dimension: string): number => dimensions.findIndex((d) => d.name === dimension)

const diagnosticsSection = (section: Section): void => {
  const all = Object.keys(definitions) as Array<DiagnosticCode>
  section(
    "## 5. Diagnostics",
    "",
    "Every diagnostic has a stable code. Errors (`E…`) stop compilation; warnings (`W…`) do not.",
    "In the messages, `{name}` stands for a detail filled in at the place of the problem, and a part in",
    "brackets appears only when that detail applies.",
    "",
    table(
      ["Code", "Severity", "Problem", "Message"],
      all.map((c) => [`**${c}**`, definitions[c].severity, definitions[c].title, messageTemplate(c)])
    )
  )
}

const limitsSection = (section: Section): void => {
  section(
    "## 6. Limits",
    "",
    "Far above any real workspace; each has its own diagnostic, reported where it is crossed.",
    "",
    ...limitsReference
  )
}

// ---- Command line ---------------------------------------------------------------------------

const main = (): void => {
  const target = resolve(repoRoot, outputPath)
  const expected = languageReference()
  if (process.argv.includes("--check")) {
    let current: string | undefined
    try {
      current = readFileSync(target, "utf8")
    } catch {
      current = undefined
    }
    if (current !== expected) {
      process.stderr.write(`${outputPath} is ${current === undefined ? "missing" : "out of date"}: run \`${generatorCommand}\`\n`)
      process.exit(1)
    }
    process.stdout.write(`${outputPath} is up to date\n`)
    return
  }
  writeFileSync(target, expected)
  process.stdout.write(`wrote ${outputPath}\n`)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
