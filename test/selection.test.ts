import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrFilter, IrFilterValue, IrWorkspace } from "../src/compiler/ir.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import {
  decodeSubGroupKey,
  keyedSelection,
  maxKeyLength,
  selectionQuery,
  subGroupKey,
  subGroupKeyExpression
} from "../src/runtime/selection/index.ts"
import { testBackends, testDatabase, type TestBackend } from "./support/databases.ts"
import { packageContexts, type PackageContext } from "./support/package-contexts.ts"

// The filter engine against an independent in-memory evaluation of the same IR over the same
// rows, on both database backends; and the sub-group keys, as a pure function and against SQL.

// ---------------------------------------------------------------------------------------------
// Sub-group keys: pure.

describe("subGroupKey", () => {
  const key = (values: Record<string, string | null>) => subGroupKey(Object.keys(values), values)

  it("is readable for ordinary names", () => {
    expect(key({ source: "NGC253", line: "CO43" })).toBe("NGC253__CO43")
    expect(key({ night: "2026-06-03", source: "IRC+10216", instrument_module: "280GHz" })).toBe("2026-06-03__IRC~2B10216__280GHz")
    expect(key({ executed_obs_unit: "0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d" })).toBe("0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d")
    expect(key({ source: "rho_Oph" })).toBe("rho_Oph")
    expect(key({ source: "Orion-KL" })).toBe("Orion-KL")
  })

  it("names the single sub-group of `all` (or of no dimension) `all`", () => {
    expect(subGroupKey(["all"], {})).toBe("all")
    expect(subGroupKey([], {})).toBe("all")
    expect(subGroupKey(["source", "all"], { source: "NGC253" })).toBe("NGC253")
  })

  it("escapes everything else reversibly", () => {
    expect(key({ source: "rho Oph" })).toBe("rho~20Oph")
    expect(key({ source: "ρ Oph" })).toBe("~CF~81~20Oph")
    expect(key({ source: "a/b" })).toBe("a~2Fb")
    expect(key({ source: ".." })).toBe("~2E.")
    expect(key({ source: "." })).toBe("~2E")
    expect(key({ source: ".hidden" })).toBe("~2Ehidden")
    expect(key({ source: "v1.2" })).toBe("v1.2")
    expect(key({ source: "" })).toBe("~empty")
    expect(key({ source: null })).toBe("~null")
    expect(key({ source: "~empty" })).toBe("~7Eempty")
    expect(key({ source: "~20" })).toBe("~7E20")
    expect(key({ source: "_a" })).toBe("~5Fa")
    expect(key({ source: "a__b" })).toBe("a~5F~5Fb")
  })

  it("gives distinct tuples distinct keys, even where a separator could be ambiguous", () => {
    const tuples: Array<[string | null, string | null]> = [
      ["a_", "b"],
      ["a", "_b"],
      ["a__b", "c"],
      ["a", "b__c"],
      ["a_b", "c"],
      ["a", "b_c"],
      ["rho Oph", "x"],
      ["rho_Oph", "x"],
      ["rho~20Oph", "x"],
      ["", "x"],
      [null, "x"],
      ["~null", "x"],
      ["~empty", "x"]
    ]
    const keys = tuples.map(([a, b]) => key({ source: a, line: b }))
    expect(new Set(keys).size).toBe(tuples.length)
    for (const [i, k] of keys.entries()) expect(decodeSubGroupKey(["source", "line"], k)).toEqual(tuples[i])
  })

  it("is injective, reversible and path-safe over random values", () => {
    // A small deterministic generator over the characters that matter.
    let seed = 12345
    const next = () => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0
      return (seed ^ (seed >>> 13)) >>> 0
    }
    const alphabet = ["a", "Z", "0", "_", "_", ".", "~", " ", "/", "\\", "ρ", "%", "-", "😀", "\u0000", ":"]
    const value = (): string | null =>
      next() % 13 === 0 ? null : Array.from({ length: next() % 5 }, () => alphabet[next() % alphabet.length]).join("")
    const byKey = new Map<string, string>()
    for (let n = 0; n < 5000; n++) {
      const tuple = [value(), value()]
      const k = key({ a: tuple[0]!, b: tuple[1]! })
      const id = JSON.stringify(tuple)
      expect(byKey.get(k) ?? id, k).toBe(id)
      byKey.set(k, id)
      expect(k).toMatch(/^[A-Za-z0-9._~-]+$/)
      expect(k.startsWith(".")).toBe(false)
      expect(decodeSubGroupKey(["a", "b"], k)).toEqual(tuple)
      expect(key({ a: tuple[0]!, b: tuple[1]! })).toBe(k)
    }
    expect(byKey.size).toBeGreaterThan(3000)
  })

  it("shortens long keys to the limit with a hash of the whole key", () => {
    const long = "x".repeat(300)
    const a = key({ source: `${long}1` })
    const b = key({ source: `${long}2` })
    expect(a.length).toBeLessThanOrEqual(maxKeyLength)
    expect(a).toMatch(/^x+~h[0-9a-f]{16}$/)
    expect(a).not.toBe(b)
    expect(key({ source: `${long}1` })).toBe(a)
    expect(decodeSubGroupKey(["source"], a)).toBeUndefined()
    // Escapes are never cut in half.
    const unicode = key({ source: "ρ".repeat(100) })
    expect(unicode.length).toBeLessThanOrEqual(maxKeyLength)
    expect(unicode).toMatch(/^(~CF~81)+~h[0-9a-f]{16}$/)
    // Exactly at the limit stays whole.
    expect(key({ source: "y".repeat(maxKeyLength) })).toBe("y".repeat(maxKeyLength))
  })
})

// ---------------------------------------------------------------------------------------------
// The reference: the IR evaluated in plain JS, following the semantics documented in
// src/runtime/selection/filter-sql.ts (two-valued: a missing value fails every positive
// comparison; `!=`, `not in`, `not like` and `not` are plain complements).

type Row = Readonly<Record<string, unknown>>
type Context = PackageContext
type Field = { readonly table: string; readonly column: string; readonly jsonPath: ReadonlyArray<string> }

const instantPattern =
  /^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,3})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?$/
const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** A JSON string as an instant (ms), or undefined when it is not one by the documented rules. */
const jsonInstant = (s: string): number | undefined => {
  if (!instantPattern.test(s)) return undefined
  if (Number(s.slice(8, 10)) > daysIn(Number(s.slice(0, 4)), Number(s.slice(5, 7)))) return undefined
  return Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s)
}

const missing = Symbol("missing")
type Value = string | number | boolean | typeof missing

/** The field as a value comparable with the literal's type, or `missing`. */
const read = (ctx: Context, f: Field, type: IrFilterValue["type"]): Value => {
  let v: unknown = ctx[f.table]?.[f.column] ?? null
  for (const key of f.jsonPath)
    v = v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, key) ? (v as Row)[key] : null
  if (v === null || v === undefined) return missing
  const json = f.jsonPath.length > 0
  switch (type) {
    case "string":
      if (typeof v === "string") return v
      // A column that is not JSON holds a scalar (a filter on a JSON column must name a path).
      return !json && (typeof v === "number" || typeof v === "boolean") ? String(v) : missing
    case "number":
      return typeof v === "number" ? v : json ? missing : Number(v)
    case "boolean":
      return typeof v === "boolean" ? v : missing
    case "timestamp":
    case "date":
      if (typeof v !== "string") return missing
      return (json ? jsonInstant(v) : Date.parse(v)) ?? missing
  }
}

const literal = (v: IrFilterValue): string | number | boolean =>
  v.type === "date" ? Date.parse(`${v.value}T00:00:00Z`) : v.type === "timestamp" ? Date.parse(v.value) : v.value

const likeRegExp = (pattern: string) =>
  new RegExp(`^${[...pattern].map((c) => (c === "%" ? ".*" : c === "_" ? "." : c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("")}$`, "su")

const ordered = (operator: "==" | "<" | "<=" | ">" | ">=", a: string | number | boolean, b: string | number | boolean): boolean =>
  operator === "==" ? a === b : operator === "<" ? a < b : operator === "<=" ? a <= b : operator === ">" ? a > b : a >= b

const holds = (f: IrFilter, ctx: Context): boolean => {
  switch (f.kind) {
    case "and":
      return f.operands.every((o) => holds(o, ctx))
    case "or":
      return f.operands.some((o) => holds(o, ctx))
    case "not":
      return !holds(f.operand, ctx)
    case "compare": {
      if (f.operator === "!=") return !holds({ ...f, operator: "==" }, ctx)
      const a = read(ctx, f, f.value.type)
      return a !== missing && ordered(f.operator, a, literal(f.value))
    }
    case "in": {
      const found = f.values.some((v) => {
        const a = read(ctx, f, v.type)
        return a !== missing && a === literal(v)
      })
      return found !== f.negated
    }
    case "like": {
      const a = read(ctx, f, "string")
      const found = a !== missing && likeRegExp(f.pattern).test(String(a))
      return found !== f.negated
    }
  }
}

// ---------------------------------------------------------------------------------------------
// IR by hand.

const span = { file: "test", start: 0, end: 0, startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 }
const field = (path: string): Field => {
  const [table, column, ...jsonPath] = path.split(".")
  return { table: table!, column: column!, jsonPath }
}
const str = (value: string): IrFilterValue => ({ type: "string", value })
const num = (value: number): IrFilterValue => ({ type: "number", value })
const bool = (value: boolean): IrFilterValue => ({ type: "boolean", value })
const date = (value: string): IrFilterValue => ({ type: "date", value })
const ts = (value: string): IrFilterValue => ({ type: "timestamp", value })
const cmp = (path: string, operator: "==" | "!=" | "<" | "<=" | ">" | ">=", value: IrFilterValue): IrFilter => ({
  kind: "compare",
  ...field(path),
  operator,
  value,
  span
})
const isIn = (path: string, values: ReadonlyArray<IrFilterValue>, negated = false): IrFilter => ({
  kind: "in",
  ...field(path),
  negated,
  values,
  span
})
const like = (path: string, pattern: string, negated = false): IrFilter => ({ kind: "like", ...field(path), negated, pattern, span })
const and = (...operands: ReadonlyArray<IrFilter>): IrFilter => ({ kind: "and", operands, span })
const or = (...operands: ReadonlyArray<IrFilter>): IrFilter => ({ kind: "or", operands, span })
const not = (operand: IrFilter): IrFilter => ({ kind: "not", operand, span })

// What the test adds to the seeded packages' metadata under `qa`, cycling by id order: every
// JSON type, wrong types, nulls, absent keys and malformed dates.
const qaVariants: ReadonlyArray<Record<string, unknown> | undefined> = [
  { good: true, score: 3.5, label: "alpha_1", seen: "2026-06-02T10:00:00Z", deep: { level: 2 } },
  { good: false, score: "high", label: "Alpha%1", seen: "2026-06-01" },
  { good: "true", score: 10, label: "rho Oph", seen: "2026-02-30" },
  {},
  { good: null, score: null, label: null, seen: "not a date", deep: "flat" },
  { good: true, score: -1, label: "a\\b'c", seen: "2026-06-01T23:30:00-02:00", deep: { level: "2" } },
  undefined
]

const handWritten: ReadonlyArray<readonly [string, IrFilter]> = [
  ["string ==", cmp("Source.name", "==", str("NGC253"))],
  ["string !=", cmp("Source.name", "!=", str("NGC253"))],
  ["enum in, one value", isIn("RawDataPackage.state", [str("ARCHIVED")])],
  ["enum in, many values", isIn("RawDataPackage.state", [str("WAITING"), str("TRANSFERRING"), str("FAILED")])],
  ["enum not in, one value", isIn("ExecutedObsUnit.status", [str("SUCCESS")], true)],
  ["enum not in, many values", isIn("InstrumentModule.name", [str("LFA"), str("HFA"), str("280GHz")], true)],
  ["integer <", cmp("RawDataPackage.size_bytes", "<", num(40_000))],
  ["decimal >=", cmp("Source.dec_deg", ">=", num(-20.5))],
  ["nullable column ==", cmp("RawDataPackage.archived_at", ">=", date("2026-06-01"))],
  ["nullable column !=", cmp("RawDataPackage.checksum", "!=", str("x"))],
  ["nulled end_time <", cmp("ExecutedObsUnit.end_time", "<", ts("2026-06-12T00:00:00Z"))],
  ["not of nulled end_time <", not(cmp("ExecutedObsUnit.end_time", "<", ts("2026-06-12T00:00:00Z")))],
  [
    "date vs timestamp column",
    and(cmp("ExecutedObsUnit.start_time", ">=", date("2026-06-10")), cmp("ExecutedObsUnit.start_time", "<", date("2026-06-14")))
  ],
  ["timestamp literal", cmp("ExecutedObsUnit.start_time", ">", ts("2026-06-13T03:30:00Z"))],
  ["date ==, midnight only", cmp("ExecutedObsUnit.start_time", "==", date("2026-06-13"))],
  ["json number <", cmp("ExecutedObsUnit.metadata.weather.pwv_mm", "<", num(1))],
  ["json number !=", cmp("RawDataPackage.metadata.qa.score", "!=", num(3.5))],
  ["json number on a string value", cmp("RawDataPackage.metadata.qa.score", ">", num(0))],
  ["json number, missing deep key", cmp("RawDataPackage.metadata.readout.live_detectors", ">=", num(1000))],
  ["json string ==", cmp("RawDataPackage.metadata.qa.label", "==", str("rho Oph"))],
  ["json string vs number", cmp("RawDataPackage.metadata.qa.deep.level", "==", str("2"))],
  ["json number vs string", cmp("RawDataPackage.metadata.qa.deep.level", "==", num(2))],
  ["json path through a non-object", cmp("RawDataPackage.metadata.qa.deep.level", "!=", num(2))],
  ["json boolean ==", cmp("RawDataPackage.metadata.qa.good", "==", bool(true))],
  ["json boolean != (string 'true' is not true)", cmp("RawDataPackage.metadata.qa.good", "!=", bool(true))],
  ["json in, mixed types", isIn("RawDataPackage.metadata.qa.score", [num(10), str("high"), num(-1)])],
  ["json not in", isIn("RawDataPackage.metadata.qa.score", [num(10), str("high")], true)],
  ["json date, malformed values missing", cmp("RawDataPackage.metadata.qa.seen", ">=", date("2026-06-02"))],
  ["json timestamp with offset", cmp("RawDataPackage.metadata.qa.seen", ">", ts("2026-06-02T00:00:00Z"))],
  ["json timestamp not", not(cmp("RawDataPackage.metadata.qa.seen", "<", ts("2026-06-02T00:00:00Z")))],
  ["like %", like("Source.name", "NGC%")],
  ["like _", like("InstrumentModule.name", "_FA")],
  ["like % and _ in json", like("RawDataPackage.metadata.qa.label", "%lpha_1")],
  ["like literal % in value", like("RawDataPackage.metadata.qa.label", "Alpha%")],
  ["like backslash is literal", like("RawDataPackage.metadata.qa.label", "a\\b%")],
  ["not like", like("RawDataPackage.metadata.qa.label", "%a%", true)],
  ["not like on a column", like("RawDataPackage.name", "%LFA%", true)],
  ["or", or(cmp("Source.name", "==", str("Jupiter")), cmp("ObsUnit.line_id", "==", str("CI10")))],
  [
    "nested and/or/not",
    and(
      or(cmp("Instrument.name", "==", str("CHAI")), not(cmp("ObservingProgram.short_name", "==", str("ENG")))),
      not(or(cmp("RawDataPackage.state", "!=", str("ARCHIVED")), isIn("RawDataPackage.metadata.qa.score", [num(3.5)], true))),
      or(and(), cmp("Observatory.name", "==", str("CCAT")))
    )
  ],
  ["double not", not(not(cmp("RawDataPackage.metadata.qa.good", "==", bool(false))))],
  ["empty or", or()],
  ["empty and", and()],
  ["deep join only", cmp("Observatory.name", "==", str("CCAT"))]
]

const hostile = ["'; DROP TABLE raw_data_package; --", "$1", "\\", "'", '"', "$$; DELETE FROM source; $$", "%' OR '1'='1"]
const hostileFilters: ReadonlyArray<IrFilter> = [
  or(...hostile.map((h) => cmp("Source.name", "==", str(h)))),
  isIn("Source.name", hostile.map(str)),
  or(...hostile.map((h) => like("RawDataPackage.name", h))),
  or(...hostile.map((h) => cmp("RawDataPackage.metadata.qa.label", "==", str(h)))),
  { kind: "compare", table: "RawDataPackage", column: "metadata", jsonPath: hostile, operator: "==", value: str("x"), span },
  {
    kind: "compare",
    table: "RawDataPackage",
    column: "metadata",
    jsonPath: ["qa", "'}') IS NULL; DROP TABLE source; --"],
    operator: ">",
    value: num(0),
    span
  }
]

// The value of each dimension, read from the joined rows independently of the registry.
const dimensionValue: Readonly<Record<string, (ctx: Context) => unknown>> = {
  raw_data_package: (c) => c["RawDataPackage"]?.["id"],
  executed_obs_unit: (c) => c["ExecutedObsUnit"]?.["id"],
  obs_unit: (c) => c["ObsUnit"]?.["id"],
  source: (c) => c["Source"]?.["name"],
  line: (c) => c["ObsUnit"]?.["line_id"],
  instrument_module: (c) => c["InstrumentModule"]?.["name"],
  instrument: (c) => c["Instrument"]?.["name"],
  observing_program: (c) => c["ObservingProgram"]?.["short_name"],
  night: (c) => new Date(String(c["ExecutedObsUnit"]?.["start_time"])).toISOString().slice(0, 10)
}

// ---------------------------------------------------------------------------------------------

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))

const workspace = (): IrWorkspace => {
  const sources = walk("pipelines")
    .filter((f) => f.endsWith(".ccat"))
    .map((path) => ({ path, text: readFileSync(path, "utf8") }))
  const ir = compileSources(sources).ir
  expect(ir).toBeDefined()
  return ir!
}

const archives: Array<string> = []
afterAll(() => {
  for (const dir of archives) rmSync(dir, { recursive: true, force: true })
})

const sorted = (ids: Iterable<string>) => [...ids].sort()

const backendSuite = (backend: TestBackend) =>
  describe(`selections on ${backend}`, () => {
    const archiveDir = mkdtempSync(join(tmpdir(), "ccat-selection-archive-"))
    archives.push(archiveDir)
    layer(Layer.merge(testDatabase(backend), NodeContext.layer), { excludeTestServices: true, timeout: 60_000 })((it) => {
      let contexts: ReadonlyArray<Context> = []

      /** The selected ids by SQL and by the reference, sorted. */
      const both = (filter: IrFilter | null) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* selectionQuery(sql, filter)
          const expected = contexts.filter((c) => filter === null || holds(filter, c)).map((c) => String(c["RawDataPackage"]!["id"]))
          return { actual: sorted(rows.map((r) => r.id)), expected: sorted(expected) }
        })

      it.effect("seeds the demo data, with test metadata and a few missing end times", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const started = performance.now()
          yield* seedDemo({ archiveDir })
          const ids = (yield* sql<{ readonly id: string }>`SELECT id FROM raw_data_package ORDER BY id`).map((r) => r.id)
          const qa = ids.flatMap((id, n) =>
            qaVariants[n % qaVariants.length] === undefined ? [] : [{ id, qa: qaVariants[n % qaVariants.length] }]
          )
          yield* sql`
            UPDATE raw_data_package p SET metadata = p.metadata || jsonb_build_object('qa', v.qa)
            FROM jsonb_to_recordset(${JSON.stringify(qa)}::jsonb) AS v(id uuid, qa jsonb) WHERE p.id = v.id`
          yield* sql`UPDATE executed_obs_unit SET end_time = NULL WHERE id IN (SELECT id FROM executed_obs_unit ORDER BY id LIMIT 10)`
          // A few of the child groupings' packages not archived yet, so that the parent's rules show.
          yield* sql`
            UPDATE raw_data_package SET state = 'TRANSFERRING' WHERE id IN (
              SELECT DISTINCT ON (s.name, m.name) p.id FROM raw_data_package p
              JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id JOIN obs_unit u ON u.id = e.obs_unit_id
              JOIN source s ON s.id = u.source_id JOIN instrument_module m ON m.id = p.instrument_module_id
              WHERE s.name IN ('NGC253', 'Orion-KL') AND p.state = 'ARCHIVED' ORDER BY s.name, m.name, e.start_time DESC)`
          contexts = yield* packageContexts
          expect(contexts.length).toBe(ids.length)
          console.log(`[${backend}] seed and load: ${Math.round(performance.now() - started)} ms, ${contexts.length} packages`)
        })
      )

      it.effect("selects exactly what the reference selects for every grouping in pipelines/", () =>
        Effect.gen(function* () {
          const counts: Record<string, number> = {}
          for (const g of workspace().groupings) {
            const { actual, expected } = yield* both(g.selection)
            expect(actual, g.name).toEqual(expected)
            expect(actual.length, g.name).toBeGreaterThan(0)
            counts[g.name] = actual.length
          }
          expect(Object.keys(counts).length).toBeGreaterThanOrEqual(4)
          console.log(`[${backend}] groupings: ${JSON.stringify(counts)}`)
        })
      )

      it.effect("selects the parent's packages that also pass the child's own rules (inheritance)", () =>
        Effect.gen(function* () {
          const groupings = workspace().groupings
          const children = groupings.filter((g) => g.from !== null)
          expect(children.length).toBeGreaterThan(0)
          let narrowed = false
          for (const child of children) {
            const parent = groupings.find((g) => g.name === child.from)!
            const inherited = new Set((yield* both(parent.selection)).actual)
            const own = (yield* both(child.where)).actual
            const selected = (yield* both(child.selection)).actual
            expect(selected, child.name).toEqual(own.filter((id) => inherited.has(id)))
            expect(selected.length, child.name).toBeGreaterThan(0)
            narrowed ||= selected.length < own.length
          }
          // The parent's rules do take something away for at least one child.
          expect(narrowed).toBe(true)
        })
      )

      it.effect("agrees with the reference on each operator kind, JSON paths, not, or and dates", () =>
        Effect.gen(function* () {
          const total = contexts.length
          const counts: Record<string, number> = {}
          for (const [name, filter] of handWritten) {
            const { actual, expected } = yield* both(filter)
            expect(actual, name).toEqual(expected)
            counts[name] = actual.length
          }
          // The cases are not vacuous, and the semantics are the documented ones.
          const n = (name: string) => counts[name]!
          for (const name of [
            "string ==",
            "json number <",
            "json boolean ==",
            "like %",
            "like _",
            "json timestamp with offset",
            "date vs timestamp column",
            "nested and/or/not"
          ]) {
            expect(n(name), name).toBeGreaterThan(0)
            expect(n(name), name).toBeLessThan(total)
          }
          expect(n("string ==") + n("string !=")).toBe(total)
          // A missing value fails a comparison and passes its negation.
          expect(n("nulled end_time <") + n("not of nulled end_time <")).toBe(total)
          expect(n("json number !=")).toBe(
            total - contexts.filter((c) => (c["RawDataPackage"]!["metadata"] as { qa?: { score?: unknown } }).qa?.score === 3.5).length
          )
          expect(n("json boolean ==") + n("json boolean != (string 'true' is not true)")).toBe(total)
          expect(n("json string vs number")).toBeGreaterThan(0)
          expect(n("json number vs string")).toBeGreaterThan(0)
          expect(n("date ==, midnight only")).toBe(0)
          expect(n("like literal % in value")).toBeGreaterThan(0)
          expect(n("like backslash is literal")).toBeGreaterThan(0)
          expect(n("empty or")).toBe(0)
          expect(n("empty and")).toBe(total)
          expect(n("deep join only")).toBe(total)
        })
      )

      it.effect("binds every value: hostile strings match nothing and change nothing", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const before = yield* sql<{
            readonly p: number
            readonly s: number
          }>`SELECT (SELECT count(*)::int FROM raw_data_package) AS p, (SELECT count(*)::int FROM source) AS s`
          for (const filter of hostileFilters) {
            const [text, params] = selectionQuery(sql, filter).compile()
            for (const h of hostile) if (h.length > 2) expect(text).not.toContain(h)
            expect(params.length).toBeGreaterThan(0)
            const { actual, expected } = yield* both(filter)
            expect(actual).toEqual(expected)
            expect(actual).toEqual([])
          }
          const after = yield* sql<{
            readonly p: number
            readonly s: number
          }>`SELECT (SELECT count(*)::int FROM raw_data_package) AS p, (SELECT count(*)::int FROM source) AS s`
          expect(after).toEqual(before)
        })
      )

      it.effect("joins exactly the tables the filter and the dimensions read", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const joined = (filter: IrFilter | null, groupBy: ReadonlyArray<string> = []) =>
            [
              ...selectionQuery(sql, filter, { groupBy })
                .compile()[0]
                .matchAll(/JOIN "(\w+)"/g)
            ]
              .map((m) => m[1])
              .sort()
          expect(joined(null)).toEqual([])
          expect(joined(cmp("RawDataPackage.state", "==", str("ARCHIVED")))).toEqual([])
          expect(joined(cmp("Source.name", "==", str("NGC253")))).toEqual(["executed_obs_unit", "obs_unit", "source"])
          expect(joined(and(cmp("Source.name", "==", str("x")), cmp("ObservingProgram.short_name", "==", str("x"))))).toEqual([
            "executed_obs_unit",
            "obs_unit",
            "observing_program",
            "source"
          ])
          expect(joined(null, ["night", "instrument"])).toEqual(["executed_obs_unit", "instrument", "instrument_module"])
          expect(joined(null, ["all"])).toEqual([])
          // The statement composes as a subquery.
          const [row] = yield* sql<{
            readonly n: number
          }>`SELECT count(*)::int AS n FROM (${selectionQuery(sql, cmp("Source.name", "==", str("NGC253")))}) AS s`
          expect(row!.n).toBe(contexts.filter((c) => c["Source"]!["name"] === "NGC253").length)
        })
      )

      it.effect("partitions every step's selection into the sub-groups the reference computes", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const ir = workspace()
          const partition = (entries: ReadonlyArray<readonly [string, string]>) => {
            const groups = new Map<string, Array<string>>()
            for (const [key, id] of entries) groups.set(key, [...(groups.get(key) ?? []), id])
            return Object.fromEntries([...groups].map(([k, ids]) => [k, sorted(ids)]).sort(([a], [b]) => (a! < b! ? -1 : 1)))
          }
          let sourceLine = 0
          for (const pipeline of ir.pipelines) {
            const grouping = ir.groupings.find((g) => g.name === pipeline.data)!
            for (const step of pipeline.steps) {
              const rows = yield* selectionQuery(sql, grouping.selection, { groupBy: step.groupBy })
              const actual = partition(rows.map((r) => [subGroupKey(step.groupBy, r), r.id]))
              const expected = partition(
                contexts
                  .filter((c) => grouping.selection === null || holds(grouping.selection, c))
                  .map((c) => {
                    const values = Object.fromEntries(
                      step.groupBy.filter((d) => d !== "all").map((d) => [d, String(dimensionValue[d]!(c))])
                    )
                    return [subGroupKey(step.groupBy, values), String(c["RawDataPackage"]!["id"])]
                  })
              )
              expect(actual, `${pipeline.name}.${step.name}`).toEqual(expected)
              for (const key of Object.keys(actual)) expect(key).toMatch(/^[A-Za-z0-9._~-]{1,200}$/)
              if (pipeline.data === "chai_archived" && step.groupBy.join(",") === "source,line") {
                sourceLine++
                expect(Object.keys(actual).length).toBeGreaterThan(1)
                expect(Object.keys(actual)).toContain("NGC253__CO43")
              }
            }
          }
          expect(sourceLine).toBeGreaterThan(0)
        })
      )

      it.effect("keys sub-groups in SQL exactly as subGroupKey does, for every step and for hostile values", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const ir = workspace()
          // The gap evaluation partitions with keyedSelection, never in JavaScript.
          for (const pipeline of ir.pipelines) {
            const grouping = ir.groupings.find((g) => g.name === pipeline.data)!
            for (const step of pipeline.steps) {
              const viaJs = yield* selectionQuery(sql, grouping.selection, { groupBy: step.groupBy })
              const viaSql = yield* sql<{
                id: string
                sub_group_key: string
              }>`SELECT id, sub_group_key FROM (${keyedSelection(sql, grouping.selection, step.groupBy, { archivedOnly: false })}) s`
              const js = new Map(viaJs.map((r) => [r.id, subGroupKey(step.groupBy, r)]))
              expect(new Map(viaSql.map((r) => [r.id, r.sub_group_key])), `${pipeline.name}.${step.name}`).toEqual(js)
            }
          }
          // Both SQL paths (inline for plain values, ccat_sub_group_key for the rest) on values
          // chosen to hit every escaping rule, the length limit and its hash.
          let seed = 777
          const next = () => {
            seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0
            return (seed ^ (seed >>> 13)) >>> 0
          }
          const alphabet = ["a", "Z", "0", "-", "_", "_", ".", "~", " ", "/", "ρ", "%", "😀", ":", "'", "\\"]
          const random = (): string | null =>
            next() % 11 === 0 ? null : Array.from({ length: next() % 7 }, () => alphabet[next() % alphabet.length]).join("")
          const tuples: Array<[string | null, string | null]> = [
            ["NGC253", "CO43"],
            ["rho Oph", "x"],
            ["a_b", "c"],
            ["_a", "b"],
            ["a_", "b"],
            ["a__b", "c"],
            [".hidden", "x"],
            ["a.b", "c"],
            ["", "x"],
            [null, null],
            ["x".repeat(199), "y"],
            ["x".repeat(97), "y".repeat(101)],
            ["x".repeat(300), "1"],
            ["ρ".repeat(100), "z"],
            ["2026-06-03", "280GHz"],
            ["0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d", "-"]
          ]
          for (let n = 0; n < 400; n++) tuples.push([random(), random()])
          const keys = [
            { dimension: "a", table: null, expression: sql`v.a`, column: null, plainLength: null },
            { dimension: "b", table: null, expression: sql`v.b`, column: null, plainLength: null }
          ]
          const rows = yield* sql<{ n: number; key: string; slow: string }>`
            SELECT v.n, ${subGroupKeyExpression(sql, keys)} AS key, ccat_sub_group_key(ARRAY[v.a, v.b]) AS slow
            FROM jsonb_to_recordset(${JSON.stringify(tuples.map(([a, b], n) => ({ n, a, b })))}::jsonb) AS v(n int, a text, b text)
            ORDER BY v.n`
          expect(rows.length).toBe(tuples.length)
          for (const r of rows) {
            const [a, b] = tuples[r.n]!
            const expected = subGroupKey(["a", "b"], { a, b })
            expect(r.key, JSON.stringify([a, b])).toBe(expected)
            expect(r.slow, JSON.stringify([a, b])).toBe(expected)
          }
          // uuid and integer values skip the pattern test: keys of them, present or missing, come out the same.
          const ids: Array<[string | null, string | null]> = [
            ["0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d", "42"],
            [null, "-7"],
            ["0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d", null],
            [null, null]
          ]
          const typed = [
            { dimension: "a", table: null, expression: sql`v.a::uuid::text`, column: null, plainLength: 36 },
            { dimension: "b", table: null, expression: sql`v.b::bigint::text`, column: null, plainLength: 20 }
          ]
          const idRows = yield* sql<{ n: number; key: string }>`
            SELECT v.n, ${subGroupKeyExpression(sql, typed)} AS key
            FROM jsonb_to_recordset(${JSON.stringify(ids.map(([a, b], n) => ({ n, a, b })))}::jsonb) AS v(n int, a text, b text)
            ORDER BY v.n`
          expect(idRows.map((r) => r.key)).toEqual(ids.map(([a, b]) => subGroupKey(["a", "b"], { a, b })))
          const [all] = yield* sql<{ key: string }>`SELECT ${subGroupKeyExpression(sql, [])} AS key`
          expect(all!.key).toBe(subGroupKey(["all"], {}))
        })
      )
    })
  })

for (const backend of testBackends) backendSuite(backend)
