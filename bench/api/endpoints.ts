import { createHash } from "node:crypto"
import { scanCount } from "./seed.ts"

// ---------------------------------------------------------------------------------------------
// What is timed: each list endpoint with each filter the dashboard and the CLI use, one run, one
// product and a lineage. Where a request names something (a run, a sub-group, a cursor), each
// request names another, drawn with a seeded generator, so the numbers are not one cached page
// and two runs of the bench ask the same. Each answer is checked: the status, that a list holds
// rows, newest first, and only rows that match the filter. A wrong answer fails the bench; a
// slow one does not.
// ---------------------------------------------------------------------------------------------

export interface Endpoint {
  readonly name: string
  /** A list endpoint (the 50 ms goal), or another one timed beside them. */
  readonly list: boolean
  readonly path: (random: () => number) => string
  /** What is wrong with the answer, or null. */
  readonly check: (body: unknown, path: string) => string | null
}

interface Row {
  readonly id: number
  readonly [field: string]: unknown
}

/** mulberry32: the same requests on every run of the bench. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An integer in [min, max]. */
const between = (random: () => number, min: number, max: number) => min + Math.floor(random() * (max - min + 1))

/** The uuid `md5(text)::uuid` gives in PostgreSQL. */
const md5Uuid = (text: string): string => {
  const h = createHash("md5").update(text).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const runCreatedAt = (run: number): Date => new Date(Date.UTC(2025, 0, 1) + run * 30_000)

const pageProblem = (rows: ReadonlyArray<Row>, matches: (row: Row) => boolean): string | null => {
  if (rows.length === 0) return "an empty page"
  if (rows.length > 50) return `${rows.length} rows on a page of 50`
  for (let i = 1; i < rows.length; i++) if (rows[i]!.id >= rows[i - 1]!.id) return "not newest first"
  const wrong = rows.find((r) => !matches(r))
  return wrong === undefined ? null : `row ${wrong.id} does not match the filter: ${JSON.stringify(wrong).slice(0, 300)}`
}

const listOf =
  (field: "runs" | "products", matches: (row: Row, path: string) => boolean) =>
  (body: unknown, path: string): string | null => {
    const rows = (body as Record<string, unknown> | null)?.[field]
    if (!Array.isArray(rows)) return `no ${field} array`
    return pageProblem(rows as ReadonlyArray<Row>, (r) => matches(r, path))
  }

/** The number after `name=` in a request's path. */
const param = (path: string, name: string): string => new URL(path, "http://bench").searchParams.get(name) ?? ""

const hasField = (field: string) => (body: unknown) =>
  typeof body === "object" && body !== null && field in body ? null : `no ${field} in the answer`

export interface Size {
  readonly runs: number
  readonly productsPerRun: number
  /** The map's sub-group keys (source and line). */
  readonly mapKeys: ReadonlyArray<string>
}

export const endpoints = (size: Size): ReadonlyArray<Endpoint> => {
  const { runs, productsPerRun: P, mapKeys } = size
  const scans = scanCount(runs)
  const products = runs * P
  const scanKey = (random: () => number) => md5Uuid(`ccat-bench/scan/${between(random, 0, scans - 1)}`)
  const lastCreated = runCreatedAt(runs)
  const day = 86_400_000
  // A run of the map step (r - 1 ≡ 2 mod 4) with its eight upstream runs.
  const mapRun = (random: () => number) => 4 * between(random, 8, Math.floor((runs - 3) / 4)) + 3
  const science = (run: number) => (run - 1) * P + 1
  const deep = (random: () => number, of: number) => between(random, 2, Math.max(2, Math.floor(of / 10)))
  const lineage = (body: unknown) => {
    const nodes = (body as { nodes?: unknown } | null)?.nodes
    if (!Array.isArray(nodes)) return "no nodes"
    return (nodes as ReadonlyArray<{ readonly kind: string }>).some((n) => n.kind === "package") ? null : "a lineage without raw packages"
  }
  return [
    { name: "runs", list: true, path: () => "/api/v1/runs", check: listOf("runs", () => true) },
    {
      name: "runs ?status=CANCELLED",
      list: true,
      path: () => "/api/v1/runs?status=CANCELLED",
      check: listOf("runs", (r) => r.status === "CANCELLED")
    },
    {
      name: "runs ?pipeline= (3 steps)",
      list: true,
      path: () => "/api/v1/runs?pipeline=chai_standing",
      check: listOf("runs", (r) => r.pipeline === "chai_standing")
    },
    {
      name: "runs ?pipeline=&step=",
      list: true,
      path: () => "/api/v1/runs?pipeline=chai_standing&step=map",
      check: listOf("runs", (r) => r.step === "map")
    },
    {
      name: "runs ?pipeline=&step= (old runs only)",
      list: true,
      path: () => "/api/v1/runs?pipeline=chai_reprocess&step=rebaseline",
      check: listOf("runs", (r) => r.step === "rebaseline")
    },
    {
      name: "runs ?step=&status=FAILED",
      list: true,
      path: () => "/api/v1/runs?pipeline=chai_standing&step=baseline&status=FAILED",
      check: listOf("runs", (r) => r.step === "baseline" && r.status === "FAILED")
    },
    {
      name: "runs ?subGroup= (a scan)",
      list: true,
      path: (random) => `/api/v1/runs?subGroup=${scanKey(random)}`,
      check: listOf("runs", (r, path) => r.subGroupKey === param(path, "subGroup"))
    },
    {
      name: "runs ?subGroup= (source and line)",
      list: true,
      path: (random) => `/api/v1/runs?subGroup=${encodeURIComponent(mapKeys[between(random, 0, mapKeys.length - 1)]!)}`,
      check: listOf("runs", (r, path) => r.subGroupKey === param(path, "subGroup"))
    },
    {
      name: "runs ?reason=INPUT_PURGED",
      list: true,
      path: () => "/api/v1/runs?reason=INPUT_PURGED",
      check: listOf("runs", (r) => r.reason === "INPUT_PURGED")
    },
    {
      name: "runs ?since= (the last day)",
      list: true,
      path: () => `/api/v1/runs?since=${new Date(lastCreated.getTime() - day).toISOString()}`,
      check: listOf("runs", (r, path) => Date.parse(String(r.createdAt)) >= Date.parse(param(path, "since")))
    },
    {
      name: "runs ?since=&until= (a day long ago)",
      list: true,
      path: (random) => {
        const from = runCreatedAt(between(random, 1, Math.max(1, Math.floor(runs / 2))))
        return `/api/v1/runs?since=${from.toISOString()}&until=${new Date(from.getTime() + day).toISOString()}`
      },
      check: listOf("runs", (r, path) => {
        const at = Date.parse(String(r.createdAt))
        return at >= Date.parse(param(path, "since")) && at < Date.parse(param(path, "until"))
      })
    },
    {
      name: "runs ?cursor= (deep)",
      list: true,
      path: (random) => `/api/v1/runs?cursor=${deep(random, runs)}`,
      check: listOf("runs", (r, path) => r.id < Number(param(path, "cursor")))
    },
    {
      name: "runs ?step=&cursor= (deep)",
      list: true,
      path: (random) => `/api/v1/runs?pipeline=chai_standing&step=map&cursor=${Math.max(4, deep(random, runs))}`,
      check: listOf("runs", (r, path) => r.step === "map" && r.id < Number(param(path, "cursor")))
    },
    {
      name: "runs/{id}",
      list: false,
      path: (random) => `/api/v1/runs/${between(random, 1, runs)}`,
      check: (body) => {
        const d = body as { run?: Row; events?: ReadonlyArray<unknown>; products?: ReadonlyArray<unknown> } | null
        if (d?.run === undefined) return "no run"
        if ((d.events ?? []).length === 0) return `run ${d.run.id} without events`
        return (d.products ?? []).length === P ? null : `run ${d.run.id} with ${(d.products ?? []).length} products, not ${P}`
      }
    },
    { name: "products", list: true, path: () => "/api/v1/products", check: listOf("products", () => true) },
    {
      name: "products ?run=",
      list: true,
      path: (random) => `/api/v1/products?run=${between(random, 1, runs)}`,
      check: listOf("products", (p, path) => p.runId === Number(param(path, "run")))
    },
    {
      name: "products ?type=PLOT",
      list: true,
      path: () => "/api/v1/products?type=PLOT",
      check: listOf("products", (p) => p.type === "PLOT")
    },
    {
      name: "products ?pipeline=&step=",
      list: true,
      path: () => "/api/v1/products?pipeline=chai_standing&step=map",
      check: listOf("products", (p) => p.step === "map")
    },
    {
      name: "products ?pipeline=&step= (old runs only)",
      list: true,
      path: () => "/api/v1/products?pipeline=chai_reprocess&step=rebaseline",
      check: listOf("products", (p) => p.step === "rebaseline")
    },
    {
      name: "products ?step=&type= (old runs only)",
      list: true,
      path: () => "/api/v1/products?pipeline=chai_reprocess&step=rebaseline&type=QA_METRIC",
      check: listOf("products", (p) => p.step === "rebaseline" && p.type === "QA_METRIC")
    },
    {
      name: "products ?step=&type=QA_METRIC",
      list: true,
      path: () => "/api/v1/products?pipeline=chai_standing&step=baseline&type=QA_METRIC",
      check: listOf("products", (p) => p.step === "baseline" && p.type === "QA_METRIC")
    },
    {
      name: "products ?pipeline= (3 steps)",
      list: true,
      path: () => "/api/v1/products?pipeline=chai_standing",
      check: listOf("products", (p) => p.pipeline === "chai_standing")
    },
    {
      name: "products ?cursor= (deep)",
      list: true,
      path: (random) => `/api/v1/products?cursor=${deep(random, products)}`,
      check: listOf("products", (p, path) => p.id < Number(param(path, "cursor")))
    },
    {
      name: "products ?step=&cursor= (deep)",
      list: true,
      path: (random) => `/api/v1/products?pipeline=chai_standing&step=map&cursor=${science(Math.max(4, deep(random, runs)))}`,
      check: listOf("products", (p, path) => p.step === "map" && p.id < Number(param(path, "cursor")))
    },
    {
      name: "products/{id}",
      list: false,
      path: (random) => `/api/v1/products/${between(random, 1, products)}`,
      check: hasField("copies")
    },
    {
      name: "products/{id}/lineage (any step)",
      list: false,
      path: (random) => `/api/v1/products/${science(between(random, 1, runs))}/lineage`,
      check: lineage
    },
    {
      name: "products/{id}/lineage (a map product)",
      list: false,
      path: (random) => `/api/v1/products/${science(mapRun(random))}/lineage`,
      check: lineage
    }
  ]
}

/** Not list endpoints: each previews a trigger pass (`ccat why`, `ccat status`); timed once first, then like the others if that was quick. */
export const previews = (size: Size): ReadonlyArray<Endpoint> => {
  const scans = scanCount(size.runs)
  const report = hasField("pipeline")
  return [
    {
      name: "why ?subGroup= (a scan)",
      list: false,
      path: (random) =>
        `/api/v1/pipelines/chai_standing/steps/calibrate/why?subGroup=${md5Uuid(`ccat-bench/scan/${between(random, 0, scans - 1)}`)}`,
      check: report
    },
    { name: "why (a whole step)", list: false, path: () => "/api/v1/pipelines/chai_standing/steps/calibrate/why", check: report },
    { name: "pipelines (overview)", list: false, path: () => "/api/v1/pipelines", check: hasField("pipelines") }
  ]
}
