import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { existsSync, realpathSync } from "node:fs"
import { resolve, sep } from "node:path"
import { UnknownProduct } from "./errors.ts"

/*
 * `ccat lineage <product id | path>` (docs/design/runtime.md §5.2): a product's provenance back to the raw
 * packages, from the lineage graph in the database (data_product_lineage: each product's parent
 * products and raw packages, written by the collect loop with the product).
 *
 * The whole graph comes from ONE statement: a recursive CTE collects every product reachable
 * through parent edges (UNION, so each is visited once), and the same statement returns the
 * products, the runs that made them, the edges and the raw packages as JSON arrays. Nothing is
 * fetched per node.
 */

export interface LineageProduct {
  readonly id: number
  readonly type: string
  readonly relativePath: string
  readonly checksum: string
  readonly sizeBytes: number
  readonly createdAt: string
  readonly runId: number
}

export interface LineageRun {
  readonly id: number
  readonly pipeline: string
  readonly step: string
  readonly subGroupKey: string
  readonly status: string
  readonly software: string
  readonly softwareVersion: string
  readonly image: string
  readonly config: unknown
  readonly runDir: string | null
  readonly createdAt: string
  readonly submittedAt: string | null
  readonly finishedAt: string | null
}

export interface LineagePackage {
  readonly id: string
  readonly name: string
  readonly checksum: string | null
  readonly sizeBytes: number
  readonly archivedAt: string | null
}

export interface LineageEdge {
  readonly product: number
  readonly parentProduct: number | null
  readonly rawPackage: string | null
}

export interface LineageGraph {
  readonly root: number
  readonly products: ReadonlyArray<LineageProduct>
  readonly runs: ReadonlyArray<LineageRun>
  readonly packages: ReadonlyArray<LineagePackage>
  readonly edges: ReadonlyArray<LineageEdge>
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** The lineage graph of a product, in one recursive query; UnknownProduct when there is no such product. */
export const lineageGraph = (productId: number): Effect.Effect<LineageGraph, UnknownProduct | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{
      products: Array<LineageProduct>
      runs: Array<LineageRun>
      packages: Array<LineagePackage>
      edges: Array<LineageEdge>
    }>`
      WITH RECURSIVE graph (id) AS (
        SELECT id FROM data_product WHERE id = ${productId}
        UNION
        SELECT l.parent_product_id FROM data_product_lineage l JOIN graph g ON l.product_id = g.id
        WHERE l.parent_product_id IS NOT NULL
      ),
      edges AS (
        SELECT l.product_id, l.parent_product_id, l.raw_data_package_id FROM data_product_lineage l JOIN graph g ON g.id = l.product_id
      )
      SELECT
        (SELECT coalesce(json_agg(json_build_object(
            'id', p.id, 'type', p.product_type, 'relativePath', p.relative_path, 'checksum', p.checksum,
            'sizeBytes', p.size_bytes, 'createdAt', ${sql.literal(iso("p.created_at"))}, 'runId', p.run_id) ORDER BY p.id), '[]'::json)
         FROM graph g JOIN data_product p ON p.id = g.id) AS products,
        (SELECT coalesce(json_agg(json_build_object(
            'id', r.id, 'pipeline', pl.name, 'step', s.name, 'subGroupKey', r.sub_group_key, 'status', r.status,
            'software', sw.name, 'softwareVersion', r.software_version, 'image', r.image, 'config', r.config, 'runDir', r.run_dir,
            'createdAt', ${sql.literal(iso("r.created_at"))},
            'submittedAt', CASE WHEN r.submitted_at IS NULL THEN NULL ELSE ${sql.literal(iso("r.submitted_at"))} END,
            'finishedAt', CASE WHEN r.finished_at IS NULL THEN NULL ELSE ${sql.literal(iso("r.finished_at"))} END) ORDER BY r.id), '[]'::json)
         FROM executed_reduction_step r
         JOIN reduction_step s ON s.id = r.step_id JOIN pipeline pl ON pl.id = s.pipeline_id JOIN reduction_software sw ON sw.id = s.software_id
         WHERE r.id IN (SELECT p.run_id FROM graph g JOIN data_product p ON p.id = g.id)) AS runs,
        (SELECT coalesce(json_agg(json_build_object(
            'id', rp.id, 'name', rp.name, 'checksum', rp.checksum, 'sizeBytes', rp.size_bytes,
            'archivedAt', CASE WHEN rp.archived_at IS NULL THEN NULL ELSE ${sql.literal(iso("rp.archived_at"))} END) ORDER BY rp.name), '[]'::json)
         FROM raw_data_package rp WHERE rp.id IN (SELECT raw_data_package_id FROM edges)) AS packages,
        (SELECT coalesce(json_agg(json_build_object(
            'product', e.product_id, 'parentProduct', e.parent_product_id, 'rawPackage', e.raw_data_package_id)
            ORDER BY e.product_id, e.parent_product_id NULLS LAST, e.raw_data_package_id), '[]'::json)
         FROM edges e) AS edges`
    if (row === undefined || row.products.length === 0) return yield* new UnknownProduct({ what: String(productId) })
    return { root: productId, products: row.products, runs: row.runs, packages: row.packages, edges: row.edges }
  })

/**
 * The product whose file is at `path`: `<run_dir>/<relative_path>`, the path absolute or
 * relative to `cwd`. The run is found from the `run-<id>` folder in the path (run-folders.ts),
 * so the lookup is by primary key; a path given through a symbolic link is tried as given and
 * with links resolved.
 */
export const productAtPath = (path: string, cwd: string): Effect.Effect<number, UnknownProduct | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const absolute = resolve(cwd, path)
    const candidates = [absolute]
    if (existsSync(absolute)) {
      const real = realpathSync(absolute)
      if (real !== absolute) candidates.push(real)
    }
    for (const candidate of candidates) {
      const runIds = [...candidate.matchAll(/(?:^|[/\\])run-(\d+)(?=[/\\])/g)].map((m) => Number(m[1]))
      if (runIds.length === 0) continue
      const rows = yield* sql<{ id: string; run_dir: string; relative_path: string }>`
        SELECT p.id, r.run_dir, p.relative_path FROM data_product p JOIN executed_reduction_step r ON r.id = p.run_id
        WHERE r.id IN ${sql.in(runIds)} AND r.run_dir IS NOT NULL`
      const hit = rows.find(
        (r) => resolve(r.run_dir, r.relative_path) === candidate || `${r.run_dir}${sep}${r.relative_path}` === candidate
      )
      if (hit !== undefined) return Number(hit.id)
    }
    return yield* new UnknownProduct({ what: `at ${absolute} (a product path is <run folder>/<relative path>, under a run-<id> folder)` })
  })

// ------------------------------------------------------------------ text

const short = (checksum: string | null): string => (checksum === null ? "(no checksum)" : checksum.slice(0, 12))

const productLine = (p: LineageProduct): string => `product ${p.id}  ${p.type}  ${p.relativePath}  ${short(p.checksum)}`

const runLine = (r: LineageRun | undefined, runId: number): string =>
  r === undefined
    ? `run ${runId}`
    : `run ${r.id}  ${r.pipeline}.${r.step}  ${r.subGroupKey}  ${r.software} ${r.softwareVersion}  config ${JSON.stringify(r.config)}`

/**
 * The tree, root first:
 *
 *   product 9  SCIENCE  output/science/cube.fits  1a2b3c4d5e6f
 *   │ run 7  chai.map  Orion-KL__CO43  chai_gridding 0.10.0  config {"kernel":"gauss"}
 *   ├─ product 5  INTERMEDIATE  workspace/baseline/a.fits  0badc0ffee00
 *   │  │ run 4  chai.baseline  <scan>  chai_baseline 1.2.3  config {"order":3}
 *   │  └─ raw package chai_lfa_0001  0123456789ab
 *   └─ product 6  INTERMEDIATE  workspace/baseline/b.fits  (see above)
 *
 * Each product's subtree is printed the first time it is reached; later it is only referenced.
 * Parents come in product id order, then raw packages by name.
 */
export const renderLineageTree = (g: LineageGraph): string => {
  const products = new Map(g.products.map((p) => [p.id, p]))
  const runs = new Map(g.runs.map((r) => [r.id, r]))
  const packages = new Map(g.packages.map((p) => [p.id, p]))
  const parents = new Map<number, { products: Array<number>; packages: Array<LineagePackage> }>()
  for (const e of g.edges) {
    const entry = parents.get(e.product) ?? { products: [], packages: [] }
    if (e.parentProduct !== null && !entry.products.includes(e.parentProduct)) entry.products.push(e.parentProduct)
    if (e.rawPackage !== null) {
      const pkg = packages.get(e.rawPackage)
      if (pkg !== undefined && !entry.packages.includes(pkg)) entry.packages.push(pkg)
    }
    parents.set(e.product, entry)
  }
  for (const entry of parents.values()) {
    entry.products.sort((a, b) => a - b)
    entry.packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
  const lines: Array<string> = []
  const shown = new Set<number>()
  const walk = (id: number, lead: string, cont: string): void => {
    const p = products.get(id)
    if (p === undefined) return
    if (shown.has(id)) {
      lines.push(`${lead}product ${p.id}  ${p.type}  ${p.relativePath}  (see above)`)
      return
    }
    shown.add(id)
    lines.push(lead + productLine(p))
    const entry = parents.get(id) ?? { products: [], packages: [] }
    const children = entry.products.length + entry.packages.length
    lines.push(`${cont}${children > 0 ? "│ " : "  "}${runLine(runs.get(p.runId), p.runId)}`)
    if (children === 0) {
      lines.push(`${cont}  (no lineage recorded)`)
      return
    }
    let i = 0
    for (const parent of entry.products) {
      const last = ++i === children
      walk(parent, `${cont}${last ? "└─ " : "├─ "}`, `${cont}${last ? "   " : "│  "}`)
    }
    for (const pkg of entry.packages) {
      const last = ++i === children
      lines.push(`${cont}${last ? "└─ " : "├─ "}raw package ${pkg.name}  ${short(pkg.checksum)}`)
    }
  }
  walk(g.root, "", "")
  return lines.join("\n")
}

// ------------------------------------------------------------------ PROV-JSON

/** The namespace of the `ccat:` prefix (docs/lineage-json.md). */
export const ccatNamespace = "urn:ccat:"

type Attributes = Record<string, unknown>

const qname = (name: string) => ({ $: name, type: "prov:QUALIFIED_NAME" })
const long = (n: number) => ({ $: String(n), type: "xsd:long" })
const dateTime = (t: string) => ({ $: t, type: "xsd:dateTime" })

export const productEntityId = (id: number): string => `ccat:product-${id}`
export const packageEntityId = (id: string): string => `ccat:package-${id}`
export const runActivityId = (id: number): string => `ccat:run-${id}`

/**
 * The graph as a W3C PROV-JSON document (https://www.w3.org/submissions/prov-json/): products
 * and raw packages are entities, runs are activities; each product wasGeneratedBy its run, each
 * run used the parents of its products, each product wasDerivedFrom each parent. Described in
 * docs/lineage-json.md.
 */
export const lineageProvJson = (g: LineageGraph) => {
  const entity: Record<string, Attributes> = {}
  const activity: Record<string, Attributes> = {}
  const wasGeneratedBy: Record<string, Attributes> = {}
  const used: Record<string, Attributes> = {}
  const wasDerivedFrom: Record<string, Attributes> = {}
  const runOf = new Map(g.products.map((p) => [p.id, p.runId]))
  for (const p of g.products) {
    entity[productEntityId(p.id)] = {
      "prov:type": qname("ccat:DataProduct"),
      "prov:label": p.relativePath,
      "ccat:productId": long(p.id),
      "ccat:productType": p.type,
      "ccat:relativePath": p.relativePath,
      "ccat:checksum": p.checksum,
      "ccat:sizeBytes": long(p.sizeBytes)
    }
    wasGeneratedBy[`ccat:gen-${p.id}`] = {
      "prov:entity": productEntityId(p.id),
      "prov:activity": runActivityId(p.runId),
      "prov:time": p.createdAt
    }
  }
  for (const pkg of g.packages) {
    entity[packageEntityId(pkg.id)] = {
      "prov:type": qname("ccat:RawDataPackage"),
      "prov:label": pkg.name,
      "ccat:name": pkg.name,
      ...(pkg.checksum === null ? {} : { "ccat:checksum": pkg.checksum }),
      "ccat:sizeBytes": long(pkg.sizeBytes),
      ...(pkg.archivedAt === null ? {} : { "ccat:archivedAt": dateTime(pkg.archivedAt) })
    }
  }
  for (const r of g.runs) {
    activity[runActivityId(r.id)] = {
      "prov:type": qname("ccat:ReductionRun"),
      "prov:label": `${r.pipeline}.${r.step} ${r.subGroupKey}`,
      "prov:startTime": r.submittedAt ?? r.createdAt,
      ...(r.finishedAt === null ? {} : { "prov:endTime": r.finishedAt }),
      "ccat:runId": long(r.id),
      "ccat:pipeline": r.pipeline,
      "ccat:step": r.step,
      "ccat:subGroupKey": r.subGroupKey,
      "ccat:status": r.status,
      "ccat:software": r.software,
      "ccat:softwareVersion": r.softwareVersion,
      "ccat:image": r.image,
      "ccat:config": JSON.stringify(r.config)
    }
  }
  for (const e of g.edges) {
    const runId = runOf.get(e.product)
    if (runId === undefined) continue
    const parent =
      e.parentProduct !== null ? productEntityId(e.parentProduct) : e.rawPackage !== null ? packageEntityId(e.rawPackage) : null
    if (parent === null) continue
    const parentKey = e.parentProduct !== null ? `product-${e.parentProduct}` : `package-${e.rawPackage}`
    const usage = `ccat:use-${runId}-${parentKey}`
    used[usage] = { "prov:activity": runActivityId(runId), "prov:entity": parent }
    wasDerivedFrom[`ccat:der-${e.product}-${parentKey}`] = {
      "prov:generatedEntity": productEntityId(e.product),
      "prov:usedEntity": parent,
      "prov:activity": runActivityId(runId),
      "prov:generation": `ccat:gen-${e.product}`,
      "prov:usage": usage
    }
  }
  return {
    prefix: { ccat: ccatNamespace },
    entity,
    activity,
    wasGeneratedBy,
    used,
    wasDerivedFrom
  }
}
